/**
 * Single-use decision tokens behind email links and Slack buttons. A token is 32 random
 * bytes (base64url, 43 characters); only its SHA-256 is stored, so a copy of the database
 * decides nothing. Each token points at one approval task or one waiting script, expires,
 * and is consumed by one atomic update: of two clicks racing, one wins.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db, Executor } from '../store/db.ts';
import type { Decision } from './decisions.ts';

export type DecisionChannel = 'email' | 'slack';

/** How long a decision link stays valid unless a script says otherwise. */
export const DEFAULT_DECISION_TTL_HOURS = 7 * 24;

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export interface NewDecisionToken {
  taskId?: string;
  scriptId?: string;
  channel: DecisionChannel;
  expiresAt: Date;
}

export interface DecisionTokenInfo {
  id: string;
  channel: DecisionChannel;
  taskId: string | null;
  scriptId: string | null;
  expiresAt: Date;
  usedAt: Date | null;
  decision: Decision | null;
}

/** What a lookup or a consumption found: the token, or why it cannot be used. */
export type TokenLookup = { ok: true; token: DecisionTokenInfo } | { ok: false; reason: 'not_found' | 'used' | 'expired'; token?: DecisionTokenInfo };

const exec = (d: Db | Executor): Executor => ('tx' in d && 'k' in d ? d.k : d);

/** The stored form of a token. */
export const hashDecisionToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** True when `text` has a token's shape (checked before any query). */
export const isTokenShaped = (text: string): boolean => TOKEN_FORMAT.test(text);

/** Stores a new token for a task or a script and answers it in plain text; the caller puts it in a link or a button. */
export async function issueDecisionToken(db: Db | Executor, input: NewDecisionToken): Promise<string> {
  if ((input.taskId === undefined) === (input.scriptId === undefined)) throw new Error('a decision token is for a task or for a script, exactly one');
  const token = randomBytes(32).toString('base64url');
  await exec(db)
    .insertInto('decision_tokens')
    .values({ token_hash: hashDecisionToken(token), channel: input.channel, task_id: input.taskId ?? null, script_id: input.scriptId ?? null, expires_at: input.expiresAt })
    .execute();
  return token;
}

interface TokenRow {
  id: string;
  channel: string;
  task_id: string | null;
  script_id: string | null;
  expires_at: Date;
  used_at: Date | null;
  decision: string | null;
}

const toInfo = (r: TokenRow): DecisionTokenInfo => ({
  id: r.id,
  channel: r.channel as DecisionChannel,
  taskId: r.task_id,
  scriptId: r.script_id,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  decision: r.decision as Decision | null,
});

const COLUMNS = ['id', 'channel', 'task_id', 'script_id', 'expires_at', 'used_at', 'decision'] as const;

/** Reads a token without using it (the confirmation page). */
export async function findDecisionToken(db: Db | Executor, token: string, now: Date): Promise<TokenLookup> {
  if (!isTokenShaped(token)) return { ok: false, reason: 'not_found' };
  const row = await exec(db).selectFrom('decision_tokens').select(COLUMNS).where('token_hash', '=', hashDecisionToken(token)).executeTakeFirst();
  if (!row) return { ok: false, reason: 'not_found' };
  const info = toInfo(row);
  if (info.usedAt) return { ok: false, reason: 'used', token: info };
  if (info.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired', token: info };
  return { ok: true, token: info };
}

/**
 * Uses a token for `decision`, once: an update that only matches an unused, unexpired token.
 * When it matches nothing, a read says why (unknown, used or expired).
 */
export async function consumeDecisionToken(db: Db | Executor, token: string, decision: Decision, now: Date, channel?: DecisionChannel): Promise<TokenLookup> {
  if (!isTokenShaped(token)) return { ok: false, reason: 'not_found' };
  let q = exec(db)
    .updateTable('decision_tokens')
    .set({ used_at: now, decision })
    .where('token_hash', '=', hashDecisionToken(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now);
  // A Slack button's token is not an email link, and the other way round.
  if (channel !== undefined) q = q.where('channel', '=', channel);
  const row = await q.returning(COLUMNS).executeTakeFirst();
  if (row) return { ok: true, token: toInfo(row) };
  const found = await findDecisionToken(db, token, now);
  if (channel !== undefined && found.token !== undefined && found.token.channel !== channel) return { ok: false, reason: 'not_found' };
  // Unused and unexpired, yet the update missed it: another click won the race a moment ago.
  return found.ok ? { ok: false, reason: 'used', token: found.token } : found;
}

/** Makes a consumed token usable again, when what it was consumed for could not be recorded (a transient failure). */
export async function releaseDecisionToken(db: Db | Executor, id: string): Promise<void> {
  await exec(db).updateTable('decision_tokens').set({ used_at: null, decision: null }).where('id', '=', id).execute();
}
