/**
 * The HTTP helper shared by HTTP-based connector kinds: a timeout on every call, JSON in and
 * out, failures classified into ConnectorErrors (429 → rate_limited with Retry-After, 5xx and
 * network failures → retryable, other 4xx → permanent), and a few bounded in-call retries.
 * Longer waits belong to the durable job queue, so a Retry-After beyond `maxRetryDelayMs`
 * is thrown to the caller rather than slept through.
 */
import { ConnectorError, parseRetryAfter } from './errors.ts';
import type { ConnectorErrorCode, ConnectorErrorKind } from './errors.ts';
import type { ConnectorLogger } from './contract.ts';
import { describeNetworkError } from './network.ts';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_MAX_RETRY_DELAY_MS = 5_000;

export interface HttpClientOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** In-call retries of retryable and rate-limited failures (not counting the first try). */
  retries?: number;
  /** The longest wait between in-call retries; a longer Retry-After is returned to the caller. */
  maxRetryDelayMs?: number;
  /** Removes secrets from every message built from a URL or a target's body. */
  scrub?: (text: string) => string;
  /** Reads the target's own error text out of an error body (e.g. SCIM's `detail`). */
  errorText?: (body: unknown) => string | undefined;
  logger?: ConnectorLogger;
  /** Waits between retries; a seam for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON unless `form` is given. */
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** The JSON media type to send and accept (e.g. application/scim+json). */
  mediaType?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, the text otherwise, undefined when empty. */
  body: unknown;
}

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

function codeForStatus(status: number): { kind: ConnectorErrorKind; code: ConnectorErrorCode } {
  if (status === 429) return { kind: 'rate_limited', code: 'rate_limited' };
  if (status === 408) return { kind: 'retryable', code: 'timeout' };
  if (status >= 500) return { kind: 'retryable', code: 'unavailable' };
  if (status === 401) return { kind: 'permanent', code: 'auth_failed' };
  if (status === 403) return { kind: 'permanent', code: 'forbidden' };
  if (status === 404) return { kind: 'permanent', code: 'not_found' };
  if (status === 409) return { kind: 'permanent', code: 'conflict' };
  if (status === 412) return { kind: 'permanent', code: 'precondition_failed' };
  return { kind: 'permanent', code: 'target_error' };
}

/** A body as one line of text: an HTML error page loses its tags, whitespace collapses. */
export function plainText(body: string): string | undefined {
  const text = (/^\s*</.test(body) ? body.replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ') : body).replace(/\s+/g, ' ').trim();
  return text === '' ? undefined : text;
}

function defaultErrorText(body: unknown): string | undefined {
  if (typeof body === 'string') return plainText(body);
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  for (const k of ['detail', 'error_description', 'message', 'error', 'title']) {
    if (typeof b[k] === 'string' && b[k] !== '') return b[k];
  }
  return undefined;
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  const type = res.headers.get('content-type') ?? '';
  if (/json/i.test(type)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

export interface HttpClient {
  /** Sends one request (with bounded retries); resolves with any 2xx/3xx response, throws a classified ConnectorError otherwise. */
  request(req: HttpRequest): Promise<HttpResponse>;
}

/** Builds the client; every call has a timeout and every failure is a ConnectorError. */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const maxDelay = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  const scrub = options.scrub ?? ((t: string) => t);
  const errorText = options.errorText ?? defaultErrorText;
  const sleep = options.sleep ?? defaultSleep;

  async function once(req: HttpRequest): Promise<HttpResponse> {
    const mediaType = req.mediaType ?? 'application/json';
    const headers: Record<string, string> = { accept: `${mediaType}, application/json;q=0.9`, ...req.headers };
    let body: string | undefined;
    if (req.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    } else if (req.json !== undefined) {
      headers['content-type'] = mediaType;
      body = JSON.stringify(req.json);
    }
    let res: Response;
    try {
      res = await doFetch(req.url, { method: req.method, headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    } catch (e) {
      if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
        throw new ConnectorError('retryable', 'timeout', `${req.method} ${scrub(origin(req.url))}: no answer within ${timeoutMs} ms — is the server overloaded, or is timeoutMs too short?`, { cause: e });
      }
      const net = describeNetworkError(origin(req.url), e);
      const message = net?.message ?? `could not connect to ${origin(req.url)}: ${e instanceof Error ? e.message : String(e)}`;
      throw new ConnectorError(net?.permanent ? 'permanent' : 'retryable', 'unreachable', scrub(message), { cause: e });
    }
    let parsed: unknown;
    try {
      parsed = await readBody(res);
    } catch (e) {
      throw new ConnectorError('retryable', 'unreachable', scrub(`${req.method} ${origin(req.url)}: the connection broke while reading the answer`), { cause: e });
    }
    if (res.status < 400) return { status: res.status, headers: res.headers, body: parsed };

    const { kind, code } = codeForStatus(res.status);
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const raw = errorText(parsed);
    const targetMessage = raw === undefined ? undefined : plainText(raw);
    const cut = targetMessage === undefined ? undefined : scrub(targetMessage.slice(0, 500));
    const message = scrub(`${req.method} ${pathOf(req.url)} → ${res.status}${cut ? `: ${cut}` : ''}`);
    throw new ConnectorError(kind, code, message, {
      status: res.status,
      ...(cut === undefined ? {} : { targetMessage: cut }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }

  // 429 and 503 mean the target did not act, so any method may be retried; a timeout or a
  // broken connection may hide a change already made, so only idempotent methods are.
  function mayRetry(e: ConnectorError, method: string): boolean {
    if (e.kind === 'permanent') return false;
    if (e.status === 429 || e.status === 503) return true;
    return IDEMPOTENT.has(method);
  }

  return {
    async request(req) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await once(req);
        } catch (e) {
          if (!(e instanceof ConnectorError) || attempt >= retries || !mayRetry(e, req.method)) throw e;
          const backoff = Math.min(maxDelay, 100 * 2 ** attempt + Math.floor(Math.random() * 50));
          const wait = e.retryAfterMs ?? backoff;
          if (wait > maxDelay) throw e;
          options.logger?.debug({ method: req.method, path: scrub(pathOf(req.url)), status: e.status, attempt: attempt + 1, waitMs: wait }, 'retrying connector call');
          await sleep(wait);
        }
      }
    },
  };
}
