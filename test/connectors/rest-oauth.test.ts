/** The `rest` kind with OAuth 2.0 client credentials (RFC 6749 §4.4): a token endpoint on loopback that issues the API's bearer token. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restKind } from '../../src/connectors/index.ts';
import { restSettingsFor, startRestServer, type RestServer } from '../support/rest-server.ts';

const API_TOKEN = 'rest-oauth-issued-token-1';
const CLIENT_ID = 'steward-client';
const CLIENT_SECRET = 'client-secret-value-123';

describe('rest kind with OAuth 2.0 client credentials', () => {
  let api: RestServer;
  let tokenServer: Server;
  let tokenUrl: string;
  const grants: { auth: string | undefined; body: URLSearchParams }[] = [];

  beforeAll(async () => {
    api = await startRestServer({ token: API_TOKEN });
    api.seedUsers(3, 'oa');
    // The token endpoint: form-encoded grant, client authenticated by HTTP Basic or in the body; errors as RFC 6749 §5.2 says.
    tokenServer = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = new URLSearchParams(raw);
        grants.push({ auth: req.headers.authorization, body });
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const [id, secret] = basic ? Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent) : [body.get('client_id'), body.get('client_secret')];
        res.setHeader('content-type', 'application/json');
        if (body.get('grant_type') !== 'client_credentials') {
          res.statusCode = 400;
          return res.end(JSON.stringify({ error: 'unsupported_grant_type' }));
        }
        if (id !== CLIENT_ID || secret !== CLIENT_SECRET) {
          res.statusCode = 401;
          return res.end(JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }));
        }
        res.end(JSON.stringify({ access_token: API_TOKEN, token_type: 'Bearer', expires_in: 3600 }));
      });
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/oauth/token`;
  });
  afterAll(async () => {
    await api?.close();
    await new Promise((r) => tokenServer?.close(r));
  });

  const settings = (extra: Record<string, unknown> = {}) => ({ ...restSettingsFor(api.url, 'page'), auth: 'oauth2_client_credentials', tokenUrl, clientId: CLIENT_ID, retries: 0, ...extra });

  it('gets a token with the client credentials once, and lists accounts with it', async () => {
    grants.length = 0;
    const c = restKind.create({ settings: settings(), secrets: { clientSecret: CLIENT_SECRET } });
    const ids: string[] = [];
    for await (const p of c.listAccounts(null, { pageSize: 2 })) ids.push(...p.items.map((a) => a.nativeIdentity));
    expect(ids).toEqual(api.users().map((u) => u.id));
    expect(grants).toHaveLength(1);
    expect(grants[0]!.body.get('grant_type')).toBe('client_credentials');
    expect(api.requests().at(-1)!.headers.authorization).toBe(`Bearer ${API_TOKEN}`);
    await c.close();
  });

  it('a refused client secret is a permanent failure that names the token endpoint and hides the secret', async () => {
    const c = restKind.create({ settings: settings(), secrets: { clientSecret: 'wrong-secret-value-999' } });
    const r = await c.test();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errorKind).toBe('permanent');
    expect(r.message).not.toContain('wrong-secret-value-999');
    await c.close();
  });
});
