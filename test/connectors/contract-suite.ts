/**
 * The connector contract suite: the same behaviour asked of every connector kind, each
 * against its own real (or faithful) target. A kind's test file calls `connectorContract`
 * with a fixture that starts its target and reads it directly, behind the connector's back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRequest, AttributeRequest } from '../../src/plan/model.ts';
import type { Connector, ConnectorKind, Page } from '../../src/connectors/index.ts';
import { CREATABLE_KINDS, ConnectorError, checkSupported, createEntitlementWith, deleteEntitlementWith } from '../../src/connectors/index.ts';

/** An account as the target itself holds it. */
export interface TargetAccount {
  /** Values of an attribute, as the target stores them (texts). */
  values(attribute: string): string[];
  enabled: boolean;
  /** The native values of the groups the account is a member of. */
  groups: string[];
}

export interface ConnectorTarget {
  settings: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Settings naming an address where nothing listens (or a file that is not there). */
  unreachable: { settings: Record<string, unknown>; secrets: Record<string, string> };
  /** Words the failure message of test() on `unreachable` must contain, so a person can act on it. */
  unreachableMessage: RegExp;
  /** The error kind an operation on `unreachable` must throw. */
  unreachableKind: ConnectorError['kind'];
  /** Reads one account straight from the target, or null. */
  read(nativeIdentity: string): Promise<TargetAccount | null>;
  /** Every account's nativeIdentity, straight from the target. */
  identities(): Promise<string[]>;
  /** Adds `n` accounts straight to the target. */
  seedAccounts(n: number, prefix: string): Promise<void>;
  /** Adds a group straight to the target; resolves with its native value. */
  seedGroup(name: string): Promise<string>;
  /** Reads a group straight from the target by native value, or null (kinds that can create groups). */
  readGroup?(nativeValue: string): Promise<{ name: string } | null>;
  /**
   * Makes the target busy (answering 503, or not answering within the connector's timeout)
   * until the returned function is called, where the target can be made so.
   */
  busy?(): Promise<() => Promise<void>>;
  /** Makes the target refuse the next call with a rate limit and a long Retry-After, where it has rate limits. */
  rateLimitNext?(): void;
  /** How many calls the target has seen, where it can tell (to prove a refusal called nothing). */
  callCount?(): number;
  stop(): Promise<void>;
}

export interface ConnectorFixture {
  kind: ConnectorKind;
  start(): Promise<ConnectorTarget>;
  /** The Create request for a new account named `name` (unique per call). */
  createRequest(name: string): AccountRequest;
  /** A single-valued and a multi-valued writable attribute of this kind. */
  singleAttribute: string;
  multiAttribute: string;
  /** A value of the multi-valued attribute, distinct per `tag`. */
  multiValue(name: string, tag: string): string;
  /** A nativeIdentity no account has. */
  missingIdentity: string;
  /** An AccountRequest this kind cannot carry out. */
  unsupportedRequest(nativeIdentity: string): AccountRequest;
}

const attr = (name: string, op: AttributeRequest['op'], value?: AttributeRequest['value']): AttributeRequest => ({ name, op, ...(value === undefined ? {} : { value }) });

