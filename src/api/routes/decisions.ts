/**
 * The pages behind email decision links. `GET /v1.0/decisions/{token}` only shows what is
 * asked and a form: mail scanners and link previews follow links, so a GET never decides.
 * `POST /v1.0/decisions/{token}` (the form) uses the token once and hands the decision to
 * the DecisionSink. Unknown, used and expired tokens get a page that says so (404, 410).
 * No bearer token: the token in the link is the credential, so pages are never cached,
 * never framed, and send no Referer.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { findDecisionToken, type DecisionTokenInfo } from '../../workflows/decision-tokens.ts';
import { takeDecision, type DecisionOutcome } from '../../workflows/decide.ts';
import { DECISIONS, type Decision } from '../../workflows/decisions.ts';
import type { Db } from '../../store/db.ts';
import { toRouteOptions, type RouteSpec } from '../route.ts';
import type { CallbackRouteDeps } from './callback-deps.ts';
import { registerFormParser } from './form-body.ts';
import { slackRoutes } from './slack.ts';

const MAX_COMMENT = 2000;

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .status(status)
    .headers({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      'x-robots-tag': 'noindex',
    })
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="robots" content="noindex"><title>${esc(title)} · Steward</title>` +
        `<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}button{font-size:1em;padding:.5em 1.2em;margin-right:.5em}.approve{background:#1a7f37;color:#fff}.deny{background:#cf222e;color:#fff}textarea{width:100%}</style>` +
        `</head><body><h1>${esc(title)}</h1>${body}</body></html>`,
    );
}

/** A line or two saying what the token decides, from the request or the flow behind it. */
async function describe(db: Db, t: DecisionTokenInfo): Promise<string> {
  if (t.taskId !== null) {
    const r = await db.k
      .selectFrom('approval_tasks as t')
      .innerJoin('approval_flows as f', 'f.id', 't.flow_id')
      .innerJoin('access_requests as r', 'r.id', 'f.request_id')
      .innerJoin('identities as b', 'b.id', 'r.beneficiary_id')
      .innerJoin('applications as a', 'a.id', 'r.application_id')
      .leftJoin('entitlements as e', 'e.id', 'r.entitlement_id')
      .select(['b.display_name', 'b.user_name', 'a.name as application', 'e.name as entitlement', 'r.justification', 'r.requested_by'])
      .where('t.id', '=', t.taskId)
      .executeTakeFirst();
    if (!r) return '<p>An access request.</p>';
    const target = r.entitlement ? `${r.entitlement} in ${r.application}` : `an account in ${r.application}`;
    return `<p><strong>${esc(r.display_name ?? r.user_name)}</strong> asks for <strong>${esc(target)}</strong>.</p><p>Justification: ${esc(r.justification)}</p><p>Requested by ${esc(r.requested_by)}.</p>`;
  }
  const s = await db.k
    .selectFrom('action_flow_scripts as s')
    .innerJoin('action_flows as f', 'f.id', 's.flow_id')
    .innerJoin('applications as a', 'a.id', 'f.application_id')
    .leftJoin('identities as i', 'i.id', 'f.identity_id')
    .select(['s.position', 'a.name as application', 'i.display_name', 'i.user_name', 'f.id as flow_id'])
    .where('s.id', '=', t.scriptId!)
    .executeTakeFirst();
  if (!s) return '<p>A step of an ActionFlow.</p>';
  const who = s.display_name ?? s.user_name;
  return `<p>Step ${s.position + 1} of ActionFlow ${esc(s.flow_id)} for <strong>${esc(s.application)}</strong>${who ? ` (${esc(who)})` : ''} waits for your decision.</p>`;
}

function gonePage(reply: FastifyReply, o: Exclude<DecisionOutcome, { ok: true }>): FastifyReply {
  switch (o.reason) {
    case 'not_found':
      return page(reply, 404, 'Link not recognised', '<p>This decision link is not known to Steward. Check that the whole link was copied, or decide in Steward itself.</p>');
    case 'used': {
      const what = o.token?.decision ? ` (${o.token.decision === 'approve' ? 'approved' : 'denied'}${o.token.usedAt ? ` on ${esc(o.token.usedAt.toISOString())}` : ''})` : '';
      return page(reply, 410, 'Already decided', `<p>This link was used already${what}. A link works once; nothing changed.</p>`);
    }
    case 'expired':
      return page(reply, 410, 'Link expired', `<p>This link expired${o.token ? ` on ${esc(o.token.expiresAt.toISOString())}` : ''}; nothing changed. Decide in Steward itself.</p>`);
    case 'refused': {
      const status = o.error?.status ?? 409;
      return page(reply, status, 'Not recorded', `<p>Steward could not record this decision: ${esc(o.error?.message ?? 'refused')}.</p><p>The link has been used.</p>`);
    }
  }
}

