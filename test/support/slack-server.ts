/**
 * A loopback server following Slack's published Web API contract for the methods Steward
 * calls: `auth.test`, `chat.postMessage`, `conversations.open` and `conversations.history`
 * (with `include_all_metadata`, `oldest`, and cursor pagination through
 * `response_metadata.next_cursor`). Errors come as Slack sends them: HTTP 200 with
 * `{"ok":false,"error":"…"}` (not_authed, invalid_auth, channel_not_found, user_not_found,
 * no_text, invalid_blocks, invalid_metadata_format, invalid_cursor), and HTTP 429 with
 * Retry-After and `{"ok":false,"error":"ratelimited"}`.
 *
 * It also plays Slack's side of interactivity: `click` sends a `block_actions` callback for a
 * button of a recorded message, form-encoded as `payload=` JSON, signed with the signing
 * secret (`X-Slack-Signature: v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`), and records what
 * Steward posts back to the `response_url`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedMessage {
  channel: string;
  ts: string;
  text: string | undefined;
  blocks: Record<string, unknown>[] | undefined;
  metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
}

export interface InteractionOptions {
  /** Seconds since the epoch for X-Slack-Request-Timestamp; now by default. */
  timestamp?: number;
  /** Signs with this secret instead of the workspace's. */
  secret?: string;
  /** Sends this signature instead of the computed one. */
  signature?: string;
  /** Leaves the signature headers out. */
  unsigned?: boolean;
}

export interface SlackServer {
  /** The Web API base, as SlackSettings.apiUrl. */
  apiUrl: string;
  botToken: string;
  signingSecret: string;
  /** Users that exist (for conversations.open) and channels (for posting). */
  addUser(id: string): void;
  addChannel(id: string): void;
  messages(channel?: string): RecordedMessage[];
  /** Web API calls by method name. */
  calls(method?: string): { method: string; params: Record<string, unknown> }[];
  /** The next `count` calls fail: an HTTP status (429 carries Retry-After) or a Slack error in an ok:false body. */
  failNext(failure: { status: 429 | 500 | 503; retryAfter?: number } | { error: string }, count?: number): void;
  /** Adds `count` messages from someone else to a channel (history to page through). */
  seedHistory(channel: string, count: number): void;
  /** Sends an interaction callback as Slack does for a click on a button of a recorded message. */
  click(target: string, message: RecordedMessage, actionId: string, user: string, options?: InteractionOptions): Promise<Response>;
  /** Sends an arbitrary form body with Slack's signature headers. */
  sendSigned(target: string, body: string, options?: InteractionOptions): Promise<Response>;
  /** What was posted to response URLs. */
  responses(): Record<string, unknown>[];
  close(): Promise<void>;
}

const DM_PREFIX = 'D';

