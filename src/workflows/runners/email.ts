/**
 * `email_notification` (a read-only message) and `email_approval` (a message with Approve
 * and Deny links; the flow waits until one is used), sent over SMTP with nodemailer.
 *
 * Links go to `{publicUrl}/v1.0/decisions/{token}?decision=approve|deny`: a page that asks
 * to confirm (a GET never decides, since mail scanners follow links) and a form that uses
 * the token once. The token is 32 random bytes, stored only as its SHA-256, and expires
 * (7 days unless `expiresInHours` says otherwise).
 *
 * SMTP cannot be asked what it already delivered, so a script resumed after a crash sends
 * again; the Message-ID is made from the script id, so mail systems that drop a repeated
 * Message-ID (Gmail, Exchange Online) show the message once.
 */
import nodemailer from 'nodemailer';
import { ConnectorError } from '../../connectors/index.ts';
import type { Problem } from '../../domain/result.ts';
import { DEFAULT_DECISION_TTL_HOURS, issueDecisionToken } from '../decision-tokens.ts';
import { badMetadata, checkFields, listOf, needText, optNumber, optText, type FieldSpec } from './metadata.ts';
import type { MailSettings, RunnerDeps, ScriptRunner } from './types.ts';

const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
const MAX_RECIPIENTS = 50;
const SEND_TIMEOUT_MS = 30_000;

const NOTIFICATION_FIELDS: Record<string, FieldSpec> = {
  to: { kind: 'list', required: true, about: 'one address, a list, or a comma-separated string' },
  cc: { kind: 'list' },
  subject: { kind: 'string', required: true },
  text: { kind: 'string', about: 'the plain-text body' },
  html: { kind: 'string', about: 'the HTML body' },
};

const APPROVAL_FIELDS: Record<string, FieldSpec> = {
  to: { kind: 'list', required: true, about: 'the address of the person who decides' },
  subject: { kind: 'string', required: true },
  text: { kind: 'string', required: true, about: 'what is asked; the Approve and Deny links are added below it' },
  expiresInHours: { kind: 'id' },
};

function literalAddressProblems(metadata: Record<string, unknown>, name: string, field: string): Problem[] {
  const v = metadata[name];
  const items = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : [];
  return items.flatMap((x, i) => {
    const s = String(x).trim();
    if (s.includes('{{') || ADDRESS.test(s)) return [];
    return [{ code: 'metadata.invalid', field: Array.isArray(v) ? `${field}.${name}[${i}]` : `${field}.${name}`, message: `'${s}' is not an email address` }];
  });
}

function recipients(metadata: Record<string, unknown>, name: string, required: boolean): string[] {
  const list = listOf(metadata, name);
  if (required && list.length === 0) throw badMetadata(name, 'names no recipient once its placeholders are filled in');
  if (list.length > MAX_RECIPIENTS) throw badMetadata(name, `names more than ${MAX_RECIPIENTS} recipients`);
  for (const a of list) if (!ADDRESS.test(a)) throw badMetadata(name, `'${a}' is not an email address`);
  return list;
}

const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ').trim();

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The host part of Message-IDs: where Steward is reached. */
function idHost(publicUrl: string): string {
  try {
    return new URL(publicUrl).hostname || 'steward.invalid';
  } catch {
    return 'steward.invalid';
  }
}