const TOKEN_PARAM = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const HTML = { type: 'string', description: 'An HTML page.' } as const;

export function decisionRoutes(deps: CallbackRouteDeps): RouteSpec[] {
  const now = deps.now ?? (() => new Date());
  return [
    {
      method: 'GET',
      url: '/v1.0/decisions/:token',
      privilege: 'public',
      summary: 'Confirmation page of an email decision link',
      tags: ['workflows'],
      schema: {
        description: 'Shows what the link decides and a form to confirm; it never decides by itself (mail scanners follow links). The token in the path is the credential.',
        params: TOKEN_PARAM,
        querystring: { type: 'object', properties: { decision: { type: 'string', enum: [...DECISIONS] } } },
        produces: ['text/html'],
        response: { 200: HTML, 404: HTML, 410: HTML },
      },
      handler: async (req, reply) => {
        const { token } = req.params as { token: string };
        const chosen = (req.query as { decision?: Decision }).decision;
        const found = await findDecisionToken(deps.db, token, now());
        if (!found.ok || found.token.channel !== 'email') return gonePage(reply, found.ok ? { ok: false, reason: 'not_found' } : found);
        const about = await describe(deps.db, found.token);
        const order: Decision[] = chosen === 'deny' ? ['deny', 'approve'] : ['approve', 'deny'];
        const buttons = order.map((d) => `<button class="${d}" type="submit" name="decision" value="${d}">${d === 'approve' ? 'Approve' : 'Deny'}</button>`).join('');
        const comment = found.token.taskId !== null ? `<p><label>Comment (optional)<br><textarea name="comment" rows="3" maxlength="${MAX_COMMENT}"></textarea></label></p>` : '';
        return page(
          reply,
          200,
          chosen === undefined ? 'Your decision' : `Confirm: ${chosen === 'approve' ? 'approve' : 'deny'}`,
          `${about}<form method="post" action="${esc(token)}">${comment}<p>${buttons}</p></form><p>This link works once and expires on ${esc(found.token.expiresAt.toISOString())}.</p>`,
        );
      },
    },
    {
      method: 'POST',
      url: '/v1.0/decisions/:token',
      privilege: 'public',
      summary: 'Take the decision of an email decision link',
      tags: ['workflows'],
      schema: {
        description: 'The confirmation form: decision=approve|deny, and an optional comment. Uses the token once.',
        params: TOKEN_PARAM,
        consumes: ['application/x-www-form-urlencoded'],
        produces: ['text/html'],
        response: { 200: HTML, 400: HTML, 404: HTML, 409: HTML, 410: HTML },
      },
      bodyLimit: 16 * 1024,
      handler: async (req, reply) => {
        const { token } = req.params as { token: string };
        const fields = (req.body ?? {}) as Record<string, unknown>;
        const decision = fields.decision;
        if (decision !== 'approve' && decision !== 'deny') return page(reply, 400, 'No decision', '<p>Press Approve or Deny on the form.</p>');
        const comment = typeof fields.comment === 'string' && fields.comment.trim() !== '' ? fields.comment.trim().slice(0, MAX_COMMENT) : null;
        const outcome = await takeDecision(deps.db, deps.sink, { token, decision, channel: 'email', via: 'email', comment, now: now() });
        if (!outcome.ok) return gonePage(reply, outcome);
        return page(reply, 200, decision === 'approve' ? 'Approved' : 'Denied', `<p>Your decision was recorded: <strong>${decision === 'approve' ? 'approved' : 'denied'}</strong>. You can close this page.</p>`);
      },
    },
  ];
}

/**
 * Registers the decision pages and, when Slack is configured, the Slack interaction route,
 * in their own scope with the form body parser. Call before the app is ready; answers the
 * declared routes (for the OpenAPI route list).
 */
export async function registerDecisionRoutes(app: FastifyInstance, deps: CallbackRouteDeps): Promise<RouteSpec[]> {
  const specs = [...decisionRoutes(deps), ...slackRoutes(deps)];
  await app.register(async (scope) => {
    registerFormParser(scope);
    for (const r of specs) scope.route(toRouteOptions(r));
  });
  return specs;
}
