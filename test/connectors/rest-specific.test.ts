/** What the `rest` kind does beyond the contract: pagination styles, named endpoints, templates checked at save time, auth styles. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError, restKind } from '../../src/connectors/index.ts';
import type { RestConnector } from '../../src/connectors/index.ts';
import { restSettingsFor, startRestServer } from '../support/rest-server.ts';
import type { PaginationStyle, RestServer } from '../support/rest-server.ts';

const TOKEN = 'rest-specific-token-1';

describe('rest kind', () => {
  let server: RestServer;
  beforeAll(async () => {
    server = await startRestServer({ token: TOKEN });
    server.seedUsers(17, 'pg');
  });
  afterAll(() => server?.close());

  const connector = (settings: Record<string, unknown> = {}, style: PaginationStyle = 'page') =>
    restKind.create({ settings: { ...restSettingsFor(server.url, style), ...settings }, secrets: { token: TOKEN } }) as RestConnector;

  it.each(['page', 'offset', 'cursor', 'link'] as const)('lists every account once with %s pagination, and resumes from a cursor', async (style) => {
    server.style = style;
    const c = connector({}, style);
    const pages = [];
    for await (const p of c.listAccounts(null, { pageSize: 5 })) pages.push(p);
    const ids = pages.flatMap((p) => p.items.map((a) => a.nativeIdentity));
    expect(ids).toEqual(server.users().map((u) => u.id));
    expect(pages.at(-1)!.nextCursor).toBeNull();
    const rest = [];
    for await (const p of connector({}, style).listAccounts(pages[1]!.nextCursor, { pageSize: 5 })) rest.push(...p.items.map((a) => a.nativeIdentity));
    expect(rest).toEqual(ids.slice(10));
  });

  it('calls a named endpoint with its context: URL encoded, JSON body typed, header rendered, no secret in settings', async () => {
    const c = connector();
    const r = await c.callEndpoint('notify', { nativeIdentity: 'a/b"c', params: { hook: 'on board', groups: ['g1', 'g2'] } });
    expect(r.status).toBe(200);
    const last = server.requests().at(-1)!;
    expect(last.url).toBe('/api/hooks/on%20board');
    expect(last.body).toEqual({ user: 'a/b"c', groups: ['g1', 'g2'], source: `steward ${server.url}` });
    expect(last.headers['x-steward-user']).toBe('a/b"c');
    await expect(c.callEndpoint('nope')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining('notify') });
  });

  it('refuses an unknown placeholder when the settings are read, naming the operation and the placeholder', () => {
    const s = restSettingsFor(server.url, 'page');
    const ops = s.operations as Record<string, Record<string, unknown>>;
    const bad = { ...s, operations: { ...ops, createUser: { ...ops.createUser, body: { login: '{{attributes.login}}', boss: '{{manager}}' } } } };
    let err: unknown;
    try {
      restKind.create({ settings: bad, secrets: { token: TOKEN } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('invalid_settings');
    expect((err as ConnectorError).problems[0]).toMatchObject({ field: 'operations.createUser.body.boss', message: expect.stringContaining("'{{manager}}'") });
  });

  it('offers no secret to templates: {{settings.token}} renders nothing', async () => {
    const s = restSettingsFor(server.url, 'page');
    const c = restKind.create({ settings: { ...s, endpoints: { leak: { method: 'POST', url: '/api/hooks/x', body: { t: '{{settings.token}}' } } } }, secrets: { token: TOKEN } }) as RestConnector;
    await c.callEndpoint('leak');
    expect(server.requests().at(-1)!.body).toEqual({ t: null });
  });

  it('capabilities are the operations configured', () => {
    const s = restSettingsFor(server.url, 'page');
    const { createUser, listAccounts } = s.operations as Record<string, unknown>;
    const c = restKind.create({ settings: { ...s, operations: { createUser, listAccounts } }, secrets: { token: TOKEN } });
    expect(c.capabilities.operations).toEqual(['create_user']);
    expect(c.capabilities.deprovisioning).toEqual([]);
    expect(connector().capabilities.operations).toEqual(expect.arrayContaining(['create_user', 'set_attributes', 'delete_user', 'disable_user', 'enable_user', 'add_user_to_group', 'remove_user_from_group']));
  });

  it('sends an API key in a query parameter or header, and Basic credentials, as set', async () => {
    const s = restSettingsFor(server.url, 'page');
    const key = restKind.create({ settings: { ...s, auth: 'api_key', apiKeyIn: 'query', apiKeyName: 'key' }, secrets: { apiKey: 'k-123456' } });
    await key.test();
    expect(server.requests().at(-1)!.url).toContain('key=k-123456');
    const header = restKind.create({ settings: { ...s, auth: 'api_key', apiKeyName: 'X-Token' }, secrets: { apiKey: 'k-654321' } });
    await header.test();
    expect(server.requests().at(-1)!.headers['x-token']).toBe('k-654321');
    const basic = restKind.create({ settings: { ...s, auth: 'basic', username: 'ada' }, secrets: { password: 'pw-secret-1' } });
    const r = await basic.test();
    expect(server.requests().at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('ada:pw-secret-1').toString('base64')}`);
    // The server only takes the bearer token: the failure says what to check and hides the password.
    expect(r).toMatchObject({ ok: false, errorKind: 'permanent' });
    expect(r.message).toMatch(/401.*check the basic credentials/);
    expect(r.message).not.toContain('pw-secret-1');
  });

  it('refuses a next-page link to another origin, so credentials stay with baseUrl', async () => {
    const fake = async () => new Response(JSON.stringify({ data: [{ id: 'x1' }] }), { status: 200, headers: { 'content-type': 'application/json', link: '<https://evil.example/api/users?page=2>; rel="next"' } });
    const c = restKind.create({ settings: { ...restSettingsFor(server.url, 'link'), retries: 0 }, secrets: { token: TOKEN }, fetch: fake });
    const it = c.listAccounts(null, { pageSize: 1 })[Symbol.asyncIterator]();
    expect((await it.next()).value?.items).toHaveLength(1);
    await expect(it.next()).rejects.toThrow(/evil\.example.*credentials only to baseUrl/);
  });
});
