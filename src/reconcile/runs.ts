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
  mode: RunMode;
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
