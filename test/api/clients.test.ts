import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';

describe.each(testDbKinds())('API clients on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t?.close());

  it('creates a client whose token works once, lists it without secrets, and revokes it', async () => {
    const res = await t.call(t.admin, 'POST', '/v1.0/clients', { name: 'hr-feed', privileges: ['read-audit'] });
    expect(res.statusCode).toBe(201);
    const { client, token } = res.json();
    expect(token).toMatch(/^stw_[a-z0-9]{12}_/);
    expect(client).not.toHaveProperty('tokenHash');
    expect((await t.call(token, 'GET', '/v1.0/audit?limit=1')).statusCode).toBe(200);

    const list = await t.call(t.admin, 'GET', '/v1.0/clients?limit=1000');
    expect(JSON.stringify(list.json())).not.toContain(token.slice(17));
    expect(list.json().items.map((c: { name: string }) => c.name)).toContain('hr-feed');

    expect((await t.call(t.admin, 'DELETE', `/v1.0/clients/${client.id}`)).json().revokedAt).not.toBeNull();
    expect((await t.call(token, 'GET', '/v1.0/audit?limit=1')).statusCode).toBe(401);
  });

  it('refuses a duplicate name with 409 and an unknown privilege with 400 naming the field', async () => {
    await t.call(t.admin, 'POST', '/v1.0/clients', { name: 'dup', privileges: ['approve'] });
    const dup = await t.call(t.admin, 'POST', '/v1.0/clients', { name: 'dup', privileges: ['approve'] });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('client.duplicate_name');
    const bad = await t.call(t.admin, 'POST', '/v1.0/clients', { name: 'x', privileges: ['root'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.problems[0].field).toMatch(/^body\.privileges/);
  });

  it('rejects unknown fields with 400 naming them', async () => {
    const res = await t.call(t.admin, 'POST', '/v1.0/clients', { name: 'y', privileges: ['approve'], isRoot: true });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.problems).toContainEqual(expect.objectContaining({ field: 'body.isRoot', message: 'is not a known field' }));
  });

  it('rejects a wrong type in a JSON body instead of coercing it, while query text is coerced', async () => {
    const res = await t.call(t.admin, 'POST', '/v1.0/clients', { name: 42, privileges: ['approve'] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.problems).toContainEqual(expect.objectContaining({ field: 'body.name' }));
    expect((await t.call(t.admin, 'GET', '/v1.0/clients?limit=1')).statusCode).toBe(200);
    const badLimit = await t.call(t.admin, 'GET', '/v1.0/clients?limit=many');
    expect(badLimit.json().error.problems).toContainEqual(expect.objectContaining({ field: 'querystring.limit' }));
  });

  it('pages the client list with a stable order', async () => {
    for (let i = 0; i < 5; i++) await t.call(t.admin, 'POST', '/v1.0/clients', { name: `page-${i}`, privileges: ['approve'] });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.call(t.admin, 'GET', `/v1.0/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const body = res.json<{ items: { name: string }[]; nextCursor: string | null }>();
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((c) => c.name));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((n) => n.startsWith('page-'))).toHaveLength(5);
  });

  it('answers 413 to a body over the limit', async () => {
    const res = await t.call(t.admin, 'POST', '/v1.0/clients', { name: 'big', privileges: ['approve'], pad: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('request.too_large');
  });

  it('records client creation in the audit trail', async () => {
    const res = await t.call(t.admin, 'GET', '/v1.0/audit?objectType=client&limit=1000');
    expect(res.json().items.some((e: { action: string; after: { name: string } }) => e.action === 'client.create' && e.after.name === 'hr-feed')).toBe(true);
  });
});
