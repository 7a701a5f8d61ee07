import { hash } from 'node:crypto';
import { sql } from 'kysely';
import { canonicalJson } from '../domain/canonical-json.ts';
import { CopyText, canCopyEncoded, copyEncoded, copyField } from './copy.ts';
import type { Executor } from './db.ts';
import type { AuditEventRow } from './tables.ts';

/** One change to record: who did what to which object, with its state before and after. */
export interface AuditInput {
  actor: string;
  action: string;
  objectType: string;
  objectId: string | null;
  before?: unknown;
  after?: unknown;
}

const AUDIT_COLUMNS = ['at', 'actor', 'action', 'object_type', 'object_id', 'before', 'after', 'prev_hash', 'hash'];

export const GENESIS_HASH = '0'.repeat(64);
// Serialises writers of the chain: each event links to the one committed before it.
const AUDIT_LOCK_KEY = 7_347_001;

/** The hash of an event: SHA-256 over the previous hash and the event's canonical JSON. */
export function auditHash(prevHash: string, e: { at: Date; actor: string; action: string; objectType: string; objectId: string | null; before: unknown; after: unknown }): string {
  const body = canonicalJson({ at: e.at, actor: e.actor, action: e.action, objectType: e.objectType, objectId: e.objectId, before: e.before ?? null, after: e.after ?? null });
  return hash('sha256', `${prevHash}\n${body}`, 'hex');
}

/**
 * Appends events to the chain inside the caller's transaction, so a change and its audit
 * commit together. Takes a transaction-scoped lock: concurrent writers line up here.
 * `copy`: write the rows with COPY when `trx` is a session's transaction on PostgreSQL
 * (otherwise with the JSON statement), for bulk writers.
 */
export async function appendAudit(trx: Executor, events: readonly AuditInput[], opts: { copy?: boolean } = {}): Promise<void> {
  await appendPreparedAudit(trx, prepareAudit(events), { copy: (opts.copy ?? false) && canCopyEncoded(trx) });
}

/**
 * Events serialised ahead of their transaction: what `appendAudit` would hash and write,
 * minus the time and the link to the chain, which only the writer holding the chain's lock
 * knows. Bulk writers (the CSV import) make these while the batch before commits.
 */
export interface PreparedAudit {
  /** The event's canonical JSON around its `at`: `{"action":…,"after":…,"at":` and `,"before":…}`. */
  head: string[];
  tail: string[];
  /** JSON text of before and after (null: SQL NULL), canonical. */
  before: (string | null)[];
  after: (string | null)[];
  actor: string[];
  action: string[];
  objectType: string[];
  objectId: (string | null)[];
}

/** One event's canonical JSON text (the hash's body) split at `at`, and its before/after as JSON text. */
export function prepareAudit(events: readonly (AuditInput & { beforeJson?: string; afterJson?: string })[]): PreparedAudit {
  const p: PreparedAudit = { head: [], tail: [], before: [], after: [], actor: [], action: [], objectType: [], objectId: [] };
  for (const e of events) {
    // canonicalJson's key order: action, actor, after, at, before, objectId, objectType.
    const before = e.beforeJson ?? canonicalJson(e.before ?? null);
    const after = e.afterJson ?? canonicalJson(e.after ?? null);
    p.head.push(`{"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"after":${after},"at":`);
    p.tail.push(`,"before":${before},"objectId":${JSON.stringify(e.objectId)},"objectType":${JSON.stringify(e.objectType)}}`);
    p.before.push(before === 'null' ? null : before);
    p.after.push(after === 'null' ? null : after);
    p.actor.push(e.actor);
    p.action.push(e.action);
    p.objectType.push(e.objectType);
    p.objectId.push(e.objectId);
  }
  return p;
}

/**
 * Prepared events linked ahead of the lock (`sealAudit`): their time, links and hashes, and,
 * for COPY, their rows. Used only if the chain still ends where they were linked.
 */
interface Sealed {
  prev: string;
  at: Date;
  prevs: string[];
  hashes: string[];
  copy?: CopyText;
}

const sealed = new WeakMap<PreparedAudit, Sealed>();

/** Links the events after `prev`, at `at`: each event's link and hash. */
function link(p: PreparedAudit, prev: string, at: Date): { prevs: string[]; hashes: string[] } {
  const n = p.head.length;
  const atJson = JSON.stringify(at.toISOString());
  const prevs: string[] = new Array<string>(n);
  const hashes: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    prevs[i] = prev;
    // One-shot hashing: no Hash object per event.
    prev = hash('sha256', `${prev}\n${p.head[i]!}${atJson}${p.tail[i]!}`, 'hex');
    hashes[i] = prev;
  }
  return { prevs, hashes };
}

function copyText(p: PreparedAudit, at: Date, prevs: string[], hashes: string[]): CopyText {
  const atIso = at.toISOString();
  const text = new CopyText();
  for (let i = 0; i < prevs.length; i++) {
    text.add(`${atIso}\t${copyField(p.actor[i])}\t${copyField(p.action[i])}\t${copyField(p.objectType[i])}\t${copyField(p.objectId[i])}\t${copyField(p.before[i])}\t${copyField(p.after[i])}\t${prevs[i]!}\t${hashes[i]!}\n`);
  }
  return text;
}

