/**
 * The `{provider}_api_*` runner against real targets: the SCIM test server (scimmy) and
 * Debian's slapd, on each test database. Each test runs the runner as the flow engine does
 * (a script, its flow, the deps) and checks the target itself and Steward's account row.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ConnectorError} from '../../src/connectors/index.ts';
import {
  BUILT_IN_KINDS,
  createConnectorLimiter,
  createRegistry,
  isConnectorError,
} from '../../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import type { AccountSchema } from '../../src/domain/schema.ts';
import { createApplicationService } from '../../src/services/applications.ts';
import { createConnectorAccess, type ConnectorAccess } from '../../src/services/connector-access.ts';
import { createSecretBox, type SecretBox } from '../../src/store/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import { API_RUNNER } from '../../src/workflows/runners/index.ts';
import type { FlowRun, RunnerDeps, ScriptOutcome } from '../../src/workflows/runners/types.ts';
import { parseScriptType } from '../../src/workflows/script-types.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';
import { restSettingsFor, startRestServer, type RestServer } from '../support/rest-server.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';
import { GROUPS, PEOPLE, slapdUnavailableReason, startSlapd, type Slapd } from '../support/slapd.ts';

let seq = 0;
const unique = (p: string): string => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Connectors opened by the tests' RunnerDeps, closed when the file ends. */
const opened: ConnectorAccess[] = [];
afterAll(async () => {
  await Promise.all(opened.map((a) => a.close()));
});

/** RunnerDeps over the store, as the services build them: each application's connector from its stored settings and opened secrets. */
function runnerDeps(db: Db, box: SecretBox): RunnerDeps {
  const connectors = createRegistry(BUILT_IN_KINDS);
  const limiter = createConnectorLimiter();
  const access = createConnectorAccess({ db, secrets: box, connectors, limiter });
  opened.push(access);
  return { db, connectors, limiter, publicUrl: 'http://127.0.0.1:1', fetch, withConnector: access.withConnector };
}

interface World {
  db: Db;
  deps: RunnerDeps;
  appId: string;
}

interface RunOptions {
  identityId?: string | null;
  entitlementId?: string | null;
  metadata?: Record<string, unknown>;
  resumed?: boolean;
  attempt?: number;
  context?: Record<string, unknown>;
  outputs?: Record<number, Record<string, unknown>>;
  position?: number;
}

/** Runs one script as the flow engine would. */
function run(w: World, type: string, o: RunOptions = {}): Promise<ScriptOutcome> {
  const parsed = parseScriptType(type);
  if (!parsed.ok) throw new Error(String(parsed.errors));
  const flow: FlowRun = {
    id: randomUUID(),
    purpose: o.context?.accountRequest ? 'plan' : 'provisioning',
    applicationId: w.appId,
    entitlementId: o.entitlementId ?? null,
    identityId: o.identityId ?? null,
    assignmentId: null,
    requestId: null,
    context: o.context ?? {},
  };
  return API_RUNNER.run(
    {
      script: { id: randomUUID(), flowId: flow.id, position: o.position ?? 0, type, parsed: parsed.value, metadata: o.metadata ?? {}, attempt: o.attempt ?? 1, resumed: o.resumed ?? false },
      flow,
      vars: {},
      outputs: o.outputs ?? {},
      now: () => new Date(),
    },
    w.deps,
  );
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isConnectorError(e), String(e)).toBe(true);
  return e as ConnectorError;
}