export async function startSlackServer(options: { botToken?: string; signingSecret?: string } = {}): Promise<SlackServer> {
  const botToken = options.botToken ?? `xoxb-${randomBytes(8).toString('hex')}`;
  const signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
  const users = new Set<string>();
  const channels = new Map<string, RecordedMessage[]>();
  const dms = new Map<string, string>();
  const failures: ({ status: number; retryAfter?: number } | { error: string })[] = [];
  const log: { method: string; params: Record<string, unknown> }[] = [];
  const responses: Record<string, unknown>[] = [];
  let tsSeq = 0;
  let base = '';

  const nextTs = (): string => `${Math.floor(Date.now() / 1000)}.${String(++tsSeq).padStart(6, '0')}`;
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const ok = (res: ServerResponse, body: Record<string, unknown> = {}) => send(res, 200, { ok: true, ...body });
  const err = (res: ServerResponse, error: string, extra: Record<string, unknown> = {}) => send(res, 200, { ok: false, error, ...extra });

  /** A user id is also a channel: Slack posts it to the app's direct message with that user. */
  const channelOf = (id: string): string | undefined => {
    if (channels.has(id)) return id;
    if (users.has(id)) {
      let dm = dms.get(id);
      if (!dm) {
        dm = `${DM_PREFIX}${id.slice(1)}`;
        dms.set(id, dm);
        channels.set(dm, []);
      }
      return dm;
    }
    return undefined;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', base);

    if (url.pathname.startsWith('/response/')) {
      try {
        responses.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        return send(res, 400, { ok: false, error: 'invalid_json' });
      }
      return send(res, 200, { ok: true });
    }
    if (!url.pathname.startsWith('/api/')) return send(res, 404, { ok: false, error: 'unknown_method' });
    const method = url.pathname.slice('/api/'.length);

    const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
    const type = req.headers['content-type'] ?? '';
    if (text !== '') {
      if (type.includes('application/json')) {
        try {
          Object.assign(params, JSON.parse(text) as Record<string, unknown>);
        } catch {
          return err(res, 'invalid_json');
        }
      } else Object.assign(params, Object.fromEntries(new URLSearchParams(text)));
    }
    log.push({ method, params });

    const fail = failures.shift();
    if (fail) {
      if ('error' in fail) return err(res, fail.error);
      if (fail.status === 429) return send(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fail.retryAfter ?? 1) });
      res.writeHead(fail.status, { 'content-type': 'text/html' });
      return void res.end(`<html><body>${fail.status} Service Unavailable</body></html>`);
    }

    // Slack reads the token from the Authorization header (or a `token` argument).
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : typeof params.token === 'string' ? params.token : undefined;
    if (token === undefined) return err(res, 'not_authed');
    if (token !== botToken) return err(res, 'invalid_auth');

    switch (method) {
      case 'auth.test':
        return ok(res, { url: 'https://steward-test.slack.com/', team: 'Steward Test', user: 'steward', team_id: 'T0TEST', user_id: 'U0BOT', bot_id: 'B0BOT' });
      case 'conversations.open': {
        const ids = (typeof params.users === 'string' ? params.users : '').split(',').filter(Boolean);
        if (ids.length !== 1) return err(res, ids.length === 0 ? 'users_list_not_supplied' : 'not_enough_users');
        if (!users.has(ids[0]!)) return err(res, 'user_not_found');
        return ok(res, { channel: { id: channelOf(ids[0]!) } });
      }
      case 'chat.postMessage': {
        const ch = typeof params.channel === 'string' ? channelOf(params.channel) : undefined;
        if (!ch) return err(res, 'channel_not_found');
        let blocks = params.blocks;
        if (typeof blocks === 'string') {
          try {
            blocks = JSON.parse(blocks) as unknown;
          } catch {
            return err(res, 'invalid_blocks_format');
          }
        }
        if (blocks !== undefined && (!Array.isArray(blocks) || blocks.some((b) => b === null || typeof b !== 'object' || typeof (b as { type?: unknown }).type !== 'string'))) {
          return err(res, 'invalid_blocks', { response_metadata: { messages: ['[ERROR] each block needs a type'] } });
        }
        const msgText = typeof params.text === 'string' && params.text !== '' ? params.text : undefined;
        if (msgText === undefined && blocks === undefined) return err(res, 'no_text');
        let metadata = params.metadata;
        if (typeof metadata === 'string') {
          try {
            metadata = JSON.parse(metadata) as unknown;
          } catch {
            return err(res, 'invalid_metadata_format');
          }
        }
        if (metadata !== undefined) {
          const m = metadata as { event_type?: unknown; event_payload?: unknown };
          if (typeof m?.event_type !== 'string' || m.event_payload === null || typeof m.event_payload !== 'object') return err(res, 'invalid_metadata_format');
        }
        const message: RecordedMessage = { channel: ch, ts: nextTs(), text: msgText, blocks: blocks as RecordedMessage['blocks'], metadata: metadata as RecordedMessage['metadata'] };
        channels.get(ch)!.push(message);
        return ok(res, { channel: ch, ts: message.ts, message: { type: 'message', text: msgText ?? '', bot_id: 'B0BOT', ts: message.ts, ...(blocks ? { blocks } : {}) } });
      }
      case 'conversations.history': {
        const ch = typeof params.channel === 'string' && channels.has(params.channel) ? params.channel : undefined;
        if (!ch) return err(res, 'channel_not_found');
        const limit = Math.min(999, Math.max(1, Number(params.limit ?? 100) || 100));
        let offset = 0;
        if (typeof params.cursor === 'string' && params.cursor !== '') {
          const m = /^bmV4dF9vZmZzZXQ6(.*)$/.exec(params.cursor);
          const decoded = Buffer.from(params.cursor, 'base64').toString('utf8');
          const n = /^next_offset:(\d+)$/.exec(decoded);
          if (!m || !n) return err(res, 'invalid_cursor');
          offset = Number(n[1]);
        }
        const oldest = typeof params.oldest === 'string' ? Number(params.oldest) : 0;
        const withMeta = params.include_all_metadata === 'true' || params.include_all_metadata === true;
        const all = channels
          .get(ch)!
          .filter((m) => Number(m.ts) > oldest)
          .slice()
          .reverse();
        const page = all.slice(offset, offset + limit).map((m) => ({ type: 'message', ts: m.ts, text: m.text ?? '', ...(m.blocks ? { blocks: m.blocks } : {}), ...(withMeta && m.metadata ? { metadata: m.metadata } : {}) }));
        const more = offset + limit < all.length;
        return ok(res, { messages: page, has_more: more, pin_count: 0, response_metadata: { next_cursor: more ? Buffer.from(`next_offset:${offset + limit}`).toString('base64') : '' } });
      }
      default:
        return err(res, 'unknown_method');
    }
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { ok: false, error: String(e) }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const sign = (ts: number, body: string, secret: string): string => `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;

  async function sendSigned(target: string, body: string, o: InteractionOptions = {}): Promise<Response> {
    const ts = o.timestamp ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (!o.unsigned) {
      headers['x-slack-request-timestamp'] = String(ts);
      headers['x-slack-signature'] = o.signature ?? sign(ts, body, o.secret ?? signingSecret);
    }
    return fetch(target, { method: 'POST', headers, body });
  }

  return {
    apiUrl: `${base}/api`,
    botToken,
    signingSecret,
    addUser: (id) => void users.add(id),
    addChannel: (id) => void channels.set(id, channels.get(id) ?? []),
    messages: (channel) => (channel === undefined ? [...channels.values()].flat() : (channels.get(channelOf(channel) ?? channel) ?? [])),
    calls: (method) => (method === undefined ? log : log.filter((c) => c.method === method)),
    failNext(failure, count = 1) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    seedHistory(channel, count) {
      const ch = channelOf(channel) ?? channel;
      if (!channels.has(ch)) channels.set(ch, []);
      for (let i = 0; i < count; i++) channels.get(ch)!.push({ channel: ch, ts: nextTs(), text: `chatter ${i}`, blocks: undefined, metadata: undefined });
    },
    async click(target, message, actionId, user, o = {}) {
      const actions = (message.blocks ?? []).filter((b) => b.type === 'actions');
      const block = actions.find((b) => (b.elements as { action_id?: string }[]).some((e) => e.action_id === actionId));
      if (!block) throw new Error(`message ${message.ts} has no button ${actionId}`);
      const button = (block.elements as Record<string, unknown>[]).find((e) => e.action_id === actionId)!;
      const payload = {
        type: 'block_actions',
        user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0TEST' },
        api_app_id: 'A0TEST',
        token: 'deprecated-verification-token',
        container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
        trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
        team: { id: 'T0TEST', domain: 'steward-test' },
        enterprise: null,
        is_enterprise_install: false,
        channel: { id: message.channel, name: 'directmessage' },
        message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks, bot_id: 'B0BOT' },
        state: { values: {} },
        response_url: `${base}/response/${randomBytes(6).toString('hex')}`,
        actions: [{ action_id: actionId, block_id: block.block_id, text: button.text, value: button.value, style: button.style, type: 'button', action_ts: `${Date.now() / 1000}` }],
      };
      return sendSigned(target, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), o);
    },
    sendSigned,
    responses: () => responses,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
