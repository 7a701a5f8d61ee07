// The token cache of the authenticator: a revocation in this process is refused at once,
// one made by another process (another service over the same database) within the TTL.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/api/auth.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createClientService } from '../../src/services/clients.ts';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';

describe.each(testDbKinds())('bearer token cache on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t?.close());

  const newClient = () => t.services.clients.create(SYSTEM_ACTOR, { name: uniqueName('cache'), privileges: ['read-audit'] });

  it('refuses a cached token at once when this process revokes its client, through the API', async () => {
    const { client, token } = await newClient();
    expect((await t.call(token, 'GET', '/v1.0/audit?limit=1')).statusCode).toBe(200);
    expect((await t.call(token, 'GET', '/v1.0/audit?limit=1')).statusCode).toBe(200); // now from the cache
    expect((await t.call(t.admin, 'DELETE', `/v1.0/clients/${client.id}`)).statusCode).toBe(200);
    const res = await t.call(token, 'GET', '/v1.0/audit?limit=1');
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('auth.invalid_token');
  });

  it('refuses a cached token at once when the client service of this process revokes it (no route involved)', async () => {
    let clock = 1_000_000;
    const auth = createAuthenticator(t.services.clients, undefined, { ttlMs: 60_000, now: () => clock });
    const { client, token } = await newClient();
    expect((await auth.authenticate(token))?.id).toBe(client.id);
    await t.services.clients.revoke(SYSTEM_ACTOR, client.id);
    clock += 1;
    expect(await auth.authenticate(token)).toBeUndefined();
  });

  it('answers `cached` without a lookup only for a token verified within the TTL and not revoked here', async () => {
    let clock = 2_000_000;
    const auth = createAuthenticator(t.services.clients, undefined, { ttlMs: 1_000, now: () => clock });
    const { client, token } = await newClient();
    expect(auth.cached(token)).toBeUndefined();
    expect((await auth.authenticate(token))?.id).toBe(client.id);
    expect(auth.cached(token)?.id).toBe(client.id);
    expect(auth.cached(`${token}x`)).toBeUndefined();
    clock += 1_000;
    expect(auth.cached(token)).toBeUndefined();
    expect((await auth.authenticate(token))?.id).toBe(client.id);
    await t.services.clients.revoke(SYSTEM_ACTOR, client.id);
    expect(auth.cached(token)).toBeUndefined();
  });

  it('keeps other clients cached when one is revoked', async () => {
    const auth = createAuthenticator(t.services.clients, undefined, { ttlMs: 60_000, now: () => 1 });
    const kept = await newClient();
    const gone = await newClient();
    expect(await auth.authenticate(kept.token)).toBeDefined();
    expect(await auth.authenticate(gone.token)).toBeDefined();
    // Revoke `kept` behind the cache's back (straight in the table): a cached entry is still used...
    await t.db.k.updateTable('api_clients').set({ revoked_at: new Date() }).where('id', '=', kept.client.id).execute();
    await t.services.clients.revoke(SYSTEM_ACTOR, gone.client.id);
    // ...so `kept` answering proves that revoking `gone` did not empty the whole cache.
    expect((await auth.authenticate(kept.token))?.id).toBe(kept.client.id);
    expect(await auth.authenticate(gone.token)).toBeUndefined();
  });

  it('refuses a token revoked by another process once the TTL has passed', async () => {
    let clock = 5_000_000;
    const ttlMs = 3_000;
    const auth = createAuthenticator(t.services.clients, undefined, { ttlMs, now: () => clock });
    // Another process: its own client service over the same database.
    const other = createClientService(t.db);
    const { client, token } = await newClient();
    expect((await auth.authenticate(token))?.id).toBe(client.id);
    await other.revoke(SYSTEM_ACTOR, client.id);
    clock += ttlMs - 1;
    expect((await auth.authenticate(token))?.id).toBe(client.id); // this process has not heard of it yet
    clock += 1;
    expect(await auth.authenticate(token)).toBeUndefined();
    clock += 10 * ttlMs;
    expect(await auth.authenticate(token)).toBeUndefined();
  });

  it('never caches an unknown token, nor a token that is a prefix match with a wrong secret', async () => {
    const auth = createAuthenticator(t.services.clients, undefined, { ttlMs: 60_000, now: () => 1 });
    const { token } = await newClient();
    const forged = token.slice(0, -8) + randomBytes(6).toString('base64url');
    expect(await auth.authenticate(forged)).toBeUndefined();
    expect(await auth.authenticate(`stw_${'x'.repeat(12)}_${'y'.repeat(43)}`)).toBeUndefined();
    expect(await auth.authenticate(token)).toBeDefined();
    expect(await auth.authenticate(forged)).toBeUndefined();
  });
});
