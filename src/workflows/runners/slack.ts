/**
 * `slack_notification` (a read-only message to a channel or a user) and `slack_approval`
 * (a prompt with Approve and Deny buttons to one user; the flow waits until one is pressed).
 * Each message carries the script's id in its metadata (`steward_script`), so a script
 * whose earlier attempt may have posted (the worker died before recording it) looks in the
 * conversation's history first and posts nothing twice.
 *
 * The buttons' value is a single-use decision token and the user it is meant for; the
 * interaction callback (`POST /v1.0/slack/interactions`) checks Slack's signature, the
 * user, and the token before anything is decided.
 */
import { ConnectorError } from '../../connectors/index.ts';
import type { Problem } from '../../domain/result.ts';
import { DEFAULT_DECISION_TTL_HOURS, issueDecisionToken } from '../decision-tokens.ts';
import { badMetadata, checkFields, needText, optNumber, optText, type FieldSpec } from './metadata.ts';
import { createSlackApi, isSlackUserId, SLACK_EVENT_TYPE, type SlackApi } from './slack-api.ts';
import type { RunnerDeps, ScriptRunner } from './types.ts';

export const APPROVE_ACTION = 'steward_approve';
export const DENY_ACTION = 'steward_deny';
const MAX_BLOCKS = 50;

const NOTIFICATION_FIELDS: Record<string, FieldSpec> = {
  channel: { kind: 'string', about: 'a channel id such as C0123ABCD, or a user id such as U0123ABCD' },
  user: { kind: 'string', about: 'a user id such as U0123ABCD, for a direct message' },
  text: { kind: 'string', required: true, about: 'the message, in Slack mrkdwn; also the notification text when blocks are given' },
  blocks: { kind: 'json' },
};

const APPROVAL_FIELDS: Record<string, FieldSpec> = {
  user: { kind: 'string', required: true, about: 'the Slack user id of the person who decides' },
  text: { kind: 'string', required: true, about: 'what is asked, in Slack mrkdwn' },
  blocks: { kind: 'json' },
  approveLabel: { kind: 'string' },
  denyLabel: { kind: 'string' },
  expiresInHours: { kind: 'id' },
};

