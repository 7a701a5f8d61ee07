/**
 * A birthright rule's save recomputes everyone in a background job, not in the request:
 * the save writes the rule, a status row in `lifecycle_recomputes` and the job in one
 * transaction (a save that rolls back leaves neither). The job runs the recomputation in
 * one transaction as before; over the safety threshold it puts the rule back as it was
 * and records a held change, so nothing of the change is applied until confirmed.
 */
import { sql } from 'kysely';
import { StewardError } from '../domain/errors.ts';
import type { QueueSettings } from '../jobs/index.ts';
import type { Executor } from '../store/db.ts';
import type { ImpactReport } from './engine.ts';
import type { Rule, RuleInput } from './rules.ts';

/** The queue whose jobs run a rule's recompute: `{ id }` of its status row. */
export const RULE_RECOMPUTE_QUEUE = 'lifecycle-rule-recompute';
/** Its settings (the worker and the runtime declare it from this one constant): an hour per run; a run whose process died is run again. */
export const RULE_RECOMPUTE_SETTINGS: QueueSettings = { expireInSeconds: 3_600, retryLimit: 5 };

/** Sends the job that runs recompute `id`, in the transaction that saved the rule. */
export type EnqueueRecompute = (trx: Executor, recomputeId: string) => Promise<void>;

export type RecomputeKind = 'rule.create' | 'rule.update' | 'rule.delete';
export type RecomputeStatus = 'queued' | 'running' | 'applied' | 'held' | 'failed';

/** What the status row keeps of the change: enough to hold it (and confirm it later) and to undo it. */
export interface RecomputePayload {
  /** The hold's payload, as the synchronous save had it: `{input}`, `{id, input}` or `{id}`. */
  change: { id?: string; input?: RuleInput };
  /** The rule before the save (null for a new rule): what a held change puts back. */
  before: Rule | null;
}

/** A rule save's recompute: its state and progress, and once finished its outcome. */
export interface Recompute {
  id: string;
  kind: RecomputeKind;
  ruleId: string;
  status: RecomputeStatus;
  confirmed: boolean;
  /** Identities recomputed so far, of `total` (null until the job has counted them). */
  processed: number;
  total: number | null;
  impact: ImpactReport | null;
  /** ActionFlows made, once applied. */
  flows: number | null;
  /** The held change to confirm or discard, when the safety threshold held it. */
  holdId: string | null;
  error: string | null;
  createdBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

type Row = {
  id: string;
  kind: string;
  rule_id: string;
  status: string;
  confirmed: boolean;
  processed: number;
  total: number | null;
  impact: unknown;
  flows: number | null;
  hold_id: string | null;
  error: string | null;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
};

export const toRecompute = (r: Row): Recompute => ({
  id: r.id,
  kind: r.kind as RecomputeKind,
  ruleId: r.rule_id,
  status: r.status as RecomputeStatus,
  confirmed: r.confirmed,
  processed: Number(r.processed),
  total: r.total === null ? null : Number(r.total),
  impact: (r.impact as ImpactReport | null) ?? null,
  flows: r.flows,
  holdId: r.hold_id,
  error: r.error,
  createdBy: r.created_by,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

const SAVE_LOCK = 7_347_011;

/**
 * Inside a rule save's transaction: one save at a time, and none while an earlier save's
 * recompute is queued or running (its undo, should it be held, must find the rule as it
 * left it).
 */
export async function refuseWhilePending(trx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(${SAVE_LOCK})`.execute(trx);
  const busy = await pendingRecompute(trx);
  if (busy) {
    throw new StewardError('lifecycle.recompute_pending', `the recompute of an earlier rule change (${busy}) is still queued or running; save again once GET /v1.0/lifecycle/recomputes/${busy} says it finished`);
  }
}

/** The id of a rule recompute still queued or running, if any. */
export async function pendingRecompute(ex: Executor): Promise<string | undefined> {
  const r = await ex.selectFrom('lifecycle_recomputes').select('id').where('status', 'in', ['queued', 'running']).orderBy('created_at').limit(1).executeTakeFirst();
  return r?.id;
}

export async function insertRecompute(trx: Executor, o: { kind: RecomputeKind; ruleId: string; payload: RecomputePayload; confirmed: boolean; actor: string }): Promise<string> {
  const row = await trx
    .insertInto('lifecycle_recomputes')
    .values({ kind: o.kind, rule_id: o.ruleId, payload: JSON.stringify(o.payload), confirmed: o.confirmed, created_by: o.actor })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
