import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectorLimiter, type ConnectorLimiter } from '../../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createServices } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import { uniqueName, createTestApp, type TestApp } from '../support/app.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';
import { freePort } from '../support/free-port.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';

const TOKEN = 'diag-token-0123456789';

describe.each(testDbKinds())('application test and schema on %s', (kind) => {
  let t: TestApp;
  let scim: ScimServer;
  beforeAll(async () => {
    t = await createTestApp(kind);
    scim = await startScimServer({ token: TOKEN });
  });
  afterAll(async () => {
    await t?.close();
    await scim?.close();
  });

  async function app(settings: Record<string, unknown>, secrets: Record<string, string>, extra: Record<string, unknown> = {}): Promise<{ id: string; version: number }> {
    const res = await t.call(t.admin, 'POST', '/v1.0/applications', { name: uniqueName('diag'), connectorKind: 'scim', settings, secrets, ...extra });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string; version: number }>();
  }
  const test = (id: string, token = t.admin) => t.call(token, 'POST', `/v1.0/applications/${id}/test`);

  it('answers ok with what it found against a running target, and writes nothing', async () => {
    const a = await app({ baseUrl: scim.url, retries: 0 }, { token: TOKEN });
    const auditBefore = await t.db.k.selectFrom('audit_events').select('seq').execute();
    const res = await test(a.id);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ ok: boolean; message: string; durationMs: number }>();
    expect(body.ok).toBe(true);
    expect(body.message).toContain(scim.url);
    expect(body.durationMs).toBeGreaterThanOrEqual(0);
    expect((await t.call(t.admin, 'GET', `/v1.0/applications/${a.id}`)).json().version).toBe(a.version);
    expect((await t.db.k.selectFrom('audit_events').select('seq').execute()).length).toBe(auditBefore.length);
  });

  it('says what to check when the token is refused, and never shows the secret', async () => {
    const wrong = 'wrong-secret-token-987654';
    const a = await app({ baseUrl: scim.url, retries: 0 }, { token: wrong });
    const res = await test(a.id);
    expect(res.statusCode).toBe(200);
    const body = res.json<{ ok: boolean; message: string; errorKind: string }>();
    expect(body.ok).toBe(false);
    expect(body.errorKind).toBe('permanent');
    expect(body.message).toMatch(/401.*check the token/);
    expect(res.body).not.toContain(wrong);
  });

  it('names the address and the likely cause when nothing listens', async () => {
    const port = await freePort();
    const a = await app({ baseUrl: `http://127.0.0.1:${port}/scim/v2`, retries: 0 }, { token: TOKEN });
    const body = (await test(a.id)).json<{ ok: boolean; message: string; errorKind: string }>();
    expect(body).toMatchObject({ ok: false, errorKind: 'retryable' });
    expect(body.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*is the server running`));
  });

  it('merges the connector schema with the application schema, saying which is which', async () => {
    const a = await app({ baseUrl: scim.url, retries: 0 }, { token: TOKEN }, {
      accountSchema: { attributes: [{ name: 'title', type: 'string', multiValued: true }, { name: 'badgeColour', type: 'string', multiValued: false }] },
    });
    const res = await t.call(t.admin, 'GET', `/v1.0/applications/${a.id}/schema`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ connector: { account: { attributes: { name: string }[] } } | null; application: { attributes: unknown[] }; attributes: { name: string; source: string; conflict?: string; multiValued: boolean }[] }>();
    expect(body.connector?.account.attributes.map((x) => x.name)).toContain('userName');
    expect(body.application.attributes).toHaveLength(2);
    const by = new Map(body.attributes.map((x) => [x.name, x]));
    expect(by.get('userName')?.source).toBe('connector');
    expect(by.get('badgeColour')?.source).toBe('application');
    expect(by.get('title')).toMatchObject({ source: 'both', multiValued: true });
    expect(by.get('title')?.conflict).toMatch(/single-valued.*multi-valued/);
  });

  it('answers the application schema alone with the reason when the target cannot be read', async () => {
    const port = await freePort();
    const a = await app({ baseUrl: `http://127.0.0.1:${port}/scim/v2`, retries: 0 }, { token: TOKEN }, { accountSchema: { attributes: [{ name: 'mail', type: 'string', multiValued: false }] } });
    const body = (await t.call(t.admin, 'GET', `/v1.0/applications/${a.id}/schema`)).json<{ connector: unknown; connectorError: string; attributes: { name: string; source: string }[] }>();
    expect(body.connector).toBeNull();
    expect(body.connectorError).toMatch(/ECONNREFUSED/);
    expect(body.attributes).toEqual([expect.objectContaining({ name: 'mail', source: 'application' })]);
  });

  it('refuses to save a rest application whose template names an unknown placeholder, naming the operation and the placeholder', async () => {
    const res = await t.call(t.admin, 'POST', '/v1.0/applications', {
      name: uniqueName('rest'),
      connectorKind: 'rest',
      settings: {
        baseUrl: 'https://api.example.com',
        accountMapping: { nativeIdentity: 'id' },
        operations: { createUser: { method: 'POST', url: '/users/{{nativeIdentity}}', body: { login: '{{attributes.login}}', boss: '{{manager}}' } } },
      },
      secrets: { token: TOKEN },
    });
    expect(res.statusCode).toBe(400);
    const problems = res.json<{ error: { problems: { field: string; message: string }[] } }>().error.problems;
    expect(problems).toEqual([expect.objectContaining({ field: 'settings.operations.createUser.body.boss', message: expect.stringContaining("unknown placeholder '{{manager}}'") })]);
    expect(res.body).not.toContain(TOKEN);
  });

  it('answers 404 for an unknown application and 403 without manage-applications', async () => {
    const missing = await test('00000000-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('application.not_found');
    const a = await app({ baseUrl: scim.url }, { token: TOKEN });
    const weak = await t.token('manage-users-and-groups');
    expect((await test(a.id, weak)).statusCode).toBe(403);
    expect((await t.call(weak, 'GET', `/v1.0/applications/${a.id}/schema`)).statusCode).toBe(403);
  });
});

