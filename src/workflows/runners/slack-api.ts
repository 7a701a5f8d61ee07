/**
 * The few Slack Web API methods the Slack scripts call (chat.postMessage, conversations.open,
 * conversations.history), with Slack's failures classified: HTTP 429 with Retry-After →
 * rate_limited; HTTP 5xx and Slack's own transient errors → retryable; a body
 * `{"ok":false,"error":"channel_not_found"}` (sent with HTTP 200) → permanent, naming the error.
 */
import { ConnectorError, parseRetryAfter, type ConnectorErrorCode } from '../../connectors/index.ts';
import type { SlackSettings } from './types.ts';

/** The event type Steward's messages carry in their metadata, with the script or task id. */
export const SLACK_EVENT_TYPE = 'steward_script';

export interface SlackMessage {
  ts: string;
  text?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

export interface SlackApi {
  postMessage(body: Record<string, unknown>): Promise<{ channel: string; ts: string }>;
  /** The direct-message conversation with a user (a `D…` id). */
  openDirect(user: string): Promise<string>;
  /** The first message of `channel` since `oldest` whose metadata matches; pages through the history. */
  findByMetadata(channel: string, match: (payload: Record<string, unknown>) => boolean, oldest?: Date): Promise<SlackMessage | null>;
}

const TIMEOUT_MS = 15_000;
const MAX_HISTORY_PAGES = 20;

const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);
const AUTH = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission']);
const FORBIDDEN = new Set(['missing_scope', 'not_allowed_token_type', 'restricted_action', 'ekm_access_denied', 'access_denied', 'team_access_not_granted']);
const NOT_FOUND = new Set(['channel_not_found', 'user_not_found', 'users_not_found', 'not_in_channel', 'is_archived', 'user_disabled']);

function slackError(method: string, error: string, status: number, retryAfter: string | null, detail?: string): ConnectorError {
  const message = `Slack ${method}: ${error}${detail ? ` (${detail})` : ''}`;
  if (error === 'ratelimited' || error === 'rate_limited' || status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new ConnectorError('rate_limited', 'rate_limited', message, { status, targetMessage: error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
  if (status >= 500 || TRANSIENT.has(error)) return new ConnectorError('retryable', 'unavailable', message, { status, targetMessage: error });
  const code: ConnectorErrorCode = AUTH.has(error) ? 'auth_failed' : FORBIDDEN.has(error) ? 'forbidden' : NOT_FOUND.has(error) ? 'not_found' : 'target_error';
  return new ConnectorError('permanent', code, message, { status, targetMessage: error });
}

/** A client of the workspace in `settings`; every call has a timeout and every failure is a ConnectorError. */
export function createSlackApi(settings: SlackSettings, doFetch: typeof fetch): SlackApi {
  const base = settings.apiUrl.replace(/\/+$/, '');

  async function call(method: string, init: { json?: Record<string, unknown>; query?: Record<string, string> }): Promise<Record<string, unknown>> {
    const url = new URL(`${base}/${method}`);
    for (const [k, v] of Object.entries(init.query ?? {})) url.searchParams.set(k, v);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: init.json ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${settings.botToken}`, ...(init.json ? { 'content-type': 'application/json; charset=utf-8' } : {}) },
        ...(init.json ? { body: JSON.stringify(init.json) } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new ConnectorError('retryable', timeout ? 'timeout' : 'unreachable', `Slack ${method}: ${timeout ? `no answer within ${TIMEOUT_MS} ms` : `could not connect to ${url.origin}`}`, { cause: e });
    }
    const text = await res.text().catch(() => '');
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const retryAfter = res.headers.get('retry-after');
    if (res.status >= 400 || body === undefined || body.ok !== true) {
      const error = typeof body?.error === 'string' ? body.error : res.status >= 400 ? `HTTP ${res.status}` : 'invalid_response';
      const meta = body?.response_metadata as { messages?: unknown[] } | undefined;
      const detail = Array.isArray(meta?.messages) ? meta.messages.filter((m) => typeof m === 'string').join('; ').slice(0, 300) : undefined;
      throw slackError(method, error, res.status, retryAfter, detail);
    }
    return body;
  }

  return {
    async postMessage(body) {
      const r = await call('chat.postMessage', { json: body });
      return { channel: String(r.channel), ts: String(r.ts) };
    },
    async openDirect(user) {
      const r = await call('conversations.open', { json: { users: user } });
      const id = (r.channel as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') throw new ConnectorError('retryable', 'target_error', 'Slack conversations.open: the answer names no channel');
      return id;
    },
    async findByMetadata(channel, match, oldest) {
      let cursor = '';
      for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
        const query: Record<string, string> = { channel, include_all_metadata: 'true', limit: '200' };
        if (oldest) query.oldest = (oldest.getTime() / 1000).toFixed(6);
        if (cursor) query.cursor = cursor;
        const r = await call('conversations.history', { query });
        for (const m of (r.messages as SlackMessage[] | undefined) ?? []) {
          if (m.metadata?.event_type === SLACK_EVENT_TYPE && m.metadata.event_payload && match(m.metadata.event_payload)) return m;
        }
        cursor = (r.response_metadata as { next_cursor?: string } | undefined)?.next_cursor ?? '';
        if (!cursor || r.has_more === false) return null;
      }
      return null;
    },
  };
}

/** True for a user id (`U…`, `W…` in Enterprise Grid), which is sent to through a direct-message conversation. */
export const isSlackUserId = (id: string): boolean => /^[UW][A-Z0-9]{2,}$/.test(id);