async function collect<T>(pages: AsyncIterable<Page<T>>, limit = Infinity): Promise<Page<T>[]> {
  const out: Page<T>[] = [];
  for await (const page of pages) {
    out.push(page);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Registers the contract tests for one connector kind. With a `skipReason` (the target cannot
 * run here) every test is registered as skipped, and the reason is in the suite's name.
 */
export function connectorContract(fixture: ConnectorFixture, options: { skipReason?: string | null } = {}): void {
  const reason = options.skipReason ?? null;
  if (reason !== null) console.warn(`connector contract: ${fixture.kind.name} skipped: ${reason}`);
  (reason === null ? describe : describe.skip)(`connector contract: ${fixture.kind.name}${reason === null ? '' : ` (skipped: ${reason})`}`, () => {
    let target: ConnectorTarget;
    let connector: Connector;
    const app = (r: Omit<AccountRequest, 'application'>): AccountRequest => ({ application: 'contract', ...r });

    beforeAll(async () => {
      target = await fixture.start();
      connector = fixture.kind.create({ settings: target.settings, secrets: target.secrets });
    });
    afterAll(async () => {
      await connector?.close();
      await target?.stop();
    });

    async function create(name: string): Promise<string> {
      const result = await connector.apply(fixture.createRequest(name));
      expect(result.status, JSON.stringify(result)).toBe('committed');
      expect(result.nativeIdentity).toBeTruthy();
      return result.nativeIdentity!;
    }

    it('declares its settings schema, with secret settings marked', () => {
      expect(fixture.kind.settingsSchema.type).toBe('object');
      for (const name of fixture.kind.secretSettings) {
        expect((fixture.kind.settingsSchema.properties as Record<string, { writeOnly?: boolean }>)[name]?.writeOnly).toBe(true);
      }
    });

    it('test() succeeds against the running target', async () => {
      const r = await connector.test();
      expect(r.ok, r.message).toBe(true);
    });

    it('test() fails on a wrong address with a message a person can act on', async () => {
      const bad = fixture.kind.create(target.unreachable);
      try {
        const r = await bad.test();
        expect(r.ok).toBe(false);
        expect(r.message).toMatch(target.unreachableMessage);
        if (!r.ok) expect(r.errorKind).toBe(target.unreachableKind);
      } finally {
        await bad.close();
      }
    });

    it('classifies an unreachable target', async () => {
      const bad = fixture.kind.create(target.unreachable);
      try {
        const e = await bad.getAccount(fixture.missingIdentity).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(e).toBeInstanceOf(ConnectorError);
        expect((e as ConnectorError).kind).toBe(target.unreachableKind);
      } finally {
        await bad.close();
      }
    });

    it('refuses bad settings naming the setting', () => {
      expect(() => fixture.kind.create({ settings: { ...target.settings, noSuchSetting: 1 }, secrets: target.secrets })).toThrow(/noSuchSetting/);
    });

    it('reports its schema: attributes with types, and entitlement kinds', async () => {
      const schema = await connector.schema();
      const names = schema.account.attributes.map((a) => a.name);
      expect(names).toContain(fixture.singleAttribute);
      expect(names).toContain(fixture.multiAttribute);
      expect(schema.account.attributes.find((a) => a.name === fixture.multiAttribute)?.multiValued).toBe(true);
      expect(schema.account.attributes.find((a) => a.name === fixture.singleAttribute)?.multiValued).toBe(false);
      expect(schema.entitlementKinds).toContain('group');
    });

    it('creates an account and reads it back', async () => {
      const id = await create('ctcreate');
      const direct = await target.read(id);
      expect(direct).not.toBeNull();
      expect(direct!.enabled).toBe(true);
      const read = await connector.getAccount(id);
      expect(read?.nativeIdentity).toBe(id);
      expect(read?.enabled).toBe(true);
      expect(read?.attributes[fixture.multiAttribute]).toEqual([fixture.multiValue('ctcreate', 'a')]);
    });

    it('finds the account a Create made, so that a retried Create can tell (where it can look)', async (ctx) => {
      if (connector.findAccount === undefined) {
        ctx.skip(`${fixture.kind.name}: no findAccount (looked up by nativeIdentity alone)`);
        return;
      }
      const id = await create('ctfind');
      expect((await connector.findAccount(fixture.createRequest('ctfind')))?.nativeIdentity).toBe(id);
      expect(await connector.findAccount(fixture.createRequest('ctnotmade'))).toBeNull();
    });

    it('refuses to create an account that exists, as a permanent conflict', async () => {
      await create('ctdup');
      const again = await connector.apply(fixture.createRequest('ctdup'));
      expect(again.status).toBe('failed');
      expect(again.error?.kind).toBe('permanent');
      expect(again.error?.code).toBe('conflict');
    });

    it('modifies: Set a single value, Add and Remove on a multi-valued attribute, Set the whole list', async () => {
      const id = await create('ctmod');
      const multi = fixture.multiAttribute;
      const v = (tag: string): string => fixture.multiValue('ctmod', tag);
      const set = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr(fixture.singleAttribute, 'Set', 'Changed Title')], permissionRequests: [] }));
      expect(set.status).toBe('committed');
      expect((await target.read(id))!.values(fixture.singleAttribute)).toEqual(['Changed Title']);

      const add = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr(multi, 'Add', [v('b'), v('c')])], permissionRequests: [] }));
      expect(add.status).toBe('committed');
      expect([...(await target.read(id))!.values(multi)].sort()).toEqual([v('a'), v('b'), v('c')].sort());

      const remove = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr(multi, 'Remove', v('a'))], permissionRequests: [] }));
      expect(remove.status).toBe('committed');
      expect([...(await target.read(id))!.values(multi)].sort()).toEqual([v('b'), v('c')].sort());

      const again = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr(multi, 'Add', v('b')), attr(multi, 'Remove', v('a'))], permissionRequests: [] }));
      expect(again.status).toBe('unchanged');
      expect(again.requests.map((r) => r.status)).toEqual(['unchanged', 'unchanged']);

      const replace = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr(multi, 'Set', [v('d'), v('e')])], permissionRequests: [] }));
      expect(replace.status).toBe('committed');
      expect([...(await target.read(id))!.values(multi)].sort()).toEqual([v('d'), v('e')].sort());
      expect((await connector.getAccount(id))!.attributes[multi]).toEqual(expect.arrayContaining([v('d'), v('e')]));
    });

    it('adds to and removes from a group through the groups attribute', async () => {
      const id = await create('ctgrp');
      const g1 = await target.seedGroup('ct-group-one');
      const g2 = await target.seedGroup('ct-group-two');
      const add = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr('groups', 'Add', [g1, g2])], permissionRequests: [] }));
      expect(add.status, JSON.stringify(add)).toBe('committed');
      expect([...(await target.read(id))!.groups].sort()).toEqual([g1, g2].sort());
      const read = await connector.getAccount(id);
      expect(read!.entitlements.filter((e) => e.kind === 'group').map((e) => e.nativeValue).sort()).toEqual([g1, g2].sort());

      const remove = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr('groups', 'Remove', g1)], permissionRequests: [] }));
      expect(remove.status).toBe('committed');
      expect((await target.read(id))!.groups).toEqual([g2]);

      const set = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr('groups', 'Set', [g1])], permissionRequests: [] }));
      expect(set.status).toBe('committed');
      expect((await target.read(id))!.groups).toEqual([g1]);
    });

    it('creates an account with a group in one request', async () => {
      const g = await target.seedGroup('ct-group-create');
      const req = fixture.createRequest('ctcrgrp');
      const result = await connector.apply({ ...req, attributeRequests: [...req.attributeRequests, attr('groups', 'Add', g)] });
      expect(result.status, JSON.stringify(result)).toBe('committed');
      expect((await target.read(result.nativeIdentity!))!.groups).toEqual([g]);
    });

    it('disables and enables', async () => {
      const id = await create('ctdis');
      const off = await connector.apply(app({ op: 'Disable', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }));
      expect(off.status).toBe('committed');
      expect((await target.read(id))!.enabled).toBe(false);
      expect((await connector.getAccount(id))!.enabled).toBe(false);
      const offAgain = await connector.apply(app({ op: 'Disable', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }));
      expect(offAgain.status).toBe('unchanged');
      const on = await connector.apply(app({ op: 'Enable', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }));
      expect(on.status).toBe('committed');
      expect((await target.read(id))!.enabled).toBe(true);
      expect((await connector.getAccount(id))!.enabled).toBe(true);
    });

    it('deletes, and a second delete changes nothing', async () => {
      const id = await create('ctdel');
      const del = await connector.apply(app({ op: 'Delete', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }));
      expect(del.status).toBe('committed');
      expect(await target.read(id)).toBeNull();
      expect(await connector.getAccount(id)).toBeNull();
      const again = await connector.apply(app({ op: 'Delete', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }));
      expect(again.status).toBe('unchanged');
    });

    it('reports a Modify of an account that is not there as a permanent not_found', async () => {
      const missing = await connector.apply(app({ op: 'Modify', nativeIdentity: fixture.missingIdentity, attributeRequests: [attr(fixture.singleAttribute, 'Set', 'x')], permissionRequests: [] }));
      expect(missing.status).toBe('failed');
      expect(missing.error?.code).toBe('not_found');
      expect(missing.error?.kind).toBe('permanent');
    });

    it('lists every account exactly once across pages, and resumes from a cursor', async () => {
      await target.seedAccounts(23, 'ctlist');
      const expected = (await target.identities()).sort();
      const pages = await collect(connector.listAccounts(null, { pageSize: 7 }));
      const seen = pages.flatMap((p) => p.items.map((a) => a.nativeIdentity));
      expect(seen.length).toBe(expected.length);
      expect([...seen].sort()).toEqual(expected);
      expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(expected.length / 7));
      expect(pages.at(-1)!.nextCursor).toBeNull();
      for (const p of pages.slice(0, -1)) expect(p.nextCursor).not.toBeNull();

      // Resume from the second page's cursor with a fresh connector (another process would).
      const other = fixture.kind.create({ settings: target.settings, secrets: target.secrets });
      try {
        const resumed = await collect(other.listAccounts(pages[1]!.nextCursor, { pageSize: 7 }));
        const rest = resumed.flatMap((p) => p.items.map((a) => a.nativeIdentity));
        const before = pages.slice(0, 2).flatMap((p) => p.items.map((a) => a.nativeIdentity));
        expect(rest).toEqual(seen.slice(before.length));
      } finally {
        await other.close();
      }
    });

    it('lists entitlements, with the groups it has', async () => {
      const g = await target.seedGroup('ct-group-listed');
      const pages = await collect(connector.listEntitlements(null, { pageSize: 2 }));
      const items = pages.flatMap((p) => p.items);
      const found = items.find((e) => e.nativeValue === g);
      expect(found).toMatchObject({ kind: 'group', name: 'ct-group-listed' });
      expect(new Set(items.map((e) => e.nativeValue)).size).toBe(items.length);
    });

    it('refuses an unsupported operation before calling the target', async () => {
      const id = await create('ctunsup');
      const request = fixture.unsupportedRequest(id);
      expect(checkSupported(request, connector.capabilities).length).toBeGreaterThan(0);
      const before = target.callCount?.();
      const e = await connector.apply(request).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ConnectorError);
      expect((e as ConnectorError).kind).toBe('permanent');
      expect((e as ConnectorError).code).toBe('unsupported');
      if (before !== undefined) expect(target.callCount!()).toBe(before);
    });

    it('creates a group, gives an account membership of it, and deletes it (where it can create groups)', async (ctx) => {
      if (!connector.capabilities.operations.includes('create_group')) {
        ctx.skip(`${fixture.kind.name}: cannot create groups`);
        return;
      }
      expect(connector.capabilities.operations).toContain('delete_group');
      const made = await connector.createEntitlement!('group', { name: 'ct-made', description: 'made by the contract suite' });
      expect(made).toMatchObject({ kind: 'group', name: 'ct-made' });
      expect(made.nativeValue).toBeTruthy();
      expect(await target.readGroup!(made.nativeValue)).toMatchObject({ name: 'ct-made' });
      const listed = (await collect(connector.listEntitlements(null))).flatMap((p) => p.items);
      expect(listed.find((e) => e.nativeValue === made.nativeValue)).toMatchObject({ kind: 'group', name: 'ct-made' });

      // A new group (an LDAP one holds a placeholder member) takes its first member and gives up its last.
      const id = await create('ctmadegrp');
      const add = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr('groups', 'Add', made.nativeValue)], permissionRequests: [] }));
      expect(add.status, JSON.stringify(add)).toBe('committed');
      expect((await target.read(id))!.groups).toEqual([made.nativeValue]);
      const remove = await connector.apply(app({ op: 'Modify', nativeIdentity: id, attributeRequests: [attr('groups', 'Remove', made.nativeValue)], permissionRequests: [] }));
      expect(remove.status, JSON.stringify(remove)).toBe('committed');
      expect((await target.read(id))!.groups).toEqual([]);

      await expect(connector.deleteEntitlement!('group', made.nativeValue)).resolves.toBe('deleted');
      expect(await target.readGroup!(made.nativeValue)).toBeNull();
      await expect(connector.deleteEntitlement!('group', made.nativeValue)).resolves.toBe('absent');
    });

    it('refuses to create or delete an entitlement kind it does not declare, before calling the target', async () => {
      for (const kind of CREATABLE_KINDS) {
        for (const action of ['create', 'delete'] as const) {
          if (connector.capabilities.operations.includes(`${action}_${kind}`)) continue;
          const before = target.callCount?.();
          const e = await (action === 'create' ? createEntitlementWith(connector, kind, { name: `ct-no-${kind}` }) : deleteEntitlementWith(connector, kind, 'ct-no-such')).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(e, `${action} ${kind}`).toBeInstanceOf(ConnectorError);
          expect((e as ConnectorError).kind).toBe('permanent');
          expect((e as ConnectorError).code).toBe('unsupported');
          expect((e as ConnectorError).message).toContain(`${action}_${kind}`);
          if (before !== undefined) expect(target.callCount!(), `${action} ${kind} called the target`).toBe(before);
        }
      }
    });

    it('refuses a Modify without a nativeIdentity', async () => {
      await expect(connector.apply(app({ op: 'Modify', attributeRequests: [attr(fixture.singleAttribute, 'Set', 'x')], permissionRequests: [] }))).rejects.toMatchObject({ code: 'invalid_request' });
    });

    it('classifies a busy target as retryable', async (ctx) => {
      if (target.busy === undefined) {
        ctx.skip(`${fixture.kind.name}: the target cannot be made busy on demand`);
        return;
      }
      const id = await create('ctbusy');
      const restore = await target.busy();
      try {
        const busy = await connector.getAccount(id).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(busy, String(busy)).toBeInstanceOf(ConnectorError);
        expect((busy as ConnectorError).kind, String(busy)).toBe('retryable');
      } finally {
        await restore();
      }
      expect((await connector.getAccount(id))?.nativeIdentity).toBe(id);
    });

    it('classifies a rate limit as rate_limited, with the wait the target asked for', async (ctx) => {
      if (target.rateLimitNext === undefined) {
        ctx.skip(`${fixture.kind.name}: the target has no rate limits`);
        return;
      }
      const id = await create('ctlimit');
      target.rateLimitNext();
      const limited = await connector.getAccount(id).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(limited).toBeInstanceOf(ConnectorError);
      expect((limited as ConnectorError).kind).toBe('rate_limited');
      expect((limited as ConnectorError).retryAfterMs).toBeGreaterThan(0);
    });
  });
}
