/** What the `gitlab` kind does beyond the contract: access levels, GitLab's error bodies, test() on a weak token, groups. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError, gitlabKind } from '../../src/connectors/index.ts';
import type { AccountRequest } from '../../src/plan/model.ts';
import { startGitlabServer } from '../support/gitlab-server.ts';
import type { GitlabServer } from '../support/gitlab-server.ts';

const ADMIN = 'glpat-specific-admin-0001';

describe('gitlab kind', () => {
  let server: GitlabServer;
  beforeAll(async () => {
    server = await startGitlabServer({ adminToken: ADMIN });
  });
  afterAll(() => server?.close());

  const connector = (settings: Record<string, unknown> = {}, token = ADMIN) => gitlabKind.create({ settings: { baseUrl: server.url, retries: 0, ...settings }, secrets: { token } });
  const create = (name: string, extra: AccountRequest['attributeRequests'] = []): AccountRequest => ({
    application: 'gl',
    op: 'Create',
    attributeRequests: [
      { name: 'username', op: 'Set', value: name },
      { name: 'name', op: 'Set', value: name },
      { name: 'email', op: 'Set', value: `${name}@example.org` },
      ...extra,
    ],
    permissionRequests: [],
  });

  it('adds group members with the configured access level, Developer (30) by default', async () => {
    const g = server.seedGroup('levels');
    const dev = await connector().apply(create('dev1', [{ name: 'groups', op: 'Add', value: g }]));
    expect(dev.status).toBe('committed');
    const maint = await connector({ accessLevel: 40 }).apply(create('maint1', [{ name: 'groups', op: 'Add', value: g }]));
    const group = server.groups().find((x) => String(x.id) === g)!;
    expect(group.members.get(Number(dev.nativeIdentity))).toBe(30);
    expect(group.members.get(Number(maint.nativeIdentity))).toBe(40);
    expect(() => connector({ accessLevel: 35 })).toThrow(/accessLevel/);
  });

  it("carries GitLab's own reason for a duplicate into the conflict", async () => {
    await connector().apply(create('twice'));
    const again = await connector().apply(create('twice'));
    expect(again.error).toMatchObject({ kind: 'permanent', code: 'conflict', status: 409 });
    expect(again.error?.message).toMatch(/username has already been taken/);
  });

  it('refuses a Create without the fields GitLab requires, before calling it', async () => {
    const before = server.requests().length;
    const e = await connector().apply({ application: 'gl', op: 'Create', attributeRequests: [{ name: 'username', op: 'Set', value: 'noemail' }], permissionRequests: [] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectorError);
    expect((e as ConnectorError).problems.map((p) => p.message)).toEqual([expect.stringContaining("'email'"), expect.stringContaining("'name'")]);
    expect(server.requests().length).toBe(before);
  });

  it('sends a reset link rather than a password when none is given, and confirms the email', async () => {
    await connector().apply(create('resetme'));
    const post = server.requests().filter((r) => r.method === 'POST' && r.url === '/api/v4/users').at(-1)!;
    expect(post.body).toMatchObject({ username: 'resetme', reset_password: true, skip_confirmation: true });
    expect(post.body).not.toHaveProperty('password');
  });

  it('test(): says a non-admin token cannot manage users, and a bad token is refused, without showing it', async () => {
    const weak = await connector({}, server.userToken).test();
    expect(weak).toMatchObject({ ok: false, errorKind: 'permanent' });
    expect(weak.message).toMatch(/@plain.*not an administrator/);
    const bad = await connector({}, 'glpat-wrong-token-9999').test();
    expect(bad).toMatchObject({ ok: false, errorKind: 'permanent' });
    expect(bad.message).toMatch(/401.*check that it is valid/);
    expect(bad.message).not.toContain('glpat-wrong-token-9999');
    const good = await connector().test();
    expect(good.ok).toBe(true);
    expect(good.message).toMatch(/@root \(administrator\)/);
  });

  it('blocks on Disable and unblocks on Enable through their own endpoints', async () => {
    const made = await connector().apply(create('blocky'));
    const id = made.nativeIdentity!;
    await connector().apply({ application: 'gl', op: 'Disable', nativeIdentity: id, attributeRequests: [], permissionRequests: [] });
    expect(server.requests().some((r) => r.method === 'POST' && r.url === `/api/v4/users/${id}/block`)).toBe(true);
    expect(server.users().find((u) => String(u.id) === id)!.state).toBe('blocked');
    await connector().apply({ application: 'gl', op: 'Enable', nativeIdentity: id, attributeRequests: [], permissionRequests: [] });
    expect(server.requests().some((r) => r.method === 'POST' && r.url === `/api/v4/users/${id}/unblock`)).toBe(true);
  });

  it('creates and deletes groups through the contract; deleting one that is gone is absent', async () => {
    const c = connector();
    const g = await c.createEntitlement!('group', { name: 'Made Here', description: 'by Steward', attributes: { path: 'made-here' } });
    expect(server.groups().find((x) => String(x.id) === g.nativeValue)).toMatchObject({ name: 'Made Here', path: 'made-here' });
    await expect(c.deleteEntitlement!('group', g.nativeValue)).resolves.toBe('deleted');
    expect(server.groups().some((x) => String(x.id) === g.nativeValue)).toBe(false);
    await expect(c.deleteEntitlement!('group', g.nativeValue)).resolves.toBe('absent');
  });

  it('derives a group path from the name, and reports a taken path as a permanent conflict', async () => {
    const c = connector();
    const g = await c.createEntitlement!('group', { name: 'Équipe Ops & Dev' });
    expect(server.groups().find((x) => String(x.id) === g.nativeValue)?.path).toBe('equipe-ops-dev');
    await expect(c.createEntitlement!('group', { name: 'Équipe Ops & Dev' })).rejects.toMatchObject({ kind: 'permanent', code: 'conflict' });
  });

  it('reads pages by x-next-page, asking at most 100 per page', async () => {
    server.seedUsers(5, 'pg');
    const from = server.requests().length;
    const pages = [];
    for await (const p of connector({ memberships: false }).listAccounts(null, { pageSize: 500 })) pages.push(p);
    const asked = server.requests().slice(from).filter((r) => r.method === 'GET' && r.url.startsWith('/api/v4/users?'));
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => new URL(r.url, server.url).searchParams.get('per_page') === '100')).toBe(true);
    expect(pages.flatMap((p) => p.items).length).toBe(server.users().length);
  });
});
