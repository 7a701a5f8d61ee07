/**
 * The reconciliation service: start, watch, stop and carry out runs; their deltas; the
 * per-application settings and schedules. A run is a row; the job queue (queue `recon.run`,
 * one job per run) carries it out, and without a queue (tests, one-off CLI use) it runs in
 * this process in the background.
 */
import { sql } from 'kysely';
import type { ConnectorLimiter, ConnectorRegistry } from '../connectors/index.ts';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import type { JobQueue, QueueSettings } from '../jobs/index.ts';
import { getApplicationRow } from '../store/applications.ts';
import { appendAudit } from '../store/audit.ts';
import type { SecretBox } from '../store/crypto.ts';
import type { Db, Executor } from '../store/db.ts';
import { isUniqueViolation } from '../store/errors.ts';
import { getDelta } from './deltas.ts';
import { changeReadingRefusal, executeRun, RunAborted, type RunOptions } from './engine.ts';
import { parseChangeCursor } from './change-cursor.ts';
import type { ExecutePlan } from './remediation.ts';
import { activeRunOf, getRunRow, listRunRows, toRun, updateRun, type ReconciliationRun, type RunMode } from './runs.ts';
import { DEFAULT_SAFETY_THRESHOLD, SCHEDULE_QUEUE, validateSettings, type ReconciliationSettings } from './schedules.ts';

export const RUN_QUEUE = 'recon.run';
/** The run queue's settings, wherever it is declared: a run may take an hour, and a retried job resumes it. */
export const RUN_QUEUE_SETTINGS: QueueSettings = { expireInSeconds: 3_600, retryLimit: 10, retryDelay: 5 };

export interface ReconciliationDeps {
  db: Db;
  secrets: SecretBox;
  connectors: ConnectorRegistry;
  limiter: ConnectorLimiter;
  queue?: JobQueue | undefined;
  /** Hands a revoke's ProvisioningPlan to the workflows side (an ActionFlow); without it revokes stay `planned`. */
  executePlan?: ExecutePlan | undefined;
  /** Without a queue, whether start() carries the run out in this process (default true); tests drive runNow themselves with false. */
  runInBackground?: boolean;
  /** Called with a background run's unexpected failure (no queue); default: ignored, the run records it. */
  onError?: (e: unknown) => void;
  /** How long a worker's hold on a run lasts without a page written (seconds; default 300). */
  leaseSeconds?: number;
}

export interface StartOptions {
  mode?: RunMode;
}

export interface AccountDelta {
  reconciliationId: string;
  accountId: string;
  kind: 'appeared' | 'changed' | 'removed';
  attributes: Record<string, { before?: unknown; after?: unknown }>;
  enabled?: { before: boolean | null; after: boolean | null };
  locked?: { before: boolean | null; after: boolean | null };
  entitlements: { added: unknown[]; removed: unknown[] };
}

export interface RunService {
  /** Queues a run of the application (one at a time); 409 names the active one. */
  start(actor: Actor, applicationId: string, options?: StartOptions): Promise<ReconciliationRun>;
  status(applicationId: string, runId: string): Promise<ReconciliationRun>;
  list(applicationId: string | undefined, limit: number, before?: { createdAt: Date; id: string }): Promise<ReconciliationRun[]>;
  /** Asks a queued or running run to stop after its current page. */
  stop(actor: Actor, applicationId: string, runId: string): Promise<ReconciliationRun>;
  /** Carries out (or resumes) a run in this process; the `recon.run` job handler calls it. */
  runNow(runId: string, options?: RunOptions): Promise<ReconciliationRun>;
  delta(applicationId: string, runId: string, accountId: string): Promise<AccountDelta>;
  getSettings(applicationId: string): Promise<ReconciliationSettings>;
  putSettings(actor: Actor, applicationId: string, input: { schedule?: string | null; scheduleMode?: string; safetyThreshold?: number; pageSize?: number | null }): Promise<ReconciliationSettings>;
  /** Registers every stored schedule with the queue (at worker start). */
  syncSchedules(): Promise<number>;
  /** Resolves when every background run started by this process has ended (no queue). */
  idle(): Promise<void>;
}

export async function requireApplication(db: Executor, id: string) {
  const row = await getApplicationRow(db, id);
  if (!row) throw new StewardError('application.not_found', `no application has id ${id}`);
  return row;
}

