/**
 * `{provider}_webhook_{endpoint}`: one HTTP call to a URL the chain names, with a JSON body
 * built from placeholders. Optionally signed: metadata is stored in clear, so it never holds
 * the key; `sign.application` names a Steward application and `sign.secret` one of its
 * secret settings, which holds the key. The signature is HMAC-SHA256 over
 * `{timestamp}.{body}`, sent as `X-Steward-Signature: sha256={hex}` with
 * `X-Steward-Timestamp`, so the receiver can refuse old or replayed calls.
 *
 * A webhook cannot be asked whether an earlier attempt arrived, so every call carries
 * `Idempotency-Key` and `X-Steward-Delivery` (the script id, the same on every attempt):
 * receivers that keep seen keys act once.
 *
 * 429 → rate_limited (Retry-After honoured), 408 and 5xx and network failures → retryable,
 * other 4xx → permanent.
 */
import { createHmac } from 'node:crypto';
import { ConnectorError, parseRetryAfter, type ConnectorErrorCode } from '../../connectors/index.ts';
import type { Problem } from '../../domain/result.ts';
import { badMetadata, checkFields, needText, optNumber, optText, type FieldSpec } from './metadata.ts';
import type { RunnerDeps, ScriptRunner } from './types.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];
const DEFAULT_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 120;
/** Answers larger than this are not kept in the script's output. */
const MAX_KEPT_BODY = 16 * 1024;
export const SIGNATURE_HEADER = 'x-steward-signature';
export const TIMESTAMP_HEADER = 'x-steward-timestamp';

const FIELDS: Record<string, FieldSpec> = {
  url: { kind: 'string', required: true, about: 'the http(s) URL to call' },
  method: { kind: 'string' },
  headers: { kind: 'object' },
  body: { kind: 'json' },
  sign: { kind: 'object' },
  timeoutSeconds: { kind: 'id' },
};

/** Headers Steward sets itself; a chain may not replace them. */
const RESERVED_HEADERS = new Set(['content-length', 'host', 'idempotency-key', 'x-steward-delivery', SIGNATURE_HEADER, TIMESTAMP_HEADER]);

function validate(metadata: Record<string, unknown>, field: string): Problem[] {
  const problems = checkFields(metadata, field, FIELDS);
  const url = metadata.url;
  if (typeof url === 'string' && !url.startsWith('{{') && !/^https?:\/\//i.test(url)) problems.push({ code: 'metadata.invalid', field: `${field}.url`, message: 'must start with http:// or https://' });
  const method = metadata.method;
  if (typeof method === 'string' && !(METHODS as readonly string[]).includes(method.toUpperCase())) problems.push({ code: 'metadata.invalid', field: `${field}.method`, message: `must be one of ${METHODS.join(', ')}` });
  const headers = metadata.headers;
  if (headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    for (const [k, v] of Object.entries(headers)) {
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) problems.push({ code: 'metadata.invalid', field: `${field}.headers.${k}`, message: 'is not a valid header name' });
      else if (RESERVED_HEADERS.has(k.toLowerCase())) problems.push({ code: 'metadata.invalid', field: `${field}.headers.${k}`, message: 'is set by Steward itself' });
      else if (typeof v !== 'string') problems.push({ code: 'metadata.invalid', field: `${field}.headers.${k}`, message: 'must be a string' });
      else if (/[\r\n]/.test(v)) problems.push({ code: 'metadata.invalid', field: `${field}.headers.${k}`, message: 'must not contain line breaks' });
    }
  }
  const sign = metadata.sign;
  if (sign !== null && typeof sign === 'object' && !Array.isArray(sign)) {
    problems.push(...checkFields(sign as Record<string, unknown>, `${field}.sign`, { application: { kind: 'id', required: true, about: 'the application whose secret holds the signing key' }, secret: { kind: 'string', about: 'the name of that secret setting; optional when it has one secret' } }));
  }
  const t = metadata.timeoutSeconds;
  if (typeof t === 'number' && !(t > 0 && t <= MAX_TIMEOUT_SECONDS)) problems.push({ code: 'metadata.invalid', field: `${field}.timeoutSeconds`, message: `must be more than 0 and at most ${MAX_TIMEOUT_SECONDS}` });
  return problems;
}

