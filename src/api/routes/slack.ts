/**
 * `POST /v1.0/slack/interactions`: Slack calls it when someone presses Approve or Deny on a
 * prompt Steward posted. It carries no bearer token; Slack's request signature stands in
 * for one: `X-Slack-Signature` must be `v0=` HMAC-SHA256 of `v0:{timestamp}:{raw body}`
 * under the signing secret (compared in constant time), the timestamp at most five minutes
 * off, and the signature never seen before (kept in `slack_replays`). Then the button's
 * token is used once and the decision goes to the DecisionSink; what happened is posted
 * back to the message's response_url, replacing the buttons.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { StewardError } from '../../domain/errors.ts';
import type { Db } from '../../store/db.ts';
import { takeDecision, type DecisionOutcome } from '../../workflows/decide.ts';
import type { Decision } from '../../workflows/decisions.ts';
import { APPROVE_ACTION, DENY_ACTION } from '../../workflows/runners/slack.ts';
import type { RouteSpec } from '../route.ts';
import type { CallbackRouteDeps } from './callback-deps.ts';
import { rawBodyOf } from './form-body.ts';

/** How far a request's timestamp may be from now. */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;
/** How long a seen signature is kept: beyond the skew window it can no longer pass the timestamp check. */
const REPLAY_KEEP_MS = 2 * SLACK_MAX_SKEW_SECONDS * 1000;
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

const unauthorized = (why: string) => new StewardError('slack.unauthorized', `not a valid Slack request: ${why}`);

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Checks Slack's signature of `body` (v0 scheme): throws `slack.unauthorized` saying what
 * is wrong. Pure; the replay check is apart.
 */
export function verifySlackSignature(secret: string, timestamp: string | undefined, signature: string | undefined, body: string, now: Date): void {
  if (timestamp === undefined || signature === undefined) throw unauthorized('the X-Slack-Request-Timestamp and X-Slack-Signature headers are required');
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized('X-Slack-Request-Timestamp must be seconds since the epoch');
  const skew = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (skew > SLACK_MAX_SKEW_SECONDS) throw unauthorized(`the request timestamp is ${Math.round(skew)} s away from the server's clock (at most ${SLACK_MAX_SKEW_SECONDS} s): an old request, or a clock out of sync`);
  if (!SIGNATURE.test(signature)) throw unauthorized('X-Slack-Signature must be v0= and 64 hex digits');
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`, 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized('the signature does not match the body (wrong signing secret, or the body was changed)');
}

/** Records a signature; false when it was seen before (a replay). Forgets signatures past the skew window. */
export async function recordSlackSignature(db: Db, signature: string, now: Date): Promise<boolean> {
  await db.k.deleteFrom('slack_replays').where('seen_at', '<', new Date(now.getTime() - REPLAY_KEEP_MS)).execute();
  const row = await db.k.insertInto('slack_replays').values({ signature, seen_at: now }).onConflict((oc) => oc.column('signature').doNothing()).returning(['signature']).executeTakeFirst();
  return row !== undefined;
}

interface BlockActionsPayload {
  type?: unknown;
  user?: { id?: unknown };
  response_url?: unknown;
  actions?: { action_id?: unknown; value?: unknown }[];
}

function outcomeText(o: DecisionOutcome, decision: Decision, user: string): string {
  if (o.ok) return `${decision === 'approve' ? ':white_check_mark: Approved' : ':no_entry: Denied'} by <@${user}>.`;
  switch (o.reason) {
    case 'used':
      return `This was decided already${o.token?.decision ? ` (${o.token.decision === 'approve' ? 'approved' : 'denied'})` : ''}; nothing changed.`;
    case 'expired':
      return 'This prompt has expired; nothing changed. Decide in Steward instead.';
    case 'not_found':
      return 'This prompt is no longer known to Steward; nothing changed.';
    case 'refused':
      return `Steward could not record the decision: ${o.error?.message ?? 'refused'}.`;
  }
}

export function slackRoutes(deps: CallbackRouteDeps): RouteSpec[] {
  const slack = deps.slack;
  if (!slack) return [];
  const now = deps.now ?? (() => new Date());
  const doFetch = deps.fetch ?? globalThis.fetch;

  // Best effort, after the decision is recorded: a failure here changes nothing but the message.
  function respond(url: unknown, body: Record<string, unknown>): void {
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return;
    void doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) })
      .then((r) => {
        if (!r.ok) deps.log?.warn({ status: r.status }, 'Slack response_url refused the update');
      })
      .catch((e: unknown) => deps.log?.warn({ error: e instanceof Error ? e.message : String(e) }, 'could not post to Slack response_url'));
  }

  return [
    {
      method: 'POST',
      url: '/v1.0/slack/interactions',
      privilege: 'public',
      summary: 'Slack interaction callback (Approve/Deny buttons)',
      tags: ['workflows'],
      schema: {
        description: 'Called by Slack, not by API clients: authenticated by Slack\'s request signature (X-Slack-Signature, X-Slack-Request-Timestamp), not by a bearer token. Body: application/x-www-form-urlencoded with a `payload` field holding the block_actions JSON.',
        consumes: ['application/x-www-form-urlencoded'],
      },
      bodyLimit: 256 * 1024,
      handler: async (req, reply) => {
        const at = now();
        const raw = rawBodyOf(req);
        if (raw === undefined) throw unauthorized('the body must be application/x-www-form-urlencoded, as Slack sends it');
        const signature = header(req, 'x-slack-signature');
        verifySlackSignature(slack.signingSecret, header(req, 'x-slack-request-timestamp'), signature, raw, at);
        if (!(await recordSlackSignature(deps.db, signature!, at))) throw unauthorized('this request was received before (a replay)');

        const fields = req.body as Record<string, string>;
        let payload: BlockActionsPayload;
        try {
          payload = JSON.parse(fields.payload ?? '') as BlockActionsPayload;
        } catch {
          throw new StewardError('request.invalid', 'body.payload: must be the interaction payload as JSON', { problems: [{ code: 'request.invalid', field: 'body.payload', message: 'is not JSON' }] });
        }
        // Other interactions (shortcuts, view submissions) are not Steward's: acknowledged, ignored.
        if (payload === null || typeof payload !== 'object' || payload.type !== 'block_actions' || !Array.isArray(payload.actions)) return reply.status(200).send('');
        const action = payload.actions.find((a) => a !== null && typeof a === 'object' && (a.action_id === APPROVE_ACTION || a.action_id === DENY_ACTION));
        const user = typeof payload.user?.id === 'string' ? payload.user.id : undefined;
        if (!action || typeof action.value !== 'string' || user === undefined) return reply.status(200).send('');
        const decision: Decision = action.action_id === APPROVE_ACTION ? 'approve' : 'deny';
        const cut = action.value.lastIndexOf(':');
        const token = cut > 0 ? action.value.slice(0, cut) : action.value;
        const meantFor = cut > 0 ? action.value.slice(cut + 1) : undefined;
        if (meantFor !== undefined && meantFor !== user) {
          respond(payload.response_url, { response_type: 'ephemeral', replace_original: false, text: `This decision is <@${meantFor}>'s to take; nothing changed.` });
          return reply.status(200).send('');
        }
        const outcome = await takeDecision(deps.db, deps.sink, { token, decision, channel: 'slack', via: `slack:${user}`, now: at });
        respond(payload.response_url, { replace_original: true, text: outcomeText(outcome, decision, user) });
        return reply.status(200).send('');
      },
    },
  ];
}
