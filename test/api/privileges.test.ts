// Walks every registered route: none answers without a token, and none answers a token
// that lacks the privilege the route declares.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVILEGES, type Privilege } from '../../src/domain/privileges.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

describe('every route checks its privilege', () => {
  let t: TestApp;
  const lacking = new Map<Privilege, string>();
  beforeAll(async () => {
    t = await createTestApp('pglite');
    for (const p of PRIVILEGES) {
      const others = PRIVILEGES.filter((q) => q !== p && q !== 'admin');
      lacking.set(p, await t.token(...others));
    }
  });
  afterAll(() => t?.close());

  const urlOf = (url: string) => url.replace(/:(\w+)/g, () => randomUUID());

  it('answers 401 without a token and 403 with a token lacking the privilege', async () => {
    const guarded = t.app.stewardRoutes.filter((r) => r.privilege !== 'public');
    expect(guarded.length).toBeGreaterThan(5);
    for (const r of guarded) {
      const url = urlOf(r.url);
      const none = await t.call(undefined, r.method, url, r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
      expect(none.statusCode, `${r.method} ${r.url} without a token`).toBe(401);
      const bad = await t.call('stw_aaaaaaaaaaaa_' + 'A'.repeat(43), r.method, url, r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
      expect(bad.statusCode, `${r.method} ${r.url} with an unknown token`).toBe(401);
      const privilege = r.privilege as Privilege;
      const res = await t.call(lacking.get(privilege), r.method, url, r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
      expect(res.statusCode, `${r.method} ${r.url} needs ${privilege}`).toBe(403);
      expect(res.json().error?.code ?? res.json().status).toBeTruthy();
    }
  });

  it('lets public routes through without a token', async () => {
    expect((await t.call(undefined, 'GET', '/health')).statusCode).toBe(200);
    expect((await t.call(undefined, 'GET', '/openapi.json')).statusCode).toBe(200);
  });
});