describe('application test timeout', () => {
  let hanging: Server;
  beforeAll(async () => {
    // Accepts connections and never answers.
    hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });

  it("runs under the application's concurrency limit, keyed by its id, with its maxConcurrency", async () => {
    const db = await createTestDb('pglite');
    try {
      const inner = createConnectorLimiter();
      const seen: { key: string; max: number | undefined }[] = [];
      const limiter: ConnectorLimiter = { run: (key, work, max) => (seen.push({ key, max }), inner.run(key, work, max)), stats: (k) => inner.stats(k) };
      const services = createServices({ db, secrets: createSecretBox(randomBytes(32)), limiter });
      const port = (hanging.address() as AddressInfo).port;
      const a = await services.applications.create(SYSTEM_ACTOR, { name: uniqueName('lim'), connectorKind: 'scim', settings: { baseUrl: `http://127.0.0.1:${port + 1}/scim/v2`, retries: 0, maxConcurrency: 2 }, secrets: { token: TOKEN } });
      await services.diagnostics.test(a.id);
      expect(seen).toEqual([{ key: a.id, max: 2 }]);
      expect(inner.stats(a.id)).toEqual({ running: 0, waiting: 0 });
    } finally {
      await db.close();
    }
  });

  it('gives up after the diagnostic timeout with a message a person can act on', async () => {
    const db = await createTestDb('pglite');
    try {
      const services = createServices({ db, secrets: createSecretBox(randomBytes(32)), diagnosticTimeoutMs: 300 });
      const port = (hanging.address() as AddressInfo).port;
      const a = await services.applications.create(SYSTEM_ACTOR, { name: uniqueName('hang'), connectorKind: 'scim', settings: { baseUrl: `http://127.0.0.1:${port}/scim/v2`, timeoutMs: 60_000, retries: 0 }, secrets: { token: TOKEN } });
      const r = await services.diagnostics.test(a.id);
      expect(r).toMatchObject({ ok: false, errorKind: 'retryable' });
      expect(r.message).toMatch(/no answer from the target within 300 ms/);
    } finally {
      await db.close();
    }
  });
});
