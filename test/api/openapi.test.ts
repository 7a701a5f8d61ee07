import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

describe('the API description', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('pglite');
  });
  afterAll(() => t?.close());

  it('is OpenAPI 3.1 covering every declared route with its privilege', async () => {
    const doc = (await t.call(undefined, 'GET', '/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const r of t.app.stewardRoutes) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[String(r.method).toLowerCase()];
      expect(op, `${r.method} ${r.url}`).toBeDefined();
      if (r.privilege !== 'public') {
        expect(op.security, `${r.method} ${r.url}`).toEqual([{ bearer: [] }]);
        expect(op.description).toContain(r.privilege);
      }
    }
  });

  it('is browsable at /docs', async () => {
    const page = await t.call(undefined, 'GET', '/docs/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('swagger');
    const js = await t.call(undefined, 'GET', '/docs/static/swagger-ui-bundle.js');
    expect(js.statusCode).toBe(200);
  });

  it('serves Prometheus metrics and health without a token', async () => {
    const series = async () => {
      const body = (await t.call(undefined, 'GET', '/metrics')).body;
      const value = (name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(body)?.[1] ?? 0);
      return {
        requests: value('steward_http_requests_total{method="GET",route="/v1.0/clients",status="200"}'),
        timed: value('steward_http_request_duration_seconds_count{method="GET",route="/v1.0/clients"}'),
      };
    };
    await t.call(t.admin, 'GET', '/v1.0/clients');
    const before = await series();
    expect(before.requests).toBeGreaterThan(0);
    await t.call(t.admin, 'GET', '/v1.0/clients');
    await t.call(t.admin, 'GET', '/v1.0/clients');
    expect(await series()).toEqual({ requests: before.requests + 2, timed: before.timed + 2 });
    expect((await t.call(undefined, 'GET', '/health')).json()).toEqual({ status: 'ok', database: 'pglite' });
  });
});
