import { sql, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createGroupService } from '../../src/services/groups.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { ERROR, GROUP_SCHEMA, STEWARD_GROUP, USER_SCHEMA, patchOp, q, scimClient, type ScimClient } from '../support/scim.ts';

interface Group {
  id: string;
  displayName: string;
  externalId?: string;
  members?: { value: string; display: string; type: string; $ref: string }[];
  meta: { version: string; location: string };
  schemas: string[];
  [k: string]: unknown;
}

describe.each(testDbKinds())('SCIM Groups on %s', (kind) => {
  let t: TestApp;
  let s: ScimClient;
  let admin: ScimClient;
  const users: string[] = [];
  beforeAll(async () => {
    t = await createTestApp(kind);
    s = scimClient(t, await t.token('manage-users-and-groups'));
    admin = scimClient(t, t.admin);
    for (let i = 0; i < 6; i++) {
      const res = await s.post('/v2.0/Users', { schemas: [USER_SCHEMA], userName: `${uniqueName('member')}@example.com`, displayName: `Member ${i}` });
      users.push(res.json<{ id: string }>().id);
    }
  });
  afterAll(() => t?.close());

  const create = async (extra: Record<string, unknown> = {}, client = s): Promise<Group> => {
    const res = await client.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA], displayName: uniqueName('Group'), ...extra });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<Group>();
  };
  const memberIds = async (id: string): Promise<string[]> => ((await s.get(`/v2.0/Groups/${id}`)).json<Group>().members ?? []).map((m) => m.value).sort();

  it('creates a group with members, each with its display name and $ref', async () => {
    const g = await create({ externalId: uniqueName('ext'), members: [{ value: users[0] }, { value: users[1], type: 'User' }] });
    expect(g.schemas).toEqual([GROUP_SCHEMA, STEWARD_GROUP]);
    expect(g[STEWARD_GROUP]).toEqual({ kind: 'standard' });
    expect(g.meta.version).toBe('W/"1"');
    expect(g.members).toHaveLength(2);
    expect(g.members).toContainEqual({ value: users[0], display: 'Member 0', type: 'User', $ref: expect.stringMatching(new RegExp(`/v2\\.0/Users/${users[0]}$`)) });
    const audit = await t.db.k.selectFrom('audit_events').selectAll().where('object_id', '=', g.id).executeTakeFirstOrThrow();
    expect(audit.action).toBe('group.create');
    expect(audit.after).toMatchObject({ displayName: g.displayName, members: [users[0], users[1]].sort() });
  });

  it('requires a displayName, unique ignoring case, and a unique externalId (409 uniqueness)', async () => {
    const none = await s.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA] });
    expect(none.statusCode).toBe(400);
    expect(none.json().detail).toContain('displayName');
    const g = await create({ externalId: uniqueName('ext') });
    const dup = await s.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA], displayName: g.displayName.toUpperCase() });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    const dupExt = await s.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA], displayName: uniqueName('G'), externalId: g.externalId });
    expect(dupExt.statusCode).toBe(409);
    expect(dupExt.json().detail).toContain('externalId');
    const rename = await s.patch(`/v2.0/Groups/${(await create()).id}`, patchOp({ op: 'replace', path: 'displayName', value: g.displayName }));
    expect(rename.statusCode).toBe(409);
  });

  it('refuses a member that does not exist, naming it, and a group as a member', async () => {
    const missing = '00000000-0000-4000-8000-00000000abcd';
    const res = await s.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA], displayName: uniqueName('G'), members: [{ value: users[0] }, { value: missing }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain(missing);
    const g = await create();
    const patch = await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: 'not-an-id' }] }));
    expect(patch.statusCode).toBe(400);
    expect(patch.json().detail).toMatch(/Operations\[0\]\.value.*not-an-id/);
    const nested = await s.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA], displayName: uniqueName('G'), members: [{ value: g.id, type: 'Group' }] });
    expect(nested.statusCode).toBe(400);
    expect(nested.json().detail).toContain('members[0].type');
    expect(await memberIds(g.id)).toEqual([]);
  });

  it('adds and removes members with PATCH as Okta and Entra send it, answering 204 with the new ETag', async () => {
    const g = await create({ members: [{ value: users[0] }] });
    const add = await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: users[1] }, { value: users[2], display: 'x' }] }));
    expect(add.statusCode).toBe(204);
    expect(add.body).toBe('');
    expect(add.headers.etag).toBe('W/"2"');
    expect(await memberIds(g.id)).toEqual([users[0], users[1], users[2]].sort());
    // Entra: remove by a value list; Okta: remove by a filter, then add, in one request.
    expect((await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: users[0] }] }))).statusCode).toBe(204);
    const okta = await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${users[1]}"]` }, { op: 'add', path: 'members', value: [{ value: users[3], display: 'm3' }] }));
    expect(okta.statusCode).toBe(204);
    expect(await memberIds(g.id)).toEqual([users[2], users[3]].sort());
    const events = await t.db.k.selectFrom('audit_events').selectAll().where('object_id', '=', g.id).orderBy('seq').execute();
    expect(events.map((e) => e.action)).toEqual(['group.create', 'group.members.add', 'group.members.remove', 'group.members.add', 'group.members.remove']);
    expect(events[1]!.after).toEqual({ members: [users[1], users[2]].sort() });
    expect(events[2]!.before).toEqual({ members: [users[0]] });
  });

  it('writes nothing for a member added twice or removed when absent', async () => {
    const g = await create({ members: [{ value: users[0] }] });
    expect((await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[0] }] }))).headers.etag).toBe('W/"1"');
    expect((await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${users[5]}"]` }))).headers.etag).toBe('W/"1"');
  });

  it('replaces all members, removes them all, and removes by any filter over members', async () => {
    const g = await create({ members: users.slice(0, 3).map((value) => ({ value })) });
    await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: users[3] }, { value: users[4] }, { value: users[2] }] }));
    expect(await memberIds(g.id)).toEqual([users[2], users[3], users[4]].sort());
    await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${users[3]}" or display eq "Member 4"]` }));
    expect(await memberIds(g.id)).toEqual([users[2]]);
    await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members' }));
    expect(await memberIds(g.id)).toEqual([]);
    // A path-less add with members and an attribute together.
    const both = await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'add', value: { members: [{ value: users[5] }], externalId: uniqueName('x') } }));
    expect(both.statusCode).toBe(204);
    expect(await memberIds(g.id)).toEqual([users[5]]);
  });

  it('renames with PATCH as Okta does (echoing its id), and answers 200 with the resource when attributes are asked for', async () => {
    const g = await create({ members: [{ value: users[0] }] });
    const name = uniqueName('Renamed');
    const res = await s.patch(`/v2.0/Groups/${g.id}?excludedAttributes=members`, patchOp({ op: 'replace', value: { id: g.id, displayName: name } }));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: g.id, displayName: name, meta: { version: 'W/"2"' } });
    expect(res.json()).not.toHaveProperty('members');
    const ev = await t.db.k.selectFrom('audit_events').selectAll().where('object_id', '=', g.id).where('action', '=', 'group.update').executeTakeFirstOrThrow();
    expect(ev.before).toMatchObject({ displayName: g.displayName });
    expect(ev.after).toMatchObject({ displayName: name });
  });

  it('refuses PATCH paths that name a part of a member', async () => {
    const g = await create({ members: [{ value: users[0] }] });
    for (const path of [`members[value eq "${users[0]}"].display`, 'members.value', `members[value eq "${users[0]}"]`]) {
      const res = await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'replace', path, value: 'x' }));
      expect(res.statusCode, path).toBe(400);
      expect(res.json().scimType, path).toBe('invalidPath');
    }
  });

  it('answers Entra’s queries: by displayName without members, and by id and member', async () => {
    const g = await create({ members: [{ value: users[0] }] });
    const byName = await s.get(`/v2.0/Groups?excludedAttributes=members&filter=${q(`displayName eq "${g.displayName}"`)}`);
    expect(byName.json()).toMatchObject({ totalResults: 1, Resources: [{ id: g.id, displayName: g.displayName }] });
    expect(byName.json().Resources[0]).not.toHaveProperty('members');
    const hit = await s.get(`/v2.0/Groups?excludedAttributes=members&filter=${q(`id eq "${g.id}" and members[value eq "${users[0]}"]`)}`);
    expect(hit.json().totalResults).toBe(1);
    const miss = await s.get(`/v2.0/Groups?excludedAttributes=members&filter=${q(`id eq "${g.id}" and members[value eq "${users[1]}"]`)}`);
    expect(miss.json().totalResults).toBe(0);
    const one = await s.get(`/v2.0/Groups/${g.id}?excludedAttributes=members`);
    expect(one.json()).not.toHaveProperty('members');
    expect((await s.get(`/v2.0/Groups?filter=${q('nosuch eq "x"')}`)).json().scimType).toBe('invalidFilter');
  });

  it('replaces with PUT, members included, and honours If-Match', async () => {
    const g = await create({ members: [{ value: users[0] }, { value: users[1] }] });
    const stale = await s.put(`/v2.0/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: g.displayName }, { 'if-match': 'W/"5"' });
    expect(stale.statusCode).toBe(412);
    const res = await s.put(`/v2.0/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: g.displayName, members: [{ value: users[1] }, { value: users[2] }] }, { 'if-match': g.meta.version });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<Group>().members!.map((m) => m.value).sort()).toEqual([users[1], users[2]].sort());
    expect(res.json<Group>().meta.version).toBe('W/"2"');
  });

  it('deletes a group, leaving its members, and the users no longer list it', async () => {
    const g = await create({ members: [{ value: users[0] }] });
    expect((await s.del(`/v2.0/Groups/${g.id}`)).statusCode).toBe(204);
    expect((await s.get(`/v2.0/Groups/${g.id}`)).statusCode).toBe(404);
    const u = (await s.get(`/v2.0/Users/${users[0]}`)).json<{ groups?: { value: string }[] }>();
    expect((u.groups ?? []).map((x) => x.value)).not.toContain(g.id);
    const ev = await t.db.k.selectFrom('audit_events').selectAll().where('object_id', '=', g.id).where('action', '=', 'group.delete').executeTakeFirstOrThrow();
    expect(ev.before).toMatchObject({ displayName: g.displayName, members: [users[0]] });
  });

  it('bumps the version of a group whose member is deleted', async () => {
    const res = await s.post('/v2.0/Users', { schemas: [USER_SCHEMA], userName: `${uniqueName('leaver')}@example.com` });
    const leaver = res.json<{ id: string }>().id;
    const g = await create({ members: [{ value: leaver }, { value: users[0] }] });
    expect((await s.del(`/v2.0/Users/${leaver}`)).statusCode).toBe(204);
    const after = (await s.get(`/v2.0/Groups/${g.id}`)).json<Group>();
    expect(after.members!.map((m) => m.value)).toEqual([users[0]]);
    expect(after.meta.version).toBe('W/"2"');
  });

  describe('reserved groups', () => {
    it('are created, changed and deleted only by a client holding admin; others may read them', async () => {
      const denied = await s.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA], displayName: uniqueName('R'), [STEWARD_GROUP]: { kind: 'reserved' } });
      expect(denied.statusCode).toBe(403);
      expect(denied.json()).toMatchObject({ schemas: [ERROR], status: '403' });
      const g = await create({ [STEWARD_GROUP]: { kind: 'reserved', description: 'Break-glass admins' } }, admin);
      expect(g[STEWARD_GROUP]).toEqual({ kind: 'reserved', description: 'Break-glass admins' });
      expect((await s.get(`/v2.0/Groups/${g.id}`)).statusCode).toBe(200);
      expect((await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[0] }] }))).statusCode).toBe(403);
      expect((await s.put(`/v2.0/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: g.displayName })).statusCode).toBe(403);
      expect((await s.del(`/v2.0/Groups/${g.id}`)).statusCode).toBe(403);
      expect((await admin.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[0] }] }))).statusCode).toBe(204);
      // A PUT without the Steward extension keeps the group reserved.
      const put = await admin.put(`/v2.0/Groups/${g.id}`, { schemas: [GROUP_SCHEMA], displayName: g.displayName });
      expect(put.json()[STEWARD_GROUP]).toEqual({ kind: 'reserved', description: 'Break-glass admins' });
      expect((await admin.del(`/v2.0/Groups/${g.id}`)).statusCode).toBe(204);
    });

    it('cannot be made from a standard group without admin', async () => {
      const g = await create();
      const res = await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'replace', path: `${STEWARD_GROUP}:kind`, value: 'reserved' }));
      expect(res.statusCode).toBe(403);
      expect((await s.get(`/v2.0/Groups/${g.id}`)).json()[STEWARD_GROUP]).toEqual({ kind: 'standard' });
      const bad = await s.patch(`/v2.0/Groups/${g.id}`, patchOp({ op: 'replace', path: `${STEWARD_GROUP}:kind`, value: 'secret' }));
      expect(bad.statusCode).toBe(400);
      expect(bad.json().detail).toContain('kind');
    });
  });

  it('pages groups, each exactly once', async () => {
    const tag = uniqueName('pg');
    for (let i = 0; i < 7; i++) await create({ displayName: `${tag}-${i}` });
    const seen: string[] = [];
    for (let start = 1; start <= 7; start += 3) {
      const page = (await s.get(`/v2.0/Groups?filter=${q(`displayName sw "${tag}"`)}&startIndex=${start}&count=3&sortBy=displayName`)).json<{ totalResults: number; Resources: Group[] }>();
      expect(page.totalResults).toBe(7);
      seen.push(...page.Resources.map((g) => g.displayName));
    }
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `${tag}-${i}`));
  });

  describe('a 10,000-member group', () => {
    let big: string;
    let ids: string[];
    beforeAll(async () => {
      const tag = uniqueName('bulk');
      const rows = await sql<{ id: string }>`
        insert into identities (user_name, data)
        select ${tag} || '-' || n, jsonb_build_object('userName', ${tag} || '-' || n)
        from generate_series(1, 10000) as n
        returning id`.execute(t.db.k);
      ids = rows.rows.map((r) => r.id);
      const res = await s.post('/v2.0/Groups?excludedAttributes=members', { schemas: [GROUP_SCHEMA], displayName: uniqueName('Everyone'), members: ids.map((value) => ({ value })) });
      expect(res.statusCode, res.body.slice(0, 300)).toBe(201);
      big = res.json<Group>().id;
    });

    it('adds and removes one member without reading the others', async () => {
      let rowsRead = 0;
      const counting: KyselyPlugin = {
        transformQuery: (a) => a.node,
        transformResult: async (a) => {
          rowsRead += a.result.rows.length;
          return a.result;
        },
      };
      const k = t.db.k.withPlugin(counting);
      const db: Db = { ...t.db, k, tx: (fn) => k.transaction().execute(fn) };
      const groups = createGroupService(db);
      await groups.patch(SYSTEM_ACTOR, big, patchOp({ op: 'add', path: 'members', value: [{ value: users[0] }] }));
      await groups.patch(SYSTEM_ACTOR, big, patchOp({ op: 'remove', path: `members[value eq "${ids[5000]}"]` }));
      await groups.patch(SYSTEM_ACTOR, big, patchOp({ op: 'remove', path: 'members', value: [{ value: ids[42] }] }));
      expect(rowsRead).toBeLessThan(100);
      const n = await t.db.k.selectFrom('group_members').select((eb) => eb.fn.countAll<number>().as('n')).where('group_id', '=', big).executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(10_000 - 1);
      const members = (await s.get(`/v2.0/Groups/${big}`)).json<Group>().members!;
      expect(members).toHaveLength(9_999);
      expect(members.map((m) => m.value)).toContain(users[0]);
    });
  });
});