/** The signing key named by `sign`, from the application's secrets. */
async function signingKey(deps: RunnerDeps, sign: Record<string, unknown>): Promise<string> {
  if (!deps.applicationConfig) throw new ConnectorError('permanent', 'invalid_settings', 'this process cannot read application secrets (RunnerDeps.applicationConfig is not wired)');
  const ref = needText(sign, 'application');
  const app = await deps.applicationConfig(ref);
  const names = Object.keys(app.secrets);
  const name = optText(sign, 'secret') ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) throw badMetadata('sign.secret', `application '${app.name}' has ${names.length === 0 ? 'no secrets' : `several secrets (${names.sort().join(', ')})`}; name the one holding the key`);
  const key = app.secrets[name];
  if (key === undefined) throw badMetadata('sign.secret', `application '${app.name}' has no secret '${name}'${names.length > 0 ? ` (it has ${names.sort().join(', ')})` : ''}`);
  return key;
}

/** The signature header value for `body` sent at `timestamp` (seconds). */
export const webhookSignature = (key: string, timestamp: number, body: string): string => `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;

function statusError(method: string, url: URL, status: number, text: string, retryAfter: string | null): ConnectorError {
  const said = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
  const message = `webhook ${method} ${url.origin}${url.pathname} → ${status}${said ? `: ${said}` : ''}`;
  const opts = { status, ...(said ? { targetMessage: said } : {}) };
  if (status === 429) {
    const ms = parseRetryAfter(retryAfter);
    return new ConnectorError('rate_limited', 'rate_limited', message, { ...opts, ...(ms === undefined ? {} : { retryAfterMs: ms }) });
  }
  if (status >= 500 || status === 408) return new ConnectorError('retryable', status === 408 ? 'timeout' : 'unavailable', message, opts);
  const code: ConnectorErrorCode = status === 401 ? 'auth_failed' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'target_error';
  return new ConnectorError('permanent', code, message, opts);
}

export const webhookRunner: ScriptRunner = {
  handles: (t) => t.family === 'webhook',
  validate: (_t, metadata, field) => validate(metadata, field),
  async run(ctx, deps) {
    const m = ctx.script.metadata;
    let url: URL;
    try {
      url = new URL(needText(m, 'url'));
    } catch (e) {
      if (e instanceof ConnectorError) throw e;
      throw badMetadata('url', 'is not a URL once its placeholders are filled in');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badMetadata('url', 'must be http or https');
    const method = (optText(m, 'method') ?? 'POST').toUpperCase() as Method;
    if (!METHODS.includes(method)) throw badMetadata('method', `must be one of ${METHODS.join(', ')}`);
    const timeoutMs = Math.min(MAX_TIMEOUT_SECONDS, optNumber(m, 'timeoutSeconds') ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    const body = m.body === undefined || m.body === null || method === 'GET' ? undefined : JSON.stringify(m.body);
    const headers: Record<string, string> = { accept: 'application/json, */*;q=0.5', 'user-agent': 'Steward-Webhook/1' };
    const given = m.headers;
    if (given !== undefined && given !== null) {
      if (typeof given !== 'object' || Array.isArray(given)) throw badMetadata('headers', 'must be an object');
      for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
        if (RESERVED_HEADERS.has(k.toLowerCase())) throw badMetadata(`headers.${k}`, 'is set by Steward itself');
        if (typeof v !== 'string' || /[\r\n]/.test(v)) throw badMetadata(`headers.${k}`, 'must be a string without line breaks');
        headers[k.toLowerCase()] = v;
      }
    }
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    headers['idempotency-key'] = ctx.script.id;
    headers['x-steward-delivery'] = ctx.script.id;
    const sign = m.sign;
    if (sign !== undefined && sign !== null) {
      if (typeof sign !== 'object' || Array.isArray(sign)) throw badMetadata('sign', 'must be an object');
      const key = await signingKey(deps, sign as Record<string, unknown>);
      const ts = Math.floor(ctx.now().getTime() / 1000);
      headers[TIMESTAMP_HEADER] = String(ts);
      headers[SIGNATURE_HEADER] = webhookSignature(key, ts, body ?? '');
    }
    let res: Response;
    try {
      res = await deps.fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new ConnectorError('retryable', timeout ? 'timeout' : 'unreachable', `webhook ${method} ${url.origin}${url.pathname}: ${timeout ? `no answer within ${timeoutMs / 1000} s` : 'could not connect'}`, { cause: e });
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 400) throw statusError(method, url, res.status, text, res.headers.get('retry-after'));
    let kept: unknown;
    if (text.length > 0 && text.length <= MAX_KEPT_BODY) {
      try {
        kept = /json/i.test(res.headers.get('content-type') ?? '') ? (JSON.parse(text) as unknown) : text;
      } catch {
        kept = text;
      }
    }
    return { status: 'succeeded', output: { status: res.status, ...(kept === undefined ? {} : { body: kept }) } };
  },
};