/** A nodemailer failure as a ConnectorError: 4xx replies and network trouble are retried, 5xx and bad credentials are not. */
export function mailError(e: unknown): ConnectorError {
  const err = e as { code?: string; responseCode?: number; response?: string; message?: string };
  const reply = typeof err.response === 'string' ? err.response.slice(0, 300) : undefined;
  const message = `SMTP: ${err.message ?? String(e)}`;
  const opts = { ...(err.responseCode ? { status: err.responseCode } : {}), ...(reply ? { targetMessage: reply } : {}), cause: e };
  if (err.code === 'EAUTH') return new ConnectorError('permanent', 'auth_failed', message, opts);
  if (typeof err.responseCode === 'number') {
    if (err.responseCode >= 400 && err.responseCode < 500) return new ConnectorError('retryable', 'unavailable', message, opts);
    if (err.responseCode >= 500) return new ConnectorError('permanent', err.code === 'EENVELOPE' ? 'invalid_request' : 'target_error', message, opts);
  }
  if (err.code === 'ETIMEDOUT') return new ConnectorError('retryable', 'timeout', message, opts);
  if (err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'EDNS' || err.code === 'ECONNREFUSED') return new ConnectorError('retryable', 'unreachable', message, opts);
  if (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') return new ConnectorError('permanent', 'invalid_request', message, opts);
  return new ConnectorError('retryable', 'target_error', message, opts);
}

export interface OutgoingMail {
  to: string[];
  cc?: string[];
  subject: string;
  text?: string;
  html?: string;
  /** Without angle brackets' contents decided by the caller: `steward-script-{id}`. */
  messageKey: string;
}

/** Sends one message through the configured transport; every failure is a ConnectorError. */
export async function sendMail(deps: Pick<RunnerDeps, 'mail' | 'publicUrl'>, mail: OutgoingMail): Promise<{ messageId: string; accepted: string[] }> {
  const settings: MailSettings | undefined = deps.mail;
  if (!settings) throw new ConnectorError('permanent', 'invalid_settings', 'mail is not configured on this server (mail.transport, mail.from)');
  const transportOptions = typeof settings.transport === 'string' ? settings.transport : { connectionTimeout: SEND_TIMEOUT_MS, greetingTimeout: SEND_TIMEOUT_MS, socketTimeout: SEND_TIMEOUT_MS, ...settings.transport };
  const transport = nodemailer.createTransport(transportOptions as Parameters<typeof nodemailer.createTransport>[0]);
  const messageId = `<${mail.messageKey}@${idHost(deps.publicUrl)}>`;
  try {
    const info = (await transport.sendMail({
      from: settings.from,
      to: mail.to,
      ...(mail.cc && mail.cc.length > 0 ? { cc: mail.cc } : {}),
      subject: oneLine(mail.subject),
      ...(mail.text !== undefined ? { text: mail.text } : {}),
      ...(mail.html !== undefined ? { html: mail.html } : {}),
      messageId,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    })) as { accepted?: (string | { address: string })[] };
    return { messageId, accepted: (info.accepted ?? []).map((a) => (typeof a === 'string' ? a : a.address)) };
  } catch (e) {
    throw mailError(e);
  } finally {
    transport.close();
  }
}

/** The links of a decision token. */
export function decisionLinks(publicUrl: string, token: string): { approve: string; deny: string } {
  const base = `${publicUrl.replace(/\/+$/, '')}/v1.0/decisions/${token}`;
  return { approve: `${base}?decision=approve`, deny: `${base}?decision=deny` };
}

export interface EmailApprovalRequest {
  /** The approval task (approvals) or the waiting script (email_approval) the links decide. */
  taskId?: string;
  scriptId?: string;
  to: string[];
  subject: string;
  text: string;
  expiresAt: Date;
  /** Makes the Message-ID; a script's id by default, so a resent script's mail keeps it. */
  messageKey?: string;
}

/**
 * Sends an approver a message with Approve and Deny links backed by a new decision token.
 * The one code path of `email_approval` and of approval tasks' email notices.
 */
export async function sendApprovalRequestEmail(deps: Pick<RunnerDeps, 'db' | 'mail' | 'publicUrl'>, req: EmailApprovalRequest): Promise<{ messageId: string; expiresAt: Date }> {
  if (!deps.mail) throw new ConnectorError('permanent', 'invalid_settings', 'mail is not configured on this server (mail.transport, mail.from)');
  const target = req.scriptId !== undefined ? { scriptId: req.scriptId } : { taskId: req.taskId! };
  const token = await issueDecisionToken(deps.db, { ...target, channel: 'email', expiresAt: req.expiresAt });
  const links = decisionLinks(deps.publicUrl, token);
  const until = req.expiresAt.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const text = `${req.text}\n\nApprove: ${links.approve}\nDeny: ${links.deny}\n\nEach link opens a page that asks you to confirm. The links work once and expire on ${until}.\n`;
  const html =
    `<div style="font:15px/1.5 system-ui,sans-serif">${escapeHtml(req.text).replace(/\r?\n/g, '<br>')}` +
    `<p style="margin:24px 0"><a href="${escapeHtml(links.approve)}" style="background:#1a7f37;color:#fff;padding:10px 18px;border-radius:4px;text-decoration:none">Approve</a> &nbsp; ` +
    `<a href="${escapeHtml(links.deny)}" style="background:#cf222e;color:#fff;padding:10px 18px;border-radius:4px;text-decoration:none">Deny</a></p>` +
    `<p style="color:#555;font-size:13px">Each link opens a page that asks you to confirm. The links work once and expire on ${escapeHtml(until)}.</p></div>`;
  const key = req.messageKey ?? (req.scriptId !== undefined ? `steward-script-${req.scriptId}` : `steward-task-${req.taskId}-${Date.now().toString(36)}`);
  const sent = await sendMail(deps, { to: req.to, subject: req.subject, text, html, messageKey: key });
  return { messageId: sent.messageId, expiresAt: req.expiresAt };
}

export const emailNotificationRunner: ScriptRunner = {
  handles: (t) => t.family === 'fixed' && t.type === 'email_notification',
  validate(_t, metadata, field) {
    const problems = checkFields(metadata, field, NOTIFICATION_FIELDS);
    if (metadata.text === undefined && metadata.html === undefined) problems.push({ code: 'metadata.required', field: `${field}.text`, message: 'give text, html, or both' });
    return [...problems, ...literalAddressProblems(metadata, 'to', field), ...literalAddressProblems(metadata, 'cc', field)];
  },
  async run(ctx, deps) {
    const m = ctx.script.metadata;
    const text = optText(m, 'text');
    const html = optText(m, 'html');
    if (text === undefined && html === undefined) throw badMetadata('text', 'text and html are both empty once their placeholders are filled in');
    const cc = recipients(m, 'cc', false);
    const sent = await sendMail(deps, {
      to: recipients(m, 'to', true),
      ...(cc.length > 0 ? { cc } : {}),
      subject: needText(m, 'subject'),
      ...(text !== undefined ? { text } : {}),
      ...(html !== undefined ? { html } : {}),
      messageKey: `steward-script-${ctx.script.id}`,
    });
    return { status: 'succeeded', output: { messageId: sent.messageId, accepted: sent.accepted } };
  },
};

export const emailApprovalRunner: ScriptRunner = {
  handles: (t) => t.family === 'fixed' && t.type === 'email_approval',
  validate(_t, metadata, field) {
    const problems = [...checkFields(metadata, field, APPROVAL_FIELDS), ...literalAddressProblems(metadata, 'to', field)];
    const h = metadata.expiresInHours;
    if (typeof h === 'number' && !(h > 0 && h <= 24 * 90)) problems.push({ code: 'metadata.invalid', field: `${field}.expiresInHours`, message: 'must be more than 0 and at most 2160 (90 days)' });
    return problems;
  },
  async run(ctx, deps) {
    const m = ctx.script.metadata;
    const hours = optNumber(m, 'expiresInHours') ?? DEFAULT_DECISION_TTL_HOURS;
    const sent = await sendApprovalRequestEmail(deps, {
      scriptId: ctx.script.id,
      to: recipients(m, 'to', true),
      subject: needText(m, 'subject'),
      text: needText(m, 'text'),
      expiresAt: new Date(ctx.now().getTime() + hours * 3_600_000),
    });
    return { status: 'waiting', output: { messageId: sent.messageId, expiresAt: sent.expiresAt.toISOString() } };
  },
};
