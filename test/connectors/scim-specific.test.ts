/** What the `scim` kind does beyond the contract: PUT fallback, ETags, OAuth, Retry-After, schema discovery. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRequest, AttributeRequest } from '../../src/plan/model.ts';
import type { Connector } from '../../src/connectors/index.ts';
import { ConnectorError, scimKind } from '../../src/connectors/index.ts';
import { startScimServer } from '../support/scim-server.ts';
import type { ScimServer, ScimServerOptions } from '../support/scim-server.ts';

const TOKEN = 'specific-token-0123456789';
let server: ScimServer | undefined;
let connector: Connector | undefined;

afterEach(async () => {
  await connector?.close();
  await server?.close();
  connector = undefined;
  server = undefined;
});

async function setup(serverOptions: ScimServerOptions = {}, settings: Record<string, unknown> = {}, fetchSeam?: typeof fetch): Promise<{ s: ScimServer; c: Connector }> {
  server = await startScimServer({ token: TOKEN, ...serverOptions });
  connector = scimKind.create({ settings: { baseUrl: server.url, ...settings }, secrets: { token: TOKEN }, ...(fetchSeam ? { fetch: fetchSeam } : {}) });
  return { s: server, c: connector };
}

const modify = (id: string, ...attributeRequests: AttributeRequest[]): AccountRequest => ({ application: 'A', op: 'Modify', nativeIdentity: id, attributeRequests, permissionRequests: [] });
const create = (userName: string, ...attributeRequests: AttributeRequest[]): AccountRequest => ({ application: 'A', op: 'Create', nativeIdentity: userName, attributeRequests, permissionRequests: [] });

describe('scim: PATCH or PUT', () => {
  it('uses PUT for attribute and membership changes when the target says PATCH is unsupported', async () => {
    const { s, c } = await setup({ patch: false });
    const [id] = s.seedUsers(1);
    const g = s.seedGroup('Staff');
    s.clearRequests();
    const r = await c.apply(modify(id!, { name: 'title', op: 'Set', value: 'Engineer' }, { name: 'emails', op: 'Add', value: 'second@example.org' }, { name: 'groups', op: 'Add', value: g.id }));
    expect(r.status, JSON.stringify(r)).toBe('committed');
    const methods = s.requests().map((q) => q.method);
    expect(methods).not.toContain('PATCH');
    expect(methods.filter((m) => m === 'PUT')).toHaveLength(2);
    const u = s.users().find((x) => x.id === id)!;
    expect(u.title).toBe('Engineer');
    expect((u.emails as { value: string; type?: string }[]).map((e) => e.value)).toEqual(['user0@example.org', 'second@example.org']);
    // The kept email keeps its type: PUT rewrites only what changed.
    expect((u.emails as { type?: string }[])[0]!.type).toBe('work');
    expect(s.groups()[0]!.members.map((m) => m.value)).toEqual([id]);
  });

  it('uses PATCH when offered, one request for every attribute change', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    s.clearRequests();
    await c.apply(modify(id!, { name: 'title', op: 'Set', value: 'Engineer' }, { name: 'name.givenName', op: 'Set', value: 'Grace' }));
    expect(s.requests().filter((q) => q.method !== 'GET').map((q) => q.method)).toEqual(['PATCH']);
    expect(s.users()[0]!.name).toMatchObject({ givenName: 'Grace', familyName: 'Family0' });
  });
});

describe('scim: ETags', () => {
  it('sends If-Match, and re-reads once when another writer changed the user in between', async () => {
    let touched = false;
    const seam: typeof fetch = async (input, init) => {
      // Another writer changes the user just before our PATCH reaches the server.
      if (init?.method === 'PATCH' && !touched) {
        touched = true;
        server!.touchUser((input as string).split('/Users/')[1]!, { nickName: 'changed-elsewhere' });
      }
      return fetch(input, init);
    };
    const { s, c } = await setup({}, {}, seam);
    const [id] = s.seedUsers(1);
    const r = await c.apply(modify(id!, { name: 'title', op: 'Set', value: 'Engineer' }));
    expect(r.status).toBe('committed');
    const statuses = s.requests().filter((q) => q.method === 'PATCH').map((q) => q.status);
    expect(statuses).toEqual([412, 200]);
    const u = s.users()[0]!;
    expect(u).toMatchObject({ title: 'Engineer', nickName: 'changed-elsewhere' });
  });
});

describe('scim: OAuth 2.0 client credentials', () => {
  const oauth = { clientId: 'steward', clientSecret: 'client-secret-value-42' };

  it('fetches a token once and reuses it until it expires', async () => {
    server = await startScimServer({ token: TOKEN, oauth });
    connector = scimKind.create({
      settings: { baseUrl: server.url, auth: 'oauth2_client_credentials', tokenUrl: server.tokenUrl, clientId: oauth.clientId },
      secrets: { clientSecret: oauth.clientSecret },
    });
    server.seedUsers(3);
    for await (const _page of connector.listAccounts(null, { pageSize: 1 })) {
      // three pages, three calls
    }
    expect((await connector.test()).ok).toBe(true);
    expect(server.tokensIssued()).toBe(1);
  });

  it('fetches a new token when the target refuses the cached one', async () => {
    server = await startScimServer({ token: TOKEN, oauth });
    connector = scimKind.create({
      settings: { baseUrl: server.url, auth: 'oauth2_client_credentials', tokenUrl: server.tokenUrl, clientId: oauth.clientId, clientAuth: 'body' },
      secrets: { clientSecret: oauth.clientSecret },
    });
    const [id] = server.seedUsers(1);
    expect(await connector.getAccount(id!)).not.toBeNull();
    server.revokeTokens();
    expect(await connector.getAccount(id!)).not.toBeNull();
    expect(server.tokensIssued()).toBe(2);
  });

  it('says the client credentials were refused, without the secret', async () => {
    server = await startScimServer({ token: TOKEN, oauth });
    connector = scimKind.create({
      settings: { baseUrl: server.url, auth: 'oauth2_client_credentials', tokenUrl: server.tokenUrl, clientId: oauth.clientId },
      secrets: { clientSecret: 'wrong-secret-value-99' },
    });
    const r = await connector.test();
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/refused client 'steward'.*check clientId and clientSecret/);
    expect(r.message).not.toContain('wrong-secret-value-99');
    if (!r.ok) expect(r.errorKind).toBe('permanent');
  });
});

describe('scim: failures and Retry-After', () => {
  it('rides out two 503s within one call', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    s.failNext(503, 2);
    expect((await c.getAccount(id!))?.nativeIdentity).toBe(id);
  });

  it('waits a short Retry-After and succeeds', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    s.failNext(429, 1, 1);
    expect((await c.getAccount(id!))?.nativeIdentity).toBe(id);
    expect(s.requests().filter((q) => q.status === 429)).toHaveLength(1);
  });

  it('hands back a long Retry-After as rate_limited with the wait, given in seconds or as a date', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    s.failNext(429, 1, 90);
    const e1 = (await c.getAccount(id!).catch((e: unknown) => e)) as ConnectorError;
    expect(e1).toMatchObject({ kind: 'rate_limited', retryAfterMs: 90_000, status: 429 });
    s.failNext(429, 1, new Date(Date.now() + 120_000).toUTCString());
    const e2 = (await c.getAccount(id!).catch((e: unknown) => e)) as ConnectorError;
    expect(e2.kind).toBe('rate_limited');
    expect(e2.retryAfterMs).toBeGreaterThan(100_000);
  });

  it('reports a failure part-way through a Create so the rest can be retried as a Modify', async () => {
    const { s } = await setup({}, { retries: 0 });
    const g = s.seedGroup('Staff');
    let posted = false;
    const seamed = scimKind.create({
      settings: { baseUrl: s.url, retries: 0 },
      secrets: { token: TOKEN },
      fetch: async (input, init) => {
        // Fail the call after the user's POST: the group PATCH.
        if (posted && init?.method === 'PATCH') s.failNext(503, 1);
        if (init?.method === 'POST') posted = true;
        return fetch(input, init);
      },
    });
    const r = await seamed.apply(create('partial', { name: 'groups', op: 'Add', value: g.id }));
    await seamed.close();
    expect(r.status).toBe('failed');
    expect(r.accountStatus).toBe('committed');
    expect(r.nativeIdentity).toBe(s.user('partial')!.id);
    expect(r.requests[0]).toMatchObject({ name: 'groups', status: 'failed' });
    expect(r.error).toMatchObject({ kind: 'retryable', status: 503 });
  });

  it('never shows the bearer token in an error', async () => {
    server = await startScimServer({ token: TOKEN });
    connector = scimKind.create({ settings: { baseUrl: server.url }, secrets: { token: 'not-the-right-token-777' } });
    const r = await connector.test();
    expect(r.ok).toBe(false);
    expect(r.message).toContain('401');
    expect(r.message).toContain('check the token');
    expect(r.message).not.toContain('not-the-right-token-777');
  });

  it('says what is wrong with a baseUrl that is not the SCIM root', async () => {
    server = await startScimServer({ token: TOKEN });
    connector = scimKind.create({ settings: { baseUrl: server.url.replace('/scim/v2', '/nope') }, secrets: { token: TOKEN } });
    const r = await connector.test();
    expect(r.ok).toBe(false);
    expect(r.message).toBe(`GET /nope/Users?startIndex=1&count=1 → 404: Cannot GET /nope/Users — is baseUrl (${server.url.replace('/scim/v2', '/nope')}) the SCIM service root, the part before /Users?`);
  });
});

describe('scim: schema and attributes', () => {
  it('reads the schema from /Schemas, enterprise extension included', async () => {
    const { c } = await setup();
    const schema = await c.schema();
    const byName = new Map(schema.account.attributes.map((a) => [a.name, a]));
    expect(byName.get('userName')).toMatchObject({ type: 'string', multiValued: false, required: true });
    expect(byName.get('name.givenName')).toMatchObject({ type: 'string', multiValued: false });
    expect(byName.get('emails')).toMatchObject({ multiValued: true });
    expect(byName.get('department')).toMatchObject({ type: 'string', multiValued: false });
    expect(byName.get('groups')).toMatchObject({ entitlementKind: 'group', multiValued: true });
    expect(byName.get('roles')).toMatchObject({ entitlementKind: 'role' });
    expect(byName.has('active')).toBe(false);
    expect(schema.entitlementKinds).toEqual(['group', 'role']);
  });

  it('writes an extension attribute under its schema URN and reads it back by short name', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    expect((await c.apply(modify(id!, { name: 'department', op: 'Set', value: 'Research' }))).status).toBe('committed');
    const u = s.users()[0]!;
    expect(u['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toMatchObject({ department: 'Research' });
    expect((await c.getAccount(id!))!.attributes.department).toBe('Research');
  });

  it('sets a password (write-only, never read back)', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    const r = await c.apply(modify(id!, { name: 'password', op: 'Set', value: 'n3w-Passw0rd' }));
    expect(r.requests[0]).toMatchObject({ name: 'password', status: 'committed' });
    expect(s.passwordOf(id!)).toBe('n3w-Passw0rd');
    expect((await c.getAccount(id!))!.attributes.password).toBeUndefined();
    const created = await c.apply(create('withpw', { name: 'password', op: 'Set', value: 'f1rst-Passw0rd' }));
    expect(s.passwordOf(created.nativeIdentity!)).toBe('f1rst-Passw0rd');
  });

  it('accepts a group by displayName and resolves it to the Group id', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    const g = s.seedGroup('Engineering');
    expect((await c.apply(modify(id!, { name: 'groups', op: 'Add', value: 'Engineering' }))).status).toBe('committed');
    expect(s.groups().find((x) => x.id === g.id)!.members.map((m) => m.value)).toEqual([id]);
  });

  it('refuses unknown attributes, wrong types and unknown groups before changing anything', async () => {
    const { s, c } = await setup();
    const [id] = s.seedUsers(1);
    s.clearRequests();
    const e = (await c
      .apply(modify(id!, { name: 'shoeSize', op: 'Set', value: '42' }, { name: 'title', op: 'Set', value: ['a', 'b'] }))
      .catch((x: unknown) => x)) as ConnectorError;
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e.code).toBe('invalid_request');
    expect(e.problems.map((p) => p.field)).toEqual(['attributeRequests[0] (shoeSize)', 'attributeRequests[1] (title)']);
    const g = (await c.apply(modify(id!, { name: 'groups', op: 'Add', value: 'No Such Group' })).catch((x: unknown) => x)) as ConnectorError;
    expect(g.message).toContain("no SCIM Group has id or displayName 'No Such Group'");
    expect(s.requests().filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('can key accounts by userName instead of id', async () => {
    const { s, c } = await setup({}, { identityAttribute: 'userName' });
    const r = await c.apply(create('jeff', { name: 'emails', op: 'Set', value: 'jeff@example.org' }));
    expect(r.nativeIdentity).toBe('jeff');
    expect((await c.apply(modify('jeff', { name: 'title', op: 'Set', value: 'Hunter' }))).status).toBe('committed');
    expect(s.user('jeff')!.title).toBe('Hunter');
    expect((await c.getAccount('jeff'))!.nativeIdentity).toBe('jeff');
    expect(await c.getAccount('nobody')).toBeNull();
  });

  it('lists only the users the userFilter selects', async () => {
    const { s, c } = await setup({}, { userFilter: 'userName sw "keep"' });
    s.seedUsers(3, { prefix: 'keep' });
    s.seedUsers(4, { prefix: 'drop' });
    const names: string[] = [];
    for await (const page of c.listAccounts(null, { pageSize: 2 })) names.push(...page.items.map((a) => String(a.attributes.userName)));
    expect(names.sort()).toEqual(['keep0', 'keep1', 'keep2']);
  });

  it('refuses a cursor that is not a listing position', async () => {
    const { c } = await setup();
    const it = c.listAccounts('abc')[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
