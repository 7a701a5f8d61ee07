// Webhook scripts against a loopback HTTP server (signatures checked as a receiver would),
// and the `none` and `sleep` scripts.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { noneRunner, sleepRunner } from '../../src/workflows/runners/basic.ts';
import { webhookRunner } from '../../src/workflows/runners/webhook.ts';
import { parseScriptType } from '../../src/workflows/script-types.ts';
import { uniqueName } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { freePort } from '../support/free-port.ts';
import { createRunnerFixture, type RunnerFixture } from './runner-fixtures.ts';

const APP = { id: 'a', connectorKind: 'rest', capabilities: [] };
const type = (t: string) => {
  const p = parseScriptType(t);
  if (!p.ok) throw new Error('bad type');
  return p.value;
};

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectorError) return e;
    throw e;
  }
  throw new Error('expected a ConnectorError');
}

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('webhook and sleep validation', () => {
  it('names each wrong field', () => {
    const p = webhookRunner.validate(type('hr_webhook_onboard'), { url: 'ftp://x', method: 'FETCH', headers: { 'Bad Header': 'x', 'X-Steward-Signature': 'forged', 'X-Ok': 5 }, sign: { secret: 'apiKey' }, timeoutSeconds: 900 }, 'm', APP);
    expect(p.map((x) => x.field).sort()).toEqual(['m.headers.Bad Header', 'm.headers.X-Ok', 'm.headers.X-Steward-Signature', 'm.method', 'm.sign.application', 'm.timeoutSeconds', 'm.url']);
    expect(webhookRunner.validate(type('hr_webhook_onboard'), {}, 'm', APP).map((x) => x.field)).toEqual(['m.url']);
    expect(webhookRunner.validate(type('hr_webhook_onboard'), { url: '{{application.url}}', body: { user: '{{identity.userName}}' } }, 'm', APP)).toEqual([]);
    expect(sleepRunner.validate(type('sleep'), {}, 'm', APP).map((x) => x.field)).toEqual(['m.seconds']);
    expect(sleepRunner.validate(type('sleep'), { seconds: 5, until: '2030-01-01T00:00:00Z' }, 'm', APP).map((x) => x.field)).toEqual(['m.seconds']);
    expect(sleepRunner.validate(type('sleep'), { seconds: -1 }, 'm', APP).map((x) => x.field)).toEqual(['m.seconds']);
    expect(sleepRunner.validate(type('sleep'), { until: 'next tuesday' }, 'm', APP).map((x) => x.field)).toEqual(['m.until']);
    expect(sleepRunner.validate(type('sleep'), { seconds: '{{request.delay}}' }, 'm', APP)).toEqual([]);
    expect(noneRunner.validate(type('none'), { anything: 1 }, 'm', APP).map((x) => x.field)).toEqual(['m.anything']);
  });
});

