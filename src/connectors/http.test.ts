import { describe, expect, it } from 'vitest';
import { ConnectorError } from './errors.ts';
import { createHttpClient } from './http.ts';

function fakeFetch(answers: (() => Response | Promise<Response>)[]): { fetch: typeof fetch; calls: () => number } {
  let i = 0;
  const f = (async () => {
    const a = answers[Math.min(i, answers.length - 1)]!;
    i++;
    return a();
  }) as unknown as typeof fetch;
  return { fetch: f, calls: () => i };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const refusedConnection = (): never => {
  throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
};

const noSleep = { sleep: async () => undefined };

describe('createHttpClient', () => {
  it('retries a 503 within the call and returns the later success', async () => {
    const f = fakeFetch([() => json(503, {}), () => json(200, { ok: 1 })]);
    const http = createHttpClient({ fetch: f.fetch, ...noSleep });
    const res = await http.request({ method: 'GET', url: 'http://t.example/x' });
    expect(res.body).toEqual({ ok: 1 });
    expect(f.calls()).toBe(2);
  });

  it('waits what Retry-After asks between in-call retries', async () => {
    const waits: number[] = [];
    const f = fakeFetch([() => json(429, {}, { 'retry-after': '2' }), () => json(200, {})]);
    const http = createHttpClient({ fetch: f.fetch, sleep: async (ms) => void waits.push(ms) });
    await http.request({ method: 'POST', url: 'http://t.example/x', json: {} });
    expect(waits).toEqual([2000]);
  });

  it('hands a long Retry-After to the caller as rate_limited instead of sleeping', async () => {
    const f = fakeFetch([() => json(429, { detail: 'slow down' }, { 'retry-after': '600' })]);
    const http = createHttpClient({ fetch: f.fetch, ...noSleep });
    const e = await http.request({ method: 'GET', url: 'http://t.example/x' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 600_000, targetMessage: 'slow down' });
    expect(f.calls()).toBe(1);
  });

  it('gives up after the configured retries with a retryable error', async () => {
    const f = fakeFetch([() => json(502, {})]);
    const http = createHttpClient({ fetch: f.fetch, retries: 2, ...noSleep });
    await expect(http.request({ method: 'GET', url: 'http://t.example/x' })).rejects.toMatchObject({ kind: 'retryable', code: 'unavailable', status: 502 });
    expect(f.calls()).toBe(3);
  });

  it('does not retry a POST after a broken connection (it may have been carried out)', async () => {
    const f = fakeFetch([refusedConnection, () => json(201, {})]);
    const http = createHttpClient({ fetch: f.fetch, ...noSleep });
    await expect(http.request({ method: 'POST', url: 'http://t.example:81/x', json: {} })).rejects.toMatchObject({ kind: 'retryable', code: 'unreachable' });
    expect(f.calls()).toBe(1);
  });

  it('says which address refused and what to check', async () => {
    const f = fakeFetch([refusedConnection]);
    const http = createHttpClient({ fetch: f.fetch, retries: 0 });
    await expect(http.request({ method: 'GET', url: 'http://127.0.0.1:3899/scim' })).rejects.toThrow(
      'could not connect to http://127.0.0.1:3899: ECONNREFUSED — is the server running and the port right?',
    );
  });

  it('classifies client errors as permanent with stable codes', async () => {
    for (const [status, code] of [[400, 'target_error'], [401, 'auth_failed'], [403, 'forbidden'], [404, 'not_found'], [409, 'conflict'], [412, 'precondition_failed']] as const) {
      const http = createHttpClient({ fetch: fakeFetch([() => json(status, {})]).fetch, ...noSleep });
      await expect(http.request({ method: 'GET', url: 'http://t.example/x' })).rejects.toMatchObject({ kind: 'permanent', code, status });
    }
  });

  it('times out a call that does not answer', async () => {
    const hang = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error));
      })) as unknown as typeof fetch;
    const http = createHttpClient({ fetch: hang, timeoutMs: 50, retries: 0 });
    await expect(http.request({ method: 'GET', url: 'http://t.example/x' })).rejects.toMatchObject({ kind: 'retryable', code: 'timeout' });
  });

  it('never puts a secret into a message', async () => {
    const f = fakeFetch([() => json(400, { detail: 'bad token s3cr3t-value' })]);
    const http = createHttpClient({ fetch: f.fetch, scrub: (t) => t.split('s3cr3t-value').join('***') });
    const e = (await http.request({ method: 'GET', url: 'http://t.example/x?key=s3cr3t-value' }).catch((x: unknown) => x)) as ConnectorError;
    expect(e.message).not.toContain('s3cr3t-value');
    expect(e.targetMessage).not.toContain('s3cr3t-value');
  });
});
