/**
 * The requester handed to @gitbeaker's resource classes, so that every GitLab call goes
 * through the shared HTTP helper: its timeout, its classification of failures, and
 * Retry-After honoured or handed back (gitbeaker's own requester retries 429 ten times
 * without reading Retry-After, and hides the status).
 */
import type { HttpClient } from '../http.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface RequestOptions {
  body?: unknown;
  searchParams?: string | Record<string, unknown>;
  sudo?: string | number;
}

export interface GitbeakerResponse {
  body: unknown;
  headers: Record<string, string>;
  status: number;
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function plainBody(body: unknown): Record<string, unknown> | undefined {
  if (body === undefined || body === null) return undefined;
  const entries: [string, unknown][] = body instanceof FormData ? [...body.entries()] : Object.entries(body as Record<string, unknown>);
  const out = Object.fromEntries(entries.filter(([, v]) => v !== undefined).map(([k, v]) => [snake(k), v]));
  return Object.keys(out).length === 0 ? undefined : out;
}

function queryOf(q: RequestOptions['searchParams']): URLSearchParams {
  if (q === undefined) return new URLSearchParams();
  if (typeof q === 'string') return new URLSearchParams(q);
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    out.set(snake(k), typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  }
  return out;
}

/** A gitbeaker `requesterFn` over `http`, authenticating with PRIVATE-TOKEN. */
export function gitlabRequesterFn(http: HttpClient, token: string) {
  return (service: { url: string }) => {
    const base = service.url.replace(/\/+$/, '');
    const make =
      (method: Method) =>
      async (endpoint: string, options: RequestOptions = {}): Promise<GitbeakerResponse> => {
        const url = new URL(`${base}/${endpoint.replace(/^\/+/, '')}`);
        for (const [k, v] of queryOf(options.searchParams)) url.searchParams.set(k, v);
        const json = method === 'GET' ? undefined : plainBody(options.body);
        const res = await http.request({ method, url: url.toString(), headers: { 'private-token': token }, ...(json === undefined ? {} : { json }) });
        return { body: res.status === 204 ? null : res.body, headers: Object.fromEntries(res.headers.entries()), status: res.status };
      };
    return { get: make('GET'), post: make('POST'), put: make('PUT'), patch: make('PATCH'), delete: make('DELETE') };
  };
}

/** GitLab's error text: `message` (a text, or field → problems), or `error`. */
export function gitlabErrorText(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' ? undefined : body.trim().slice(0, 500);
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as { message?: unknown; error?: unknown; error_description?: unknown };
  if (typeof b.message === 'string') return b.message;
  if (b.message !== null && typeof b.message === 'object') {
    return Object.entries(b.message as Record<string, unknown>)
      .map(([field, problems]) => `${field} ${Array.isArray(problems) ? problems.join(', ') : JSON.stringify(problems)}`)
      .join('; ');
  }
  if (typeof b.error_description === 'string') return b.error_description;
  if (typeof b.error === 'string') return b.error;
  return undefined;
}
