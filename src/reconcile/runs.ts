/** The reconciliation_runs table: one row per run, its progress and where it stands. */
import { sql } from 'kysely';
import type { Executor } from '../store/db.ts';
import type { ReconciliationRunsTable } from '../store/tables.ts';
import type { Selectable } from 'kysely';

export type RunRow = Selectable<ReconciliationRunsTable>;

export const RUN_STATUSES = ['queued', 'running', 'stopping', 'completed', 'failed', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'stopping'];
export type RunMode = 'full' | 'incremental';
export type RunPhase = 'entitlements' | 'accounts' | 'apply' | 'done';

/** A run as the API and CLI show it. */
export interface ReconciliationRun {
  id: string;
  applicationId: string;
  requestedMode: RunMode;
  /** The mode the run was carried out in: an incremental request runs full when it cannot read changes. */
  mode: RunMode;
  /** Why `mode` differs from `requestedMode`, when it does. */
  modeReason: string | null;
  status: RunStatus;
  phase: RunPhase;
  progress: {
    pages: number;
    entitlementsSeen: number;
    accountsSeen: number;
    new: number;
    changed: number;
    removed: number;
    matched: number;
    unmatched: number;
    orphan: number;
  };
  remediations: { pending: number; held: number; applied: number };
  /** The first run of an application records what is there and remediates nothing. */
  baseline: boolean;
  safetyThreshold: number;
  /** Why remediations (and removals) wait for an administrator's confirmation, when they do. */
  heldReason: string | null;
  attempts: number;
  lastError: string | null;
  startedBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export const toRun = (r: RunRow): ReconciliationRun => ({
  id: r.id,
  applicationId: r.application_id,
  requestedMode: r.requested_mode as RunMode,
  mode: r.mode as RunMode,
  modeReason: r.mode_reason,
  status: r.status as RunStatus,
  phase: r.phase as RunPhase,
  progress: {
    pages: r.pages,
    entitlementsSeen: r.entitlements_seen,
    accountsSeen: r.accounts_seen,
    new: r.accounts_new,
    changed: r.accounts_changed,
    removed: r.accounts_removed,
    matched: r.accounts_matched,
    unmatched: r.accounts_unmatched,
    orphan: r.accounts_orphan,
  },
  remediations: { pending: r.remediations_pending, held: r.remediations_held, applied: r.remediations_applied },
  baseline: r.baseline,
  safetyThreshold: r.safety_threshold,
  heldReason: r.held_reason,
  attempts: r.attempts,
  lastError: r.last_error,
  startedBy: r.started_by,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

export const getRunRow = (db: Executor, id: string): Promise<RunRow | undefined> => db.selectFrom('reconciliation_runs').selectAll().where('id', '=', id).executeTakeFirst();

export const activeRunOf = (db: Executor, applicationId: string): Promise<RunRow | undefined> =>
  db.selectFrom('reconciliation_runs').selectAll().where('application_id', '=', applicationId).where('status', 'in', [...ACTIVE_RUN_STATUSES]).executeTakeFirst();

/** The application's last completed run before `beforeId`'s creation (the previous snapshot), if any. */
export async function hasCompletedRun(db: Executor, applicationId: string, exceptId: string): Promise<boolean> {
  const r = await db.selectFrom('reconciliation_runs').select('id').where('application_id', '=', applicationId).where('status', '=', 'completed').where('id', '<>', exceptId).limit(1).executeTakeFirst();
  return r !== undefined;
}

export function listRunRows(db: Executor, applicationId: string | undefined, limit: number, before?: { createdAt: Date; id: string }): Promise<RunRow[]> {
  let q = db.selectFrom('reconciliation_runs').selectAll();
  if (applicationId !== undefined) q = q.where('application_id', '=', applicationId);
  if (before) q = q.where(sql<boolean>`(created_at, id) < (${before.createdAt}, ${before.id})`);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Marks progress; returns the run's status after the write (a stop request shows up here). */
export async function updateRun(db: Executor, id: string, set: Partial<Record<keyof ReconciliationRunsTable, unknown>>): Promise<RunStatus> {
  const r = await db
    .updateTable('reconciliation_runs')
    .set({ ...(set as object), updated_at: sql<Date>`now()` } as never)
    .where('id', '=', id)
    .returning('status')
    .executeTakeFirstOrThrow();
  return r.status as RunStatus;
}

/** The run is held by another worker whose lease has not ended: this one must not carry it out now. */
export class RunLeased extends Error {
  readonly owner: string | null;
  readonly leaseUntil: Date | null;
  constructor(runId: string, owner: string | null, leaseUntil: Date | null) {
    super(`reconciliation run ${runId} is being carried out by ${owner ?? 'another worker'} (lease until ${leaseUntil?.toISOString() ?? 'unknown'})`);
    this.name = 'RunLeased';
    this.owner = owner;
    this.leaseUntil = leaseUntil;
  }
}

/** This worker's lease on the run was taken over by another (it outlived its lease): what it was writing is refused. */
export class RunLeaseLost extends Error {
  constructor(runId: string) {
    super(`this worker no longer holds reconciliation run ${runId}: another worker took it over after its lease ended`);
    this.name = 'RunLeaseLost';
  }
}

const leaseEnd = (leaseMs: number) => sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`;

/**
 * Takes an active run for `owner` when nobody holds it, its holder's lease has ended, or
 * `owner` holds it already: marks it running with a fresh lease and one more attempt. Returns
 * the run as taken, or undefined when another worker holds it (or it has ended).
 */
export async function claimRun(db: Executor, id: string, owner: string, leaseMs: number): Promise<RunRow | undefined> {
  return db
    .updateTable('reconciliation_runs')
    .set({
      owner,
      lease_until: leaseEnd(leaseMs),
      status: sql<string>`case when status = 'queued' then 'running' else status end`,
      started_at: sql<Date>`coalesce(started_at, now())`,
      attempts: sql<number>`attempts + 1`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('status', 'in', [...ACTIVE_RUN_STATUSES])
    .where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', owner), eb('lease_until', '<', sql<Date>`now()`)]))
    .returningAll()
    .executeTakeFirst();
}

/**
 * Marks progress of a run `owner` holds, renewing its lease; returns the run's status after the
 * write. Throws RunLeaseLost (so the caller's transaction, with the page it wrote, rolls back)
 * when another worker has taken the run over.
 */
export async function updateOwnedRun(db: Executor, id: string, owner: string, leaseMs: number, set: Partial<Record<keyof ReconciliationRunsTable, unknown>>): Promise<RunStatus> {
  const r = await db
    .updateTable('reconciliation_runs')
    .set({ ...(set as object), lease_until: leaseEnd(leaseMs), updated_at: sql<Date>`now()` } as never)
    .where('id', '=', id)
    .where('owner', '=', owner)
    .returning('status')
    .executeTakeFirst();
  if (!r) throw new RunLeaseLost(id);
  return r.status as RunStatus;
}

/** Locks the run's row for the rest of the transaction, checking that `owner` still holds it (the apply step). */
export async function lockOwnedRun(db: Executor, id: string, owner: string): Promise<void> {
  const r = await db.selectFrom('reconciliation_runs').select('owner').where('id', '=', id).forUpdate().executeTakeFirst();
  if (r?.owner !== owner) throw new RunLeaseLost(id);
}

/** Gives the run up (interrupted, or a retryable error): another worker may resume it at once. */
export async function releaseRun(db: Executor, id: string, owner: string): Promise<void> {
  await db.updateTable('reconciliation_runs').set({ owner: null, lease_until: null }).where('id', '=', id).where('owner', '=', owner).execute();
}