function checkBlocks(v: unknown, field: string): Problem[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string' && /^\{\{[^{}]*\}\}$/.test(v)) return [];
  if (!Array.isArray(v) || v.length > MAX_BLOCKS) return [{ code: 'metadata.invalid', field, message: `must be a list of at most ${MAX_BLOCKS} Block Kit blocks` }];
  return v.flatMap((b, i) => (b !== null && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string' ? [] : [{ code: 'metadata.invalid', field: `${field}[${i}]`, message: 'a block is an object with a type, e.g. {"type":"section","text":{"type":"mrkdwn","text":"…"}}' }]));
}

function blocksOf(metadata: Record<string, unknown>): Record<string, unknown>[] | undefined {
  const b = metadata.blocks;
  if (b === undefined || b === null || b === '') return undefined;
  if (!Array.isArray(b) || b.some((x) => x === null || typeof x !== 'object')) throw badMetadata('blocks', 'must be a list of Block Kit blocks');
  return b as Record<string, unknown>[];
}

function slackOf(deps: Pick<RunnerDeps, 'slack' | 'fetch'>): SlackApi {
  if (!deps.slack) throw new ConnectorError('permanent', 'invalid_settings', 'Slack is not configured on this server (slack.botToken, slack.signingSecret)');
  return createSlackApi(deps.slack, deps.fetch);
}

/** When the script first started, so the history search stops there; a minute earlier for clock skew. */
async function startedAt(deps: Pick<RunnerDeps, 'db'>, scriptId: string): Promise<Date | undefined> {
  const row = await deps.db.k.selectFrom('action_flow_scripts').select(['started_at']).where('id', '=', scriptId).executeTakeFirst();
  return row?.started_at ? new Date(row.started_at.getTime() - 60_000) : undefined;
}

/** Where a message to `to` goes: a user's direct-message conversation, or the channel itself. */
async function conversation(api: SlackApi, to: string): Promise<string> {
  return isSlackUserId(to) ? api.openDirect(to) : to;
}

interface PostOptions {
  /** Identifies the message for the history search (script or task). */
  payload: Record<string, string>;
  /** When set, look for an earlier post with this payload first. */
  lookFirst?: { oldest?: Date };
}

async function postOnce(api: SlackApi, channel: string, message: { text: string; blocks?: Record<string, unknown>[] }, options: PostOptions): Promise<{ channel: string; ts: string; alreadyPosted: boolean }> {
  if (options.lookFirst) {
    const [key, value] = Object.entries(options.payload)[0]!;
    const found = await api.findByMetadata(channel, (p) => p[key] === value, options.lookFirst.oldest);
    if (found) return { channel, ts: found.ts, alreadyPosted: true };
  }
  const posted = await api.postMessage({
    channel,
    text: message.text,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    metadata: { event_type: SLACK_EVENT_TYPE, event_payload: options.payload },
    unfurl_links: false,
  });
  return { ...posted, alreadyPosted: false };
}

/** The prompt's blocks: the question, then Approve and Deny buttons carrying `token` and the user it is for. */
export function approvalBlocks(input: { text: string; blocks?: Record<string, unknown>[]; token: string; user: string; approveLabel?: string; denyLabel?: string }): Record<string, unknown>[] {
  const value = `${input.token}:${input.user}`;
  return [
    ...(input.blocks ?? [{ type: 'section', text: { type: 'mrkdwn', text: input.text } }]),
    {
      type: 'actions',
      block_id: 'steward_decision',
      elements: [
        { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: input.approveLabel ?? 'Approve' }, value },
        { type: 'button', action_id: DENY_ACTION, style: 'danger', text: { type: 'plain_text', text: input.denyLabel ?? 'Deny' }, value },
      ],
    },
  ];
}

export interface SlackApprovalRequest {
  /** The approval task (approvals) or the waiting script (slack_approval) the buttons decide. */
  taskId?: string;
  scriptId?: string;
  /** The Slack user id of the approver. */
  user: string;
  text: string;
  blocks?: Record<string, unknown>[];
  expiresAt: Date;
  approveLabel?: string;
  denyLabel?: string;
  /** A script resumed after a crash: look for the earlier post before posting. */
  resumed?: boolean;
  oldest?: Date;
}

/**
 * Sends an approver a prompt with Approve and Deny buttons, backed by a new decision token
 * (one per prompt). The one code path of `slack_approval` and of approval tasks' Slack notices.
 */
export async function postApprovalRequestSlack(deps: Pick<RunnerDeps, 'db' | 'slack' | 'fetch'>, req: SlackApprovalRequest): Promise<{ channel: string; ts: string; alreadyPosted: boolean; expiresAt: Date }> {
  if (!isSlackUserId(req.user)) throw badMetadata('user', `'${req.user}' is not a Slack user id (U… or W…)`);
  const api = slackOf(deps);
  const channel = await conversation(api, req.user);
  const payload: Record<string, string> = req.scriptId !== undefined ? { scriptId: req.scriptId } : { taskId: req.taskId ?? '' };
  if (req.resumed) {
    const [key, value] = Object.entries(payload)[0]!;
    const found = await api.findByMetadata(channel, (p) => p[key] === value, req.oldest);
    if (found) return { channel, ts: found.ts, alreadyPosted: true, expiresAt: req.expiresAt };
  }
  const token = await issueDecisionToken(deps.db, { ...(req.scriptId !== undefined ? { scriptId: req.scriptId } : { taskId: req.taskId! }), channel: 'slack', expiresAt: req.expiresAt });
  const blocks = approvalBlocks({ text: req.text, ...(req.blocks ? { blocks: req.blocks } : {}), token, user: req.user, ...(req.approveLabel ? { approveLabel: req.approveLabel } : {}), ...(req.denyLabel ? { denyLabel: req.denyLabel } : {}) });
  const posted = await postOnce(api, channel, { text: req.text, blocks }, { payload });
  return { ...posted, expiresAt: req.expiresAt };
}

export const slackNotificationRunner: ScriptRunner = {
  handles: (t) => t.family === 'fixed' && t.type === 'slack_notification',
  validate(_t, metadata, field) {
    const problems = checkFields(metadata, field, NOTIFICATION_FIELDS);
    const hasChannel = metadata.channel !== undefined && metadata.channel !== null;
    const hasUser = metadata.user !== undefined && metadata.user !== null;
    if (hasChannel === hasUser) problems.push({ code: 'metadata.required', field: `${field}.channel`, message: 'give channel (a channel or user id) or user (a user id), exactly one' });
    return [...problems, ...checkBlocks(metadata.blocks, `${field}.blocks`)];
  },
  async run(ctx, deps) {
    const m = ctx.script.metadata;
    const to = optText(m, 'channel') ?? optText(m, 'user');
    if (to === undefined) throw badMetadata('channel', 'is empty once its placeholders are filled in');
    const text = needText(m, 'text');
    const blocks = blocksOf(m);
    const api = slackOf(deps);
    const channel = await conversation(api, to);
    const oldest = ctx.script.resumed ? await startedAt(deps, ctx.script.id) : undefined;
    const r = await postOnce(api, channel, { text, ...(blocks ? { blocks } : {}) }, { payload: { scriptId: ctx.script.id }, ...(ctx.script.resumed ? { lookFirst: oldest ? { oldest } : {} } : {}) });
    return { status: 'succeeded', output: { channel: r.channel, ts: r.ts, ...(r.alreadyPosted ? { alreadyPosted: true } : {}) } };
  },
};

export const slackApprovalRunner: ScriptRunner = {
  handles: (t) => t.family === 'fixed' && t.type === 'slack_approval',
  validate(_t, metadata, field) {
    const problems = [...checkFields(metadata, field, APPROVAL_FIELDS), ...checkBlocks(metadata.blocks, `${field}.blocks`)];
    const h = metadata.expiresInHours;
    if (typeof h === 'number' && !(h > 0 && h <= 24 * 90)) problems.push({ code: 'metadata.invalid', field: `${field}.expiresInHours`, message: 'must be more than 0 and at most 2160 (90 days)' });
    return problems;
  },
  async run(ctx, deps) {
    const m = ctx.script.metadata;
    const hours = optNumber(m, 'expiresInHours') ?? DEFAULT_DECISION_TTL_HOURS;
    const blocks = blocksOf(m);
    const approveLabel = optText(m, 'approveLabel');
    const denyLabel = optText(m, 'denyLabel');
    const oldest = ctx.script.resumed ? await startedAt(deps, ctx.script.id) : undefined;
    const r = await postApprovalRequestSlack(deps, {
      scriptId: ctx.script.id,
      user: needText(m, 'user'),
      text: needText(m, 'text'),
      ...(blocks ? { blocks } : {}),
      expiresAt: new Date(ctx.now().getTime() + hours * 3_600_000),
      ...(approveLabel ? { approveLabel } : {}),
      ...(denyLabel ? { denyLabel } : {}),
      resumed: ctx.script.resumed,
      ...(oldest ? { oldest } : {}),
    });
    return { status: 'waiting', output: { channel: r.channel, ts: r.ts, ...(r.alreadyPosted ? { alreadyPosted: true } : { expiresAt: r.expiresAt.toISOString() }) } };
  },
};