async function settingsOf(db: Executor, applicationId: string): Promise<ReconciliationSettings> {
  const r = await db.selectFrom('reconciliation_settings').selectAll().where('application_id', '=', applicationId).executeTakeFirst();
  return {
    applicationId,
    schedule: r?.schedule ?? null,
    scheduleMode: (r?.schedule_mode as 'full' | 'incremental' | undefined) ?? 'full',
    safetyThreshold: r?.safety_threshold ?? DEFAULT_SAFETY_THRESHOLD,
    pageSize: r?.page_size ?? null,
  };
}

export function createRunService(deps: ReconciliationDeps): RunService {
  const { db } = deps;
  const background = new Set<Promise<unknown>>();
  const declared = new Set<string>();
  const declare = async (name: string) => {
    if (!deps.queue || declared.has(name)) return;
    await deps.queue.declare(name, name === RUN_QUEUE ? RUN_QUEUE_SETTINGS : {});
    declared.add(name);
  };

  const runNow = (runId: string, options?: RunOptions) => executeRun(deps, runId, options);

  /**
   * How an incremental request is carried out: incremental from the change cursor of the
   * application's latest completed run when its connector reads changes and there is one;
   * otherwise full, with the reason.
   */
  async function incrementalPlan(app: Awaited<ReturnType<typeof requireApplication>>): Promise<{ mode: RunMode; reason: string | null; since: string | null }> {
    const refusal = changeReadingRefusal(deps, app);
    if (refusal !== null) return { mode: 'full', reason: refusal, since: null };
    const last = await db.k.selectFrom('reconciliation_runs').select('change_cursor').where('application_id', '=', app.id).where('status', '=', 'completed').orderBy('finished_at', 'desc').orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (last === undefined) return { mode: 'full', reason: 'the application has no completed run to read changes since, so every account was read', since: null };
    if (last.change_cursor === null) return { mode: 'full', reason: 'the last completed run left no change cursor (it saw no modification times), so every account was read', since: null };
    if (!parseChangeCursor(last.change_cursor).ok) return { mode: 'full', reason: 'the stored change cursor is unreadable, so every account was read', since: null };
    return { mode: 'incremental', reason: null, since: last.change_cursor };
  }

  async function scheduleOne(s: ReconciliationSettings): Promise<void> {
    if (!deps.queue) return;
    await declare(SCHEDULE_QUEUE);
    if (s.schedule === null) await deps.queue.boss.unschedule(SCHEDULE_QUEUE, s.applicationId);
    else await deps.queue.boss.schedule(SCHEDULE_QUEUE, s.schedule, { applicationId: s.applicationId, mode: s.scheduleMode }, { key: s.applicationId, tz: 'UTC' });
  }

  return {
    async start(actor, applicationId, options = {}) {
      const app = await requireApplication(db.k, applicationId);
      const settings = await settingsOf(db.k, applicationId);
      const requested = options.mode ?? 'full';
      const plan = requested === 'incremental' ? await incrementalPlan(app) : { mode: 'full' as const, reason: null, since: null };
      await declare(RUN_QUEUE);
      let runId: string;
      try {
        runId = await db.tx(async (tx) => {
          const row = await tx
            .insertInto('reconciliation_runs')
            // An incremental run starts with the cursor it reads from: if it reads nothing new, the cursor stays.
            .values({ application_id: app.id, requested_mode: requested, mode: plan.mode, mode_reason: plan.reason, change_since: plan.since, change_cursor: plan.since, page_size: settings.pageSize, safety_threshold: settings.safetyThreshold, started_by: actorLabel(actor) })
            .returning('id')
            .executeTakeFirstOrThrow();
          await appendAudit(tx, [{ actor: actorLabel(actor), action: 'reconciliation.start', objectType: 'application', objectId: app.id, after: { reconciliationId: row.id, mode: plan.mode, requestedMode: requested, ...(plan.reason === null ? {} : { modeReason: plan.reason }) } }]);
          if (deps.queue) await deps.queue.send(RUN_QUEUE, { runId: row.id }, { singletonKey: row.id, group: { id: app.id, limit: 1 } }, tx);
          return row.id;
        });
      } catch (e) {
        if (isUniqueViolation(e, 'reconciliation_runs_one_active')) {
          const active = await activeRunOf(db.k, applicationId);
          throw new StewardError('reconciliation.already_running', `application ${applicationId} already has reconciliation ${active?.id ?? '(just started)'} ${active?.status ?? 'queued'}; one run at a time`);
        }
        throw e;
      }
      if (deps.queue) deps.queue.wake(RUN_QUEUE);
      else if (deps.runInBackground !== false) {
        const p = runNow(runId)
          .catch(async (e: unknown) => {
            if (e instanceof RunAborted) return;
            deps.onError?.(e);
            await updateRun(db.k, runId, { status: 'failed', finished_at: new Date(), last_error: e instanceof Error ? e.message : String(e) }).catch(() => undefined);
          })
          .finally(() => background.delete(p));
        background.add(p);
      }
      return toRun((await getRunRow(db.k, runId))!);
    },

    async status(applicationId, runId) {
      await requireApplication(db.k, applicationId);
      const r = await getRunRow(db.k, runId);
      if (!r || r.application_id !== applicationId) throw new StewardError('reconciliation.not_found', `application ${applicationId} has no reconciliation run with id ${runId}`);
      return toRun(r);
    },

    async list(applicationId, limit, before) {
      if (applicationId !== undefined) await requireApplication(db.k, applicationId);
      return (await listRunRows(db.k, applicationId, limit, before)).map(toRun);
    },

    async stop(actor, applicationId, runId) {
      await this.status(applicationId, runId);
      const stopped = await db.tx(async (tx) => {
        const r = await sql<{ status: string }>`
          update reconciliation_runs set status = case when status = 'queued' then 'stopped' else 'stopping' end,
            finished_at = case when status = 'queued' then now() else finished_at end, updated_at = now()
          where id = ${runId}::uuid and status in ('queued', 'running')
          returning status`.execute(tx);
        if (r.rows.length === 0) return null;
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'reconciliation.stop', objectType: 'application', objectId: applicationId, after: { reconciliationId: runId } }]);
        return r.rows[0]!.status;
      });
      const run = await this.status(applicationId, runId);
      if (stopped === null && run.status !== 'stopping') throw new StewardError('reconciliation.not_active', `reconciliation ${runId} has already ended (${run.status})`);
      return run;
    },

    runNow,

    async delta(applicationId, runId, accountId) {
      await this.status(applicationId, runId);
      const d = await getDelta(db.k, runId, accountId);
      if (!d) throw new StewardError('reconciliation.no_delta', `reconciliation ${runId} recorded no change of account ${accountId}`);
      const c = d.changes as Omit<AccountDelta, 'reconciliationId' | 'accountId' | 'kind'>;
      return { reconciliationId: runId, accountId, kind: d.kind as AccountDelta['kind'], attributes: c.attributes ?? {}, entitlements: c.entitlements ?? { added: [], removed: [] }, ...(c.enabled ? { enabled: c.enabled } : {}), ...(c.locked ? { locked: c.locked } : {}) };
    },

    async getSettings(applicationId) {
      await requireApplication(db.k, applicationId);
      return settingsOf(db.k, applicationId);
    },

    async putSettings(actor, applicationId, input) {
      await requireApplication(db.k, applicationId);
      const v = validateSettings(input);
      if (!v.ok) throw new StewardError('reconciliation.invalid', v.errors.map((p) => `${p.field}: ${p.message}`).join('; '), { problems: v.errors });
      const before = await settingsOf(db.k, applicationId);
      const next: ReconciliationSettings = { ...before, ...v.value };
      await db.tx(async (tx) => {
        await tx
          .insertInto('reconciliation_settings')
          .values({ application_id: applicationId, schedule: next.schedule, schedule_mode: next.scheduleMode, safety_threshold: next.safetyThreshold, page_size: next.pageSize })
          .onConflict((oc) => oc.column('application_id').doUpdateSet({ schedule: next.schedule, schedule_mode: next.scheduleMode, safety_threshold: next.safetyThreshold, page_size: next.pageSize, updated_at: new Date() }))
          .execute();
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'reconciliation.settings', objectType: 'application', objectId: applicationId, before, after: next }]);
      });
      await scheduleOne(next);
      return next;
    },

    async syncSchedules() {
      const rows = await db.k.selectFrom('reconciliation_settings').select('application_id').where('schedule', 'is not', null).execute();
      for (const r of rows) await scheduleOne(await settingsOf(db.k, r.application_id));
      return rows.length;
    },

    async idle() {
      while (background.size > 0) await Promise.allSettled([...background]);
    },
  };
}