/**
 * Links prepared events after `prev` (the hash of the event expected to be the chain's last
 * when they are written) now, outside any lock, and returns their last hash. `appendPreparedAudit`
 * then writes them as they are if the chain still ends at `prev`, and links them again if not:
 * a bulk writer hashes a batch while the one before it holds the lock. `copy`: also encode
 * the rows for COPY.
 */
export function sealAudit(p: PreparedAudit, prev: string, opts: { copy?: boolean } = {}): string {
  const n = p.head.length;
  if (n === 0) return prev;
  const at = new Date();
  const { prevs, hashes } = link(p, prev, at);
  sealed.set(p, { prev, at, prevs, hashes, ...(opts.copy ? { copy: copyText(p, at, prevs, hashes) } : {}) });
  return hashes[n - 1]!;
}

/**
 * `appendAudit` for prepared events: the same rows, links and hashes, with only the hashing
 * left to do under the lock (none if `sealAudit` linked them to the event still last).
 * `copy`: COPY in a session's transaction (PostgreSQL). `linked` is told the hash of the
 * last event once it is known, before the rows are written (not called without events).
 */
export async function appendPreparedAudit(trx: Executor, p: PreparedAudit, opts: { copy?: boolean; linked?: (lastHash: string) => void } = {}): Promise<void> {
  const n = p.head.length;
  if (n === 0) return;
  await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(trx);
  const last = await trx.selectFrom('audit_events').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const prev = last?.hash ?? GENESIS_HASH;
  const ready = sealed.get(p);
  sealed.delete(p);
  // Millisecond precision: what JS keeps is exactly what the column gives back.
  const at = ready?.prev === prev ? ready.at : new Date();
  const { prevs, hashes } = ready?.prev === prev ? ready : link(p, prev, at);
  opts.linked?.(hashes[n - 1]!);
  if (opts.copy) {
    const text = ready?.prev === prev && ready.copy ? ready.copy : copyText(p, at, prevs, hashes);
    await copyEncoded(trx, 'audit_events', AUDIT_COLUMNS, text);
    return;
  }
  const atJson = JSON.stringify(at.toISOString());
  let json = '[';
  for (let i = 0; i < n; i++) {
    if (i > 0) json += ',';
    json += `{"at":${atJson},"actor":${JSON.stringify(p.actor[i])},"action":${JSON.stringify(p.action[i])},"object_type":${JSON.stringify(p.objectType[i])},"object_id":${JSON.stringify(p.objectId[i])},"before":${p.before[i] ?? 'null'},"after":${p.after[i] ?? 'null'},"prev_hash":"${prevs[i]!}","hash":"${hashes[i]!}"}`;
  }
  json += ']';
  // json_to_recordset keeps before and after as the text written (a JSON null: SQL NULL), so
  // the columns (type json) hold exactly what was hashed; in the array's order, for `seq`.
  await sql`
    insert into audit_events (at, actor, action, object_type, object_id, before, after, prev_hash, hash)
    select at, actor, action, object_type, object_id, before, after, prev_hash, hash
    from rows from (json_to_recordset(${json}::json)
      as (at timestamptz, actor text, action text, object_type text, object_id text, before json, after json, prev_hash text, hash text))
      with ordinality as x(at, actor, action, object_type, object_id, before, after, prev_hash, hash, n)
    order by n`.execute(trx);
}

export interface AuditFilter {
  objectType?: string;
  objectId?: string;
  actor?: string;
  from?: Date;
  to?: Date;
  /** Keyset cursor: events after this sequence number. */
  afterSeq?: number;
  limit: number;
}

/** Events matching the filter, oldest first, one page. */
export async function listAudit(db: Executor, f: AuditFilter): Promise<AuditEventRow[]> {
  let q = db.selectFrom('audit_events').selectAll();
  if (f.objectType) q = q.where('object_type', '=', f.objectType);
  if (f.objectId) q = q.where('object_id', '=', f.objectId);
  if (f.actor) q = q.where('actor', '=', f.actor);
  if (f.from) q = q.where('at', '>=', f.from);
  if (f.to) q = q.where('at', '<', f.to);
  if (f.afterSeq !== undefined) q = q.where('seq', '>', f.afterSeq);
  return q.orderBy('seq').limit(f.limit).execute();
}

export type AuditVerdict =
  | { ok: true; events: number; lastHash: string }
  | { ok: false; events: number; brokenAt: number; reason: string };

/** Walks the whole chain in pages and reports the first event whose link or hash is wrong. */
export async function verifyAudit(db: Executor, onProgress?: (checked: number) => void): Promise<AuditVerdict> {
  let prev = GENESIS_HASH;
  let afterSeq = 0;
  let count = 0;
  for (;;) {
    const page = await db.selectFrom('audit_events').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(5000).execute();
    if (page.length === 0) return { ok: true, events: count, lastHash: prev };
    for (const e of page) {
      if (e.prev_hash !== prev) {
        return { ok: false, events: count, brokenAt: e.seq, reason: `event ${e.seq} links to ${e.prev_hash.slice(0, 12)}… but the event before it has hash ${prev.slice(0, 12)}… (an event was removed or reordered)` };
      }
      const expected = auditHash(prev, { at: e.at, actor: e.actor, action: e.action, objectType: e.object_type, objectId: e.object_id, before: e.before, after: e.after });
      if (expected !== e.hash) {
        return { ok: false, events: count, brokenAt: e.seq, reason: `event ${e.seq} does not match its hash (its content was changed)` };
      }
      prev = e.hash;
      count++;
      afterSeq = e.seq;
    }
    onProgress?.(count);
  }
}