describe.each(testDbKinds())('webhook, none and sleep scripts on %s', (kind) => {
  let f: RunnerFixture;
  let server: Server;
  let base: string;
  const received: Received[] = [];
  const replies: { status: number; body?: string; headers?: Record<string, string> }[] = [];
  let signer: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const r = replies.shift() ?? { status: 200, body: '{"accepted":true}', headers: { 'content-type': 'application/json' } };
        res.writeHead(r.status, r.headers ?? {});
        res.end(r.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    f = await createRunnerFixture(kind);
    signer = uniqueName('HR hooks');
    await f.services.applications.create(SYSTEM_ACTOR, { name: signer, connectorKind: 'gitlab', settings: { baseUrl: base }, secrets: { token: 'whsec-signing-key-1' } });
  });
  afterAll(async () => {
    await f?.close();
    await new Promise((r) => server?.close(r));
  });

  it('posts the JSON body with an idempotency key and keeps the answer', async () => {
    const ctx = await f.script('hr_webhook_onboard', { url: `${base}/hooks/onboard?src=steward`, headers: { Authorization: 'Token public-ish' }, body: { user: 'bob', groups: ['a', 'b'] } });
    const out = await f.run(webhookRunner, ctx);
    const r = received.at(-1)!;
    expect([r.method, r.url]).toEqual(['POST', '/hooks/onboard?src=steward']);
    expect(JSON.parse(r.body)).toEqual({ user: 'bob', groups: ['a', 'b'] });
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers.authorization).toBe('Token public-ish');
    expect(r.headers['idempotency-key']).toBe(ctx.script.id);
    expect(r.headers['x-steward-signature']).toBeUndefined();
    expect(out).toEqual({ status: 'succeeded', output: { status: 200, body: { accepted: true } } });
  });

  it('signs with a key from an application secret, verifiable by the receiver', async () => {
    const ctx = await f.script('hr_webhook_offboard', { url: `${base}/off`, method: 'put', body: { user: 'bob' }, sign: { application: signer } });
    await f.run(webhookRunner, ctx);
    const r = received.at(-1)!;
    expect(r.method).toBe('PUT');
    const ts = String(r.headers['x-steward-timestamp']);
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
    const expected = `sha256=${createHmac('sha256', 'whsec-signing-key-1').update(`${ts}.${r.body}`).digest('hex')}`;
    expect(r.headers['x-steward-signature']).toBe(expected);
    const wrong = await rejection(f.run(webhookRunner, await f.script('hr_webhook_x', { url: `${base}/off`, sign: { application: signer, secret: 'apiKey' } })));
    expect(wrong.message).toBe(`metadata.sign.secret: application '${signer}' has no secret 'apiKey' (it has token)`);
  });

  it('sends no body on GET', async () => {
    await f.run(webhookRunner, await f.script('hr_webhook_ping', { url: `${base}/ping`, method: 'GET', body: { ignored: true } }));
    expect(received.at(-1)!.body).toBe('');
    expect(received.at(-1)!.headers['content-type']).toBeUndefined();
  });

  it('maps 429, 5xx, 4xx and network failures to error kinds', async () => {
    const ctx = await f.script('hr_webhook_onboard', { url: `${base}/x`, body: {} });
    replies.push({ status: 429, headers: { 'retry-after': '12' }, body: 'slow down' });
    const rl = await rejection(f.run(webhookRunner, ctx));
    expect([rl.kind, rl.retryAfterMs, rl.targetMessage]).toEqual(['rate_limited', 12_000, 'slow down']);
    replies.push({ status: 502, body: '<html><body><h1>Bad Gateway</h1></body></html>' });
    const bad = await rejection(f.run(webhookRunner, ctx));
    expect([bad.kind, bad.targetMessage]).toEqual(['retryable', 'Bad Gateway']);
    replies.push({ status: 422, body: '{"error":"unknown user"}', headers: { 'content-type': 'application/json' } });
    expect((await rejection(f.run(webhookRunner, ctx))).kind).toBe('permanent');
    replies.push({ status: 401 });
    expect((await rejection(f.run(webhookRunner, ctx))).code).toBe('auth_failed');
    const port = await freePort();
    const down = await rejection(f.run(webhookRunner, await f.script('hr_webhook_x', { url: `http://127.0.0.1:${port}/` })));
    expect([down.kind, down.code]).toEqual(['retryable', 'unreachable']);
    const notUrl = await rejection(f.run(webhookRunner, await f.script('hr_webhook_x', { url: 'not a url' })));
    expect([notUrl.kind, notUrl.message]).toEqual(['permanent', 'metadata.url: is not a URL once its placeholders are filled in']);
    const injected = await rejection(f.run(webhookRunner, await f.script('hr_webhook_x', { url: `${base}/`, headers: { 'X-A': 'a\r\nX-B: b' } })));
    expect(injected.message).toContain('metadata.headers.X-A');
  });

  it('none is skipped', async () => {
    expect(await f.run(noneRunner, await f.script('none', {}))).toEqual({ status: 'skipped' });
  });

  it('sleep answers later with its wake-up time, keeps it across early reruns, and ends once it has passed', async () => {
    const ctx = await f.script('sleep', { seconds: 3600 });
    const first = await f.run(sleepRunner, ctx);
    expect(first.status).toBe('later');
    const at = (first as { at: Date }).at;
    expect(Math.abs(at.getTime() - Date.now() - 3_600_000)).toBeLessThan(5_000);
    // The executor keeps the output on the script; an early rerun sleeps on to the same moment.
    await f.db.k.updateTable('action_flow_scripts').set({ output: JSON.stringify(first.output) }).where('id', '=', ctx.script.id).execute();
    const early = await f.run(sleepRunner, { ...ctx, now: () => new Date(Date.now() + 1_000_000) });
    expect((early as { at: Date }).at.getTime()).toBe(at.getTime());
    const late = await f.run(sleepRunner, { ...ctx, now: () => new Date(at.getTime() + 1) });
    expect(late).toEqual({ status: 'succeeded', output: { sleptUntil: at.toISOString() } });
    expect((await f.run(sleepRunner, await f.script('sleep', { until: '2001-01-01T00:00:00Z' }))).status).toBe('succeeded');
    const until = await f.run(sleepRunner, await f.script('sleep', { until: '2099-01-01T00:00:00Z' }));
    expect(until).toMatchObject({ status: 'later', at: new Date('2099-01-01T00:00:00Z') });
    const bad = await rejection(f.run(sleepRunner, await f.script('sleep', { seconds: 'soon' })));
    expect(bad.message).toContain('metadata.seconds');
  });
});
