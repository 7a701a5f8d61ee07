// GET /v2.0/Users/{id} answers from memory what it read before, and never anything older
// than the database as it was when the request arrived: every kind of write, by this
// process or by another session, is seen by the next read.
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, patchOp, scimClient, type ScimClient, type ScimUser as User } from '../support/scim.ts';

describe.each(testDbKinds())('reads of one User from memory on %s', (kind) => {
  let t: TestApp;
  let s: ScimClient;
  beforeAll(async () => {
    t = await createTestApp(kind);
    s = scimClient(t, await t.token('manage-users-and-groups', 'manage-requests'));
  });
  afterAll(() => t?.close());

  const create = async (extra: Record<string, unknown> = {}): Promise<User> => {
    const res = await s.post('/v2.0/Users', { schemas: [USER_SCHEMA], userName: `${uniqueName('c')}@example.com`, displayName: uniqueName('Name'), ...extra });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const read = async (id: string, query = ''): Promise<User> => {
    const res = await s.get(`/v2.0/Users/${id}${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  /** Runs SQL on a session of its own (on PostgreSQL another connection, as another process would). */
  const elsewhere = async (text: string, params: unknown[]): Promise<void> => {
    if (kind === 'pglite') {
      await t.db.k.executeQuery(CompiledQuery.raw(text, params));
      return;
    }
    const c = new pg.Client({ connectionString: t.db.url });
    await c.connect();
    try {
      await c.query(text, params);
    } finally {
      await c.end();
    }
  };

  it('serves a second read of a User from memory: the same record, without a query', async () => {
    const u = await create();
    const first = await t.services.identities.get(u.id, { groups: true });
    expect(await t.services.identities.get(u.id, { groups: true })).toBe(first);
  });

  it('sees a write made outside Steward’s services at the next read', async () => {
    const u = await create({ title: 'Before' });
    expect((await read(u.id)).title).toBe('Before');
    await elsewhere(`update identities set title = $1, data = jsonb_set(data, '{title}', to_jsonb($1::text)), version = version + 1 where id = $2`, ['After', u.id]);
    const after = await read(u.id);
    expect(after.title).toBe('After');
    expect(after.meta.version).toBe('W/"2"');
  });

  it('sees PUT, PATCH and DELETE at once', async () => {
    const u = await create({ title: 'One' });
    await read(u.id);
    expect((await s.patch(`/v2.0/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'Two' }))).statusCode).toBe(200);
    expect((await read(u.id)).title).toBe('Two');
    expect((await s.put(`/v2.0/Users/${u.id}`, { schemas: [USER_SCHEMA], userName: u.userName, title: 'Three' })).statusCode).toBe(200);
    expect((await read(u.id)).title).toBe('Three');
    expect((await s.del(`/v2.0/Users/${u.id}`)).statusCode).toBe(204);
    expect((await s.get(`/v2.0/Users/${u.id}`)).statusCode).toBe(404);
  });

  it('shows a manager’s new name on each report at once', async () => {
    const boss = await create({ displayName: 'Old Boss' });
    const report = await create({ [ENTERPRISE]: { manager: { value: boss.id } } });
    expect((await read(report.id))[ENTERPRISE]).toMatchObject({ manager: { value: boss.id, displayName: 'Old Boss' } });
    expect((await s.patch(`/v2.0/Users/${boss.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'New Boss' }))).statusCode).toBe(200);
    expect((await read(report.id))[ENTERPRISE]).toMatchObject({ manager: { value: boss.id, displayName: 'New Boss' } });
  });

  it('shows groups joined, renamed and left at once', async () => {
    const u = await create();
    expect((await read(u.id, '?attributes=groups')).groups ?? []).toEqual([]);
    const g = await s.post('/v2.0/Groups', { schemas: [GROUP_SCHEMA], displayName: uniqueName('Team'), members: [{ value: u.id }] });
    expect(g.statusCode, g.body).toBe(201);
    const group = g.json<{ id: string; displayName: string }>();
    expect((await read(u.id, '?attributes=groups')).groups).toEqual([expect.objectContaining({ value: group.id, display: group.displayName })]);
    const newName = uniqueName('Renamed');
    expect([200, 204]).toContain((await s.patch(`/v2.0/Groups/${group.id}`, patchOp({ op: 'replace', path: 'displayName', value: newName }))).statusCode);
    expect((await read(u.id, '?attributes=groups')).groups).toEqual([expect.objectContaining({ value: group.id, display: newName })]);
    expect((await s.del(`/v2.0/Groups/${group.id}`)).statusCode).toBe(204);
    expect((await read(u.id, '?attributes=groups')).groups ?? []).toEqual([]);
  });

  it('sees a CSV re-import’s changes at once', async () => {
    const hr = await t.token('manage-users-and-groups');
    const userName = `${uniqueName('hr')}@example.com`;
    const post = (title: string) => t.call(hr, 'POST', '/v2.0/CSV/importUsers', `userName,title\n${userName},${title}\n`, { 'content-type': 'text/csv' });
    expect((await post('Clerk')).statusCode).toBe(200);
    const id = (await s.get(`/v2.0/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).json<{ Resources: User[] }>().Resources[0]!.id;
    expect((await read(id)).title).toBe('Clerk');
    expect((await post('Manager')).statusCode).toBe(200);
    expect((await read(id)).title).toBe('Manager');
  });

  if (kind === 'postgres') {
    it('stays correct while the change feed’s connection is down and after it is back', async () => {
      const u = await create({ title: 'Up' });
      await read(u.id);
      const admin = new pg.Client({ connectionString: t.db.url });
      await admin.connect();
      const killed = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'steward change feed' and pid <> pg_backend_pid()`);
      await admin.end();
      expect(killed.rowCount).toBe(1);
      await elsewhere(`update identities set title = $1, data = jsonb_set(data, '{title}', to_jsonb($1::text)) where id = $2`, ['Down', u.id]);
      expect((await read(u.id)).title).toBe('Down');
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await read(u.id)).title).toBe('Down');
      await elsewhere(`update identities set title = $1, data = jsonb_set(data, '{title}', to_jsonb($1::text)) where id = $2`, ['Back', u.id]);
      expect((await read(u.id)).title).toBe('Back');
    });
  }
});