async function person(db: Db, userName: string): Promise<string> {
  const r = await db.k
    .insertInto('identities')
    .values({ user_name: userName, given_name: 'Ada', family_name: userName, display_name: `Ada ${userName}`, email: `${userName}@example.org`, data: JSON.stringify({}) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

async function entitlement(db: Db, appId: string, nativeValue: string, name: string): Promise<string> {
  const r = await db.k
    .insertInto('entitlements')
    .values({ application_id: appId, kind: 'group', native_value: nativeValue, name, attributes: JSON.stringify({}) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

const accountRow = (db: Db, appId: string, identityId: string) =>
  db.k.selectFrom('accounts').selectAll().where('application_id', '=', appId).where('identity_id', '=', identityId).executeTakeFirst();

const SCIM_SCHEMA: AccountSchema = {
  attributes: [
    { name: 'userName', type: 'string', multiValued: false, required: true },
    { name: 'name.givenName', type: 'string', multiValued: false },
    { name: 'name.familyName', type: 'string', multiValued: false },
    { name: 'emails', type: 'string', multiValued: true },
    { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
  ],
};

describe.each(testDbKinds())('api runner on SCIM (%s)', (dbKind) => {
  let db: Db;
  let server: ScimServer;
  let w: World;

  beforeAll(async () => {
    db = await createTestDb(dbKind);
    server = await startScimServer({ token: 'api-runner-token-1' });
    const box = createSecretBox(randomBytes(32));
    const apps = createApplicationService({ db, secrets: box, connectors: createRegistry(BUILT_IN_KINDS) });
    const app = await apps.create(SYSTEM_ACTOR, {
      name: unique('scimapp'),
      connectorKind: 'scim',
      settings: { baseUrl: server.url, retries: 0 },
      secrets: { token: server.token },
      accountSchema: SCIM_SCHEMA,
      attributeMappings: [
        { accountAttribute: 'userName', identityAttribute: 'userName' },
        { accountAttribute: 'name.givenName', identityAttribute: 'name.givenName' },
        { accountAttribute: 'name.familyName', identityAttribute: 'name.familyName' },
      ],
      deprovisioningPolicy: { action: 'Suspend' },
    });
    w = { db, deps: runnerDeps(db, box), appId: app.id };
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it('creates the user from the attribute mappings and records the account as Matched', async () => {
    const userName = unique('ada');
    const identityId = await person(db, userName);
    const out = await run(w, 'scim_api_create_user', { identityId });
    expect(out.status).toBe('succeeded');
    const made = server.user(userName)!;
    expect(made).toMatchObject({ userName, name: { givenName: 'Ada', familyName: userName } });
    expect(out.output?.nativeIdentity).toBe(made.id);
    const row = await accountRow(db, w.appId, identityId);
    expect(row).toMatchObject({ native_identity: made.id, state: 'Matched', enabled: true });
    expect(row!.attributes.userName).toBe(userName);
    // Made as asked: the row follows from the request, without reading the user back.
    expect(server.requests().filter((r) => r.method === 'GET' && r.path.includes(made.id))).toEqual([]);
  });

  it('a resumed create finds the account the first attempt made instead of making a second', async () => {
    const userName = unique('bob');
    const identityId = await person(db, userName);
    await run(w, 'scim_api_create_user', { identityId });
    // The worker died after the call and before anything was recorded.
    await db.k.deleteFrom('accounts').where('identity_id', '=', identityId).execute();
    const before = server.users().length;
    const posts = server.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/Users')).length;
    const out = await run(w, 'scim_api_create_user', { identityId, resumed: true });
    expect(out).toMatchObject({ status: 'succeeded', output: { result: 'existed', nativeIdentity: server.user(userName)!.id } });
    expect(server.users().length).toBe(before);
    expect(server.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/Users')).length).toBe(posts);
    expect((await accountRow(db, w.appId, identityId))?.native_identity).toBe(server.user(userName)!.id);
  });

  it('a create the target refuses as a conflict is looked up and taken as done', async () => {
    const userName = unique('cat');
    const identityId = await person(db, userName);
    await run(w, 'scim_api_create_user', { identityId });
    await db.k.deleteFrom('accounts').where('identity_id', '=', identityId).execute();
    const out = await run(w, 'scim_api_create_user', { identityId });
    expect(out.output).toMatchObject({ result: 'existed', nativeIdentity: server.user(userName)!.id });
    expect(server.users().filter((u) => u.userName === userName)).toHaveLength(1);
  });

  it('adds the user to the flow entitlement’s group, then removes it, keeping the account row current', async () => {
    const userName = unique('dan');
    const identityId = await person(db, userName);
    await run(w, 'scim_api_create_user', { identityId });
    const group = server.seedGroup(unique('Engineering'));
    const entitlementId = await entitlement(db, w.appId, group.id, group.displayName);
    const userId = server.user(userName)!.id;

    const added = await run(w, 'scim_api_add_user_to_group', { identityId, entitlementId });
    expect(added.status).toBe('succeeded');
    expect(server.groups().find((g) => g.id === group.id)!.members.map((m) => m.value)).toEqual([userId]);
    expect((await accountRow(db, w.appId, identityId))!.attributes.groups).toEqual([group.id]);

    const again = await run(w, 'scim_api_add_user_to_group', { identityId, entitlementId });
    expect(again.status).toBe('skipped');

    const removed = await run(w, 'scim_api_remove_user_from_group', { identityId, entitlementId });
    expect(removed.status).toBe('succeeded');
    expect(server.groups().find((g) => g.id === group.id)!.members).toEqual([]);
    expect((await accountRow(db, w.appId, identityId))!.attributes.groups).toEqual([]);
  });

  it('disables, then deletes the account, and forgets the row', async () => {
    const userName = unique('eve');
    const identityId = await person(db, userName);
    await run(w, 'scim_api_create_user', { identityId });
    const off = await run(w, 'scim_api_disable_user', { identityId });
    expect(off.status).toBe('succeeded');
    expect(server.user(userName)!.active).toBe(false);
    expect((await accountRow(db, w.appId, identityId))!.enabled).toBe(false);

    const gone = await run(w, 'scim_api_delete_user', { identityId });
    expect(gone.status).toBe('succeeded');
    expect(server.user(userName)).toBeUndefined();
    expect(await accountRow(db, w.appId, identityId)).toBeUndefined();
  });

  it('an account operation on an identity without an account is a permanent not_found', async () => {
    const identityId = await person(db, unique('fay'));
    const e = await failure(run(w, 'scim_api_disable_user', { identityId }));
    expect(e).toMatchObject({ kind: 'permanent', code: 'not_found' });
    expect(e.message).toContain('scim_api_create_user');
  });

  it('classifies 503 as retryable and 429 as rate_limited with the target’s Retry-After', async () => {
    const userName = unique('gus');
    const identityId = await person(db, userName);
    server.failNext(503, 1);
    const busy = await failure(run(w, 'scim_api_create_user', { identityId }));
    expect(busy).toMatchObject({ kind: 'retryable', status: 503 });
    expect(server.user(userName)).toBeUndefined();

    server.failNext(429, 1, 120);
    const limited = await failure(run(w, 'scim_api_create_user', { identityId, attempt: 2 }));
    expect(limited).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 120_000 });

    // The target recovers: the next attempt makes the account once.
    const ok = await run(w, 'scim_api_create_user', { identityId, attempt: 3 });
    expect(ok.status).toBe('succeeded');
    expect(server.users().filter((u) => u.userName === userName)).toHaveLength(1);
  });

  it('creates and deletes a group through the contract; a resumed create finds the group made', async () => {
    const name = unique('Ops');
    const made = await run(w, 'scim_api_create_group', { metadata: { name } });
    expect(made.status).toBe('succeeded');
    const g = server.groups().find((x) => x.displayName === name)!;
    expect(made.output).toMatchObject({ kind: 'group', nativeValue: g.id, result: 'committed' });
    const resumed = await run(w, 'scim_api_create_group', { metadata: { name }, resumed: true });
    expect(resumed.output).toMatchObject({ nativeValue: g.id, result: 'existed' });
    expect(server.groups().filter((x) => x.displayName === name)).toHaveLength(1);

    expect((await run(w, 'scim_api_delete_group', { metadata: { nativeValue: g.id } })).output).toMatchObject({ result: 'deleted' });
    expect(server.groups().some((x) => x.id === g.id)).toBe(false);
    expect((await run(w, 'scim_api_delete_group', { metadata: { nativeValue: g.id } })).status).toBe('skipped');
  });

  it('refuses create_role on SCIM as permanent unsupported, naming what the connector offers', async () => {
    const e = await failure(run(w, 'scim_api_create_role', { metadata: { name: 'x' } }));
    expect(e).toMatchObject({ kind: 'permanent', code: 'unsupported' });
    expect(e.message).toContain('scim_api_create_group');
  });

  it('applies exactly a plan flow’s AccountRequest, once per flow', async () => {
    const userName = unique('hal');
    const identityId = await person(db, userName);
    const group = server.seedGroup(unique('Plan'));
    const accountRequest = {
      application: 'ignored-by-the-runner',
      op: 'Create',
      attributeRequests: [
        { name: 'userName', op: 'Set', value: userName },
        { name: 'groups', op: 'Add', value: group.id },
      ],
    };
    const out = await run(w, 'scim_api_create_user', { identityId, context: { accountRequest } });
    expect(out).toMatchObject({ status: 'succeeded', output: { planRequestApplied: true } });
    const userId = server.user(userName)!.id;
    expect(server.groups().find((g) => g.id === group.id)!.members.map((m) => m.value)).toEqual([userId]);
    expect((await accountRow(db, w.appId, identityId))!.attributes.groups).toEqual([group.id]);
    const second = await run(w, 'scim_api_add_user_to_group', { identityId, context: { accountRequest }, position: 1, outputs: { 0: out.output! } });
    expect(second.status).toBe('skipped');
    expect(server.users().filter((u) => u.userName === userName)).toHaveLength(1);
  });

  it('refuses a malformed plan request permanently', async () => {
    const e = await failure(run(w, 'scim_api_create_user', { context: { accountRequest: { op: 'Explode' } } }));
    expect(e).toMatchObject({ kind: 'permanent', code: 'invalid_request' });
  });

  it('validate: the provider must be the application’s kind and the operation one it supports', () => {
    const app = { id: w.appId, connectorKind: 'scim', capabilities: ['create_user', 'disable_user', 'add_user_to_group'] };
    const check = (type: string, metadata: Record<string, unknown> = {}) => {
      const parsed = parseScriptType(type);
      if (!parsed.ok) throw new Error('bad type');
      return API_RUNNER.validate(parsed.value, metadata, 'scripts[0]', app);
    };
    expect(check('scim_api_create_user')).toEqual([]);
    expect(check('scim_api_add_user_to_group', { entitlement: '{{entitlement.nativeValue}}' })).toEqual([]);
    const wrongKind = check('ldap_api_create_user');
    expect(wrongKind).toEqual([expect.objectContaining({ code: 'script.provider_mismatch', field: 'scripts[0].type' })]);
    expect(wrongKind[0]!.message).toContain('scim_api_create_user, scim_api_disable_user, scim_api_add_user_to_group');
    const unsupported = check('scim_api_delete_user');
    expect(unsupported).toEqual([expect.objectContaining({ code: 'script.unsupported_operation', field: 'scripts[0].type' })]);
    expect(unsupported[0]!.message).toContain('scim_api_disable_user');
    expect(check('scim_api_hello')).toEqual([expect.objectContaining({ code: 'script.unsupported_operation' })]);
    expect(check('scim_api_create_user', { colour: 'red' })).toEqual([expect.objectContaining({ code: 'metadata.unknown_field', field: 'scripts[0].metadata.colour' })]);
    expect(check('scim_api_add_user_to_group', { entitlement: 7 })).toEqual([]);
    expect(check('scim_api_add_user_to_group', { entitlement: ['a'] })).toEqual([expect.objectContaining({ code: 'metadata.invalid', field: 'scripts[0].metadata.entitlement' })]);
  });
});

const slapdSkip = slapdUnavailableReason();
if (slapdSkip !== null) console.warn(`api runner on LDAP skipped: ${slapdSkip}`);

describe.skipIf(slapdSkip !== null).each(testDbKinds())(`api runner on LDAP (%s)${slapdSkip === null ? '' : ` (skipped: ${slapdSkip})`}`, (dbKind) => {
  let db: Db;
  let slapd: Slapd;
  let w: World;
  let admin: Awaited<ReturnType<Slapd['admin']>>;

  beforeAll(async () => {
    db = await createTestDb(dbKind);
    slapd = await startSlapd();
    admin = await slapd.admin();
    const box = createSecretBox(randomBytes(32));
    const apps = createApplicationService({ db, secrets: box, connectors: createRegistry(BUILT_IN_KINDS) });
    const app = await apps.create(SYSTEM_ACTOR, {
      name: unique('ldapapp'),
      connectorKind: 'ldap',
      settings: { url: slapd.url, bindDn: slapd.rootDn, baseDn: PEOPLE, groupBaseDn: GROUPS, timeoutMs: 5000 },
      secrets: { bindPassword: slapd.rootPassword },
      accountSchema: {
        attributes: [
          { name: 'uid', type: 'string', multiValued: false },
          { name: 'cn', type: 'string', multiValued: false },
          { name: 'sn', type: 'string', multiValued: false },
          { name: 'mail', type: 'string', multiValued: true },
          { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
        ],
      },
      attributeMappings: [
        { accountAttribute: 'uid', identityAttribute: 'userName' },
        { accountAttribute: 'cn', identityAttribute: 'displayName' },
        { accountAttribute: 'sn', identityAttribute: 'name.familyName' },
      ],
    });
    w = { db, deps: runnerDeps(db, box), appId: app.id };
  }, 60_000);

  afterAll(async () => {
    await admin?.unbind();
    await slapd?.stop();
    await db?.close();
  });

  const entry = async (dn: string) => (await admin.search(dn, { scope: 'base', attributes: ['*'] }).catch(() => ({ searchEntries: [] }))).searchEntries[0];
  const members = async (groupDn: string) => {
    const e = await entry(groupDn);
    const m = e?.member;
    return (Array.isArray(m) ? m : [m]).map(String).filter((x) => x !== '' && x !== 'undefined');
  };

  it('creates the entry from the mappings; a resumed create does not make a second', async () => {
    const uid = unique('lada');
    const identityId = await person(db, uid);
    const out = await run(w, 'ldap_api_create_user', { identityId });
    const dn = `uid=${uid},${PEOPLE}`;
    expect(out).toMatchObject({ status: 'succeeded', output: { nativeIdentity: dn } });
    expect((await entry(dn))?.sn).toBe(uid);
    expect((await accountRow(db, w.appId, identityId))).toMatchObject({ native_identity: dn, state: 'Matched', enabled: true });

    await db.k.deleteFrom('accounts').where('identity_id', '=', identityId).execute();
    const again = await run(w, 'ldap_api_create_user', { identityId, resumed: true });
    expect(again.output).toMatchObject({ result: 'existed', nativeIdentity: dn });
    const conflict = await run(w, 'ldap_api_create_user', { identityId });
    expect(conflict.output).toMatchObject({ result: 'existed', nativeIdentity: dn });
  });

  it('adds to and removes from a group, disables, and deletes', async () => {
    const uid = unique('lbob');
    const identityId = await person(db, uid);
    await run(w, 'ldap_api_create_user', { identityId });
    const dn = `uid=${uid},${PEOPLE}`;
    const made = await run(w, 'ldap_api_create_group', { metadata: { name: unique('lgrp'), description: 'made by a flow' } });
    const groupDn = made.output!.nativeValue as string;
    expect(await members(groupDn)).toEqual([]);
    const entitlementId = await entitlement(db, w.appId, groupDn, 'lgrp');

    expect((await run(w, 'ldap_api_add_user_to_group', { identityId, entitlementId })).status).toBe('succeeded');
    expect(await members(groupDn)).toEqual([dn]);
    expect((await accountRow(db, w.appId, identityId))!.attributes.groups).toEqual([groupDn]);
    expect((await run(w, 'ldap_api_remove_user_from_group', { identityId, entitlementId })).status).toBe('succeeded');
    expect(await members(groupDn)).toEqual([]);

    expect((await run(w, 'ldap_api_disable_user', { identityId })).status).toBe('succeeded');
    expect((await accountRow(db, w.appId, identityId))!.enabled).toBe(false);
    expect((await run(w, 'ldap_api_delete_user', { identityId })).status).toBe('succeeded');
    expect(await entry(dn)).toBeUndefined();
    expect(await accountRow(db, w.appId, identityId)).toBeUndefined();
    expect((await run(w, 'ldap_api_delete_group', { metadata: { nativeValue: groupDn } })).output).toMatchObject({ result: 'deleted' });
    expect(await entry(groupDn)).toBeUndefined();
  });
});

describe.each(testDbKinds())('api runner: named endpoints of a rest application (%s)', (dbKind) => {
  let db: Db;
  let server: RestServer;
  let w: World;

  beforeAll(async () => {
    db = await createTestDb(dbKind);
    server = await startRestServer({ token: 'rest-runner-token-1' });
    const box = createSecretBox(randomBytes(32));
    const apps = createApplicationService({ db, secrets: box, connectors: createRegistry(BUILT_IN_KINDS) });
    const app = await apps.create(SYSTEM_ACTOR, { name: unique('restapp'), connectorKind: 'rest', settings: { ...restSettingsFor(server.url, 'page'), retries: 0 }, secrets: { token: server.token } });
    w = { db, deps: runnerDeps(db, box), appId: app.id };
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it('calls the named endpoint with the identity’s account and the metadata’s params, keeping the answer', async () => {
    const identityId = await person(db, unique('ivy'));
    const made = await run(w, 'rest_api_create_user', { identityId, metadata: { attributes: { login: unique('ivy') } } });
    const nativeIdentity = made.output!.nativeIdentity as string;
    const out = await run(w, 'rest_api_notify', { identityId, metadata: { params: { hook: 'joined', groups: ['a', 'b'] } } });
    expect(out).toMatchObject({ status: 'succeeded', output: { endpoint: 'notify', status: 200, body: { hook: 'joined', received: { user: nativeIdentity, groups: ['a', 'b'] } } } });
    const call = server.requests().at(-1)!;
    expect(call).toMatchObject({ method: 'POST', url: '/api/hooks/joined' });
    expect(call.headers['x-steward-user']).toBe(nativeIdentity);
  });

  it('an endpoint the application does not configure is permanent unsupported, naming the ones it has', async () => {
    const e = await failure(run(w, 'rest_api_nosuch', {}));
    expect(e).toMatchObject({ kind: 'permanent', code: 'unsupported' });
    expect(e.message).toContain('notify');
  });

  it('an endpoint failing with 503 is retryable', async () => {
    server.failNext(503, 1);
    expect(await failure(run(w, 'rest_api_notify', { metadata: { params: { hook: 'x' } } }))).toMatchObject({ kind: 'retryable', status: 503 });
  });
});
