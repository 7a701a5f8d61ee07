import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { collectPages, makeApplication, makeGroup, makeIdentity } from './app-fixtures.ts';

interface Entitlement {
  id: string;
  applicationId: string;
  kind: string;
  nativeValue: string;
  name: string;
  ownerId: string | null;
  requestable: boolean;
}
interface Held {
  assignmentId: string;
  viaGroupId: string | null;
  source: string;
  status: string;
  validFrom: string | null;
  validUntil: string | null;
  inEffect: boolean;
  entitlement: Entitlement;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const MISSING = '00000000-0000-4000-8000-00000000dead';

describe.each(testDbKinds())('entitlements and assignments on %s', (kind) => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await createTestApp(kind);
    token = await t.token('manage-entitlements');
  });
  afterAll(() => t?.close());

  const entUrl = (appId: string) => `/v1.0/owner/applications/${appId}/entitlements`;
  const create = (appId: string, entitlements: unknown[]) => t.call(token, 'POST', entUrl(appId), { entitlements });
  const countOf = async (table: 'entitlements' | 'assignments') => Number((await t.db.k.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const auditActions = async (objectType: string, ids: string[]) =>
    (await t.db.k.selectFrom('audit_events').select(['action', 'object_id']).where('object_type', '=', objectType).where('object_id', 'in', ids).execute()).map((e) => `${e.action} ${e.object_id}`).sort();
  const fields = (res: { json(): unknown }) => (res.json() as { error: { problems: { field?: string }[] } }).error.problems.map((p) => p.field);

  /** An application with these entitlements; their ids in the order given. */
  async function appWith(values: { kind?: string; nativeValue: string; name?: string; ownerId?: string; requestable?: boolean }[]) {
    const appId = await makeApplication(t);
    const res = await create(appId, values.map((v) => ({ kind: v.kind ?? 'group', name: v.name ?? v.nativeValue, ...v })));
    if (res.statusCode !== 201) throw new Error(res.body);
    return { appId, ids: res.json<{ items: Entitlement[] }>().items.map((e) => e.id) };
  }

  describe('application entitlements', () => {
    it('creates several at once, with their defaults, audited one by one', async () => {
      const appId = await makeApplication(t);
      const owner = await makeIdentity(t.db);
      const res = await create(appId, [
        { kind: 'group', nativeValue: 'cn=sales,ou=groups', name: 'Sales', description: 'Sales team', ownerId: owner },
        { kind: 'license', nativeValue: 'E5', name: 'Office E5', requestable: false },
      ]);
      expect(res.statusCode).toBe(201);
      const items = res.json<{ items: Entitlement[] }>().items;
      expect(items).toEqual([
        expect.objectContaining({ applicationId: appId, kind: 'group', nativeValue: 'cn=sales,ou=groups', name: 'Sales', description: 'Sales team', ownerId: owner, requestable: true }),
        expect.objectContaining({ applicationId: appId, kind: 'license', nativeValue: 'E5', name: 'Office E5', description: null, ownerId: null, requestable: false }),
      ]);
      const ids = items.map((e) => e.id);
      expect(await auditActions('entitlement', ids)).toEqual(ids.map((id) => `entitlement.create ${id}`).sort());
    });

    it('lists an application’s entitlements by kind and native value, each once across pages', async () => {
      const values = ['g-3', 'g-1', 'g-2', 'g-5', 'g-4'].map((v) => ({ kind: 'group', nativeValue: v }));
      const { appId } = await appWith([...values, { kind: 'role', nativeValue: 'admin' }, { kind: 'entity', nativeValue: 'acme' }]);
      await appWith([{ nativeValue: 'g-1' }]); // another application's, not listed
      const all = await collectPages<Entitlement>(async (cursor) => (await t.call(token, 'GET', `${entUrl(appId)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json(), 2);
      expect(all.map((e) => `${e.kind}:${e.nativeValue}`)).toEqual(['entity:acme', 'group:g-1', 'group:g-2', 'group:g-3', 'group:g-4', 'group:g-5', 'role:admin']);
    });

    it('refuses a batch holding a duplicate, and writes none of it', async () => {
      const { appId } = await appWith([{ kind: 'role', nativeValue: 'admin' }]);
      const before = await countOf('entitlements');
      const existing = await create(appId, [{ kind: 'role', nativeValue: 'reader', name: 'Reader' }, { kind: 'role', nativeValue: 'admin', name: 'Admin' }]);
      expect(existing.statusCode).toBe(409);
      expect(existing.json().error.code).toBe('entitlement.duplicate');
      expect(fields(existing)).toEqual(['entitlements[1].nativeValue']);
      const twice = await create(appId, [{ kind: 'group', nativeValue: 'x', name: 'X' }, { kind: 'group', nativeValue: 'x', name: 'X again' }]);
      expect(twice.statusCode).toBe(409);
      expect(fields(twice)).toEqual(['entitlements[1].nativeValue']);
      expect(await countOf('entitlements')).toBe(before);
      // The same native value of another kind is another entitlement.
      expect((await create(appId, [{ kind: 'group', nativeValue: 'admin', name: 'Admins group' }])).statusCode).toBe(201);
    });

    it('refuses an unknown owner with 400 naming its position, and writes none', async () => {
      const appId = await makeApplication(t);
      const owner = await makeIdentity(t.db);
      const before = await countOf('entitlements');
      const res = await create(appId, [{ kind: 'group', nativeValue: 'a', name: 'A', ownerId: owner }, { kind: 'group', nativeValue: 'b', name: 'B', ownerId: MISSING }]);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('entitlement.owner_not_found');
      expect(fields(res)).toEqual(['entitlements[1].ownerId']);
      expect(await countOf('entitlements')).toBe(before);
    });

    it.each([
      ['an unknown field', [{ kind: 'group', nativeValue: 'a', name: 'A', colour: 'red' }], 'body.entitlements.0.colour'],
      ['an unknown kind', [{ kind: 'team', nativeValue: 'a', name: 'A' }], 'body.entitlements.0.kind'],
      ['a missing name', [{ kind: 'group', nativeValue: 'a' }], 'body.entitlements.0.name'],
      ['an empty native value', [{ kind: 'group', nativeValue: '', name: 'A' }], 'body.entitlements.0.nativeValue'],
      ['a blank name', [{ kind: 'group', nativeValue: 'a', name: '  ' }], 'entitlements[0].name'],
      ['no entitlements', [], 'body.entitlements'],
    ])('refuses %s with 400 naming the field', async (_what, entitlements, field) => {
      const appId = await makeApplication(t);
      const res = await create(appId, entitlements);
      expect(res.statusCode).toBe(400);
      expect(fields(res)).toContain(field);
      expect((await t.call(token, 'GET', entUrl(appId))).json().items).toEqual([]);
    });

    it('answers 404 for an unknown application', async () => {
      expect((await create(MISSING, [{ kind: 'group', nativeValue: 'a', name: 'A' }])).json().error.code).toBe('application.not_found');
      const list = await t.call(token, 'GET', entUrl(MISSING));
      expect(list.statusCode).toBe(404);
    });
  });

  describe('search', () => {
    const search = (body: Record<string, unknown>) => t.call(token, 'POST', '/v1.0/entitlements/search', body);
    const tag = uniqueName('srch');
    let appA: string;
    let appB: string;
    let owner: string;
    beforeAll(async () => {
      owner = await makeIdentity(t.db);
      appA = (await appWith([
        { kind: 'group', nativeValue: 'a1', name: `${tag} Sales EMEA`, ownerId: owner },
        { kind: 'group', nativeValue: 'a2', name: `${tag} sales US` },
        { kind: 'role', nativeValue: 'a3', name: `${tag} Admin`, requestable: false },
        { kind: 'group', nativeValue: 'a4', name: `${tag} 100%_done` },
      ])).appId;
      appB = (await appWith([
        { kind: 'license', nativeValue: 'b1', name: `${tag} Sales licence`, ownerId: owner },
        { kind: 'group', nativeValue: 'b2', name: `${tag} 100x done` },
      ])).appId;
    });
    const names = (res: { json(): unknown }) => (res.json() as Page<Entitlement>).items.map((e) => e.name.slice(tag.length + 1));

    it('finds by name part ignoring case, ordered by name', async () => {
      expect(names(await search({ name: `${tag} SALES` }))).toEqual(['Sales EMEA', 'Sales licence', 'sales US']);
    });
    it('filters by application, kind, owner and requestable, together', async () => {
      expect(names(await search({ name: tag, applicationId: appB }))).toEqual(['100x done', 'Sales licence']);
      expect(names(await search({ name: tag, kind: 'group' }))).toEqual(['100%_done', '100x done', 'Sales EMEA', 'sales US']);
      expect(names(await search({ name: tag, ownerId: owner }))).toEqual(['Sales EMEA', 'Sales licence']);
      expect(names(await search({ name: tag, requestable: false }))).toEqual(['Admin']);
      expect(names(await search({ name: tag, applicationId: appA, kind: 'group', ownerId: owner }))).toEqual(['Sales EMEA']);
    });
    it('takes % and _ in the name literally', async () => {
      expect(names(await search({ name: '100%_' }))).toEqual(['100%_done']);
    });
    it('pages with a cursor, each match exactly once', async () => {
      const all = await collectPages<Entitlement>(async (cursor) => (await search({ name: tag, limit: 1, ...(cursor ? { cursor } : {}) })).json(), 1);
      expect(all.map((e) => e.name.slice(tag.length + 1))).toEqual(['100%_done', '100x done', 'Admin', 'Sales EMEA', 'Sales licence', 'sales US']);
      const everything = await collectPages<Entitlement>(async (cursor) => (await search({ limit: 3, ...(cursor ? { cursor } : {}) })).json(), 3);
      expect(new Set(everything.map((e) => e.id)).size).toBe(everything.length);
      expect(everything.length).toBe(await countOf('entitlements'));
    });
    it('refuses unknown fields and bad cursors with 400 naming them', async () => {
      expect(fields(await search({ nam: 'x' }))).toContain('body.nam');
      expect(fields(await search({ kind: 'team' }))).toContain('body.kind');
      expect(fields(await search({ cursor: 'nonsense' }))).toEqual(['body.cursor']);
      const forged = Buffer.from(JSON.stringify(['a', 'not-a-uuid'])).toString('base64url');
      expect(fields(await search({ cursor: forged }))).toEqual(['body.cursor']);
    });
  });

  describe('assignments to identities and groups', () => {
    it('assigns entitlements directly, with validity, audited', async () => {
      const { ids } = await appWith([{ nativeValue: 'x1' }, { nativeValue: 'x2' }]);
      const who = await makeIdentity(t.db);
      const until = new Date(Date.now() + 86_400_000).toISOString();
      const res = await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0] }, { id: ids[1], validUntil: until }] });
      expect(res.statusCode).toBe(201);
      const items = res.json().items as { id: string; identityId: string; entitlementId: string; source: string; status: string; validUntil: string | null }[];
      expect(items).toEqual([
        expect.objectContaining({ identityId: who, groupId: null, entitlementId: ids[0], source: 'direct', status: 'active', validFrom: null, validUntil: null }),
        expect.objectContaining({ identityId: who, entitlementId: ids[1], validUntil: until }),
      ]);
      expect(await auditActions('assignment', items.map((a) => a.id))).toHaveLength(2);
    });

    it('answers 404 for an unknown identity, group or entitlement, and writes nothing', async () => {
      const { ids } = await appWith([{ nativeValue: 'y1' }]);
      const who = await makeIdentity(t.db);
      const before = await countOf('assignments');
      const noIdentity = await t.call(token, 'POST', `/v1.0/entitlements/user/${MISSING}`, { entitlements: [{ id: ids[0] }] });
      expect(noIdentity.statusCode).toBe(404);
      expect(noIdentity.json().error.code).toBe('identity.not_found');
      const noGroup = await t.call(token, 'POST', `/v1.0/entitlements/group/${MISSING}`, { entitlements: [{ id: ids[0] }] });
      expect(noGroup.json().error.code).toBe('group.not_found');
      const noEnt = await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0] }, { id: MISSING }] });
      expect(noEnt.statusCode).toBe(404);
      expect(noEnt.json().error.code).toBe('entitlement.not_found');
      expect(fields(noEnt)).toEqual(['entitlements[1].id']);
      expect(await countOf('assignments')).toBe(before);
    });

    it('refuses a live duplicate with 409 and writes none of the batch', async () => {
      const { ids } = await appWith([{ nativeValue: 'z1' }, { nativeValue: 'z2' }]);
      const who = await makeIdentity(t.db);
      expect((await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0] }] })).statusCode).toBe(201);
      const before = await countOf('assignments');
      const again = await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[1] }, { id: ids[0] }] });
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe('assignment.duplicate');
      expect(fields(again)).toEqual(['entitlements[1].id']);
      const twice = await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[1] }, { id: ids[1] }] });
      expect(twice.statusCode).toBe(409);
      expect(await countOf('assignments')).toBe(before);
      // Once revoked, the entitlement may be assigned again.
      await t.db.k.updateTable('assignments').set({ status: 'revoked' }).where('identity_id', '=', who).execute();
      expect((await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0] }] })).statusCode).toBe(201);
    });

    it('refuses reversed or past validity with 400 naming the field', async () => {
      const { ids } = await appWith([{ nativeValue: 'v1' }]);
      const who = await makeIdentity(t.db);
      const reversed = await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0], validFrom: '2030-02-01T00:00:00Z', validUntil: '2030-01-01T00:00:00Z' }] });
      expect(reversed.statusCode).toBe(400);
      expect(reversed.json().error.code).toBe('assignment.invalid');
      expect(fields(reversed)).toEqual(['entitlements[0].validUntil']);
      const past = await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0], validUntil: '2001-01-01T00:00:00Z' }] });
      expect(fields(past)).toEqual(['entitlements[0].validUntil']);
      const notADate = await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0], validUntil: 'next week' }] });
      expect(fields(notADate)).toEqual(['body.entitlements.0.validUntil']);
    });

    it("lists an identity's entitlements, direct and through its groups, each once across pages", async () => {
      const { ids } = await appWith([{ nativeValue: 'd1' }, { nativeValue: 'd2' }, { nativeValue: 'g1' }, { nativeValue: 'g2' }, { nativeValue: 'other' }]);
      const who = await makeIdentity(t.db);
      const bystander = await makeIdentity(t.db);
      const group = await makeGroup(t.db, [who, bystander]);
      const lonelyGroup = await makeGroup(t.db, [bystander]);
      const from = new Date(Date.now() + 7 * 86_400_000).toISOString();
      expect((await t.call(token, 'POST', `/v1.0/entitlements/user/${who}`, { entitlements: [{ id: ids[0] }, { id: ids[1], validFrom: from }] })).statusCode).toBe(201);
      expect((await t.call(token, 'POST', `/v1.0/entitlements/group/${group}`, { entitlements: [{ id: ids[2] }, { id: ids[3] }] })).statusCode).toBe(201);
      expect((await t.call(token, 'POST', `/v1.0/entitlements/group/${lonelyGroup}`, { entitlements: [{ id: ids[4] }] })).statusCode).toBe(201);
      expect((await t.call(token, 'POST', `/v1.0/entitlements/user/${bystander}`, { entitlements: [{ id: ids[4] }] })).statusCode).toBe(201);
      await t.db.k.updateTable('assignments').set({ status: 'revoked' }).where('group_id', '=', group).where('entitlement_id', '=', ids[3]!).execute();

      const held = await collectPages<Held>(async (cursor) => (await t.call(token, 'GET', `/v1.0/users/${who}/entitlements?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json(), 1);
      const byValue = Object.fromEntries(held.map((h) => [h.entitlement.nativeValue, h]));
      expect(Object.keys(byValue).sort()).toEqual(['d1', 'd2', 'g1', 'g2']);
      expect(held).toHaveLength(4);
      expect(byValue.d1).toMatchObject({ viaGroupId: null, source: 'direct', status: 'active', inEffect: true });
      expect(byValue.d2).toMatchObject({ viaGroupId: null, validFrom: from, inEffect: false });
      expect(byValue.g1).toMatchObject({ viaGroupId: group, source: 'direct', status: 'active', inEffect: true });
      expect(byValue.g2).toMatchObject({ viaGroupId: group, status: 'revoked', inEffect: false });

      const active = await t.call(token, 'GET', `/v1.0/users/${who}/entitlements?status=active`);
      expect(active.json<Page<Held>>().items.map((h) => h.entitlement.nativeValue).sort()).toEqual(['d1', 'd2', 'g1']);
    });

    it('answers 404 for the entitlements of an unknown identity', async () => {
      const res = await t.call(token, 'GET', `/v1.0/users/${MISSING}/entitlements`);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('identity.not_found');
    });
  });

  describe('application assignments', () => {
    const url = (appId: string) => `/v1.0/applications/${appId}/assignments`;

    it('assigns an application to identities and groups, and lists them, each once across pages', async () => {
      const { appId, ids } = await appWith([{ nativeValue: 'e1' }]);
      const people = [await makeIdentity(t.db), await makeIdentity(t.db), await makeIdentity(t.db)];
      const group = await makeGroup(t.db, people);
      const made: string[] = [];
      for (const identityId of people) {
        const res = await t.call(token, 'POST', url(appId), { identityId });
        expect(res.statusCode).toBe(201);
        expect(res.json()).toMatchObject({ identityId, groupId: null, applicationId: appId, entitlementId: null, source: 'direct', status: 'active' });
        made.push(res.json().id);
      }
      const g = await t.call(token, 'POST', url(appId), { groupId: group, validUntil: '2099-01-01T00:00:00.000Z' });
      expect(g.json()).toMatchObject({ identityId: null, groupId: group, validUntil: '2099-01-01T00:00:00.000Z' });
      made.push(g.json().id);
      await t.call(token, 'POST', `/v1.0/entitlements/user/${people[0]}`, { entitlements: [{ id: ids[0] }] });

      const listed = await collectPages<{ id: string }>(async (cursor) => (await t.call(token, 'GET', `${url(appId)}?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json(), 3);
      expect(listed.map((a) => a.id).sort()).toEqual([...made].sort());
      const withEntitlements = await t.call(token, 'GET', `${url(appId)}?includeEntitlements=true&identityId=${people[0]}`);
      expect(withEntitlements.json<Page<{ entitlementId: string | null }>>().items.map((a) => a.entitlementId).sort()).toEqual([ids[0], null].sort());
      const byGroup = await t.call(token, 'GET', `${url(appId)}?groupId=${group}`);
      expect(byGroup.json<Page<{ id: string }>>().items.map((a) => a.id)).toEqual([g.json().id]);
      expect(await auditActions('assignment', made)).toHaveLength(made.length);
    });

    it('refuses neither or both of identity and group, a duplicate, and unknown references', async () => {
      const appId = await makeApplication(t);
      const who = await makeIdentity(t.db);
      const group = await makeGroup(t.db);
      const neither = await t.call(token, 'POST', url(appId), {});
      expect(neither.statusCode).toBe(400);
      expect(neither.json().error.code).toBe('assignment.invalid');
      expect((await t.call(token, 'POST', url(appId), { identityId: who, groupId: group })).statusCode).toBe(400);
      expect((await t.call(token, 'POST', url(appId), { identityId: who })).statusCode).toBe(201);
      const dup = await t.call(token, 'POST', url(appId), { identityId: who });
      expect(dup.statusCode).toBe(409);
      expect(dup.json().error.code).toBe('assignment.duplicate');
      expect((await t.call(token, 'POST', url(MISSING), { identityId: who })).json().error.code).toBe('application.not_found');
      expect((await t.call(token, 'POST', url(appId), { identityId: MISSING })).json().error.code).toBe('identity.not_found');
      expect((await t.call(token, 'POST', url(appId), { groupId: MISSING })).json().error.code).toBe('group.not_found');
      expect((await t.call(token, 'GET', url(MISSING))).statusCode).toBe(404);
      expect(fields(await t.call(token, 'POST', url(appId), { identityId: who, role: 'x' }))).toContain('body.role');
    });
  });

  it('needs manage-entitlements', async () => {
    const appId = await makeApplication(t);
    const other = await t.token('manage-applications');
    expect((await t.call(other, 'GET', entUrl(appId))).statusCode).toBe(403);
    expect((await t.call(other, 'POST', '/v1.0/entitlements/search', {})).statusCode).toBe(403);
  });
});
