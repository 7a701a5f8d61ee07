/**
 * Reconciliation (seed 003): reading an application's accounts back, matching them to
 * identities by the adoption policy, recording what changed out of band, and remediating
 * it as the application's remediation policy says.
 */
import { SYSTEM_ACTOR } from '../domain/actor.ts';
import { isStewardError } from '../domain/errors.ts';
import type { JobQueue } from '../jobs/index.ts';
import { createAccountStateService, type AccountStateService } from './account-states.ts';
import { createRemediationService, type RemediationService } from './remediation-service.ts';
import { RunLeased, type RunMode } from './runs.ts';
import { SCHEDULE_QUEUE } from './schedules.ts';
import { createRunService, RUN_QUEUE, RUN_QUEUE_SETTINGS, type ReconciliationDeps, type RunService } from './service.ts';

export { RECOMPUTE_QUEUE, toReconciledAccount, type ReconciledAccount } from './account-states.ts';
export { DEFAULT_LEASE_SECONDS, RunAborted, type RunOptions } from './engine.ts';
export { entitlementAttributes, revokePlan, revokeRequests } from './plans.ts';
export { DECISIONS, REMEDIATION_STATUSES, type Decision, type ExecutePlan, type Remediation, type RemediationStatus } from './remediation.ts';
export type { RemediationFilter } from './remediation-service.ts';
export { RUN_STATUSES, RunLeased, RunLeaseLost, type ReconciliationRun, type RunMode, type RunStatus } from './runs.ts';
export { DEFAULT_SAFETY_THRESHOLD, parseCron, SCHEDULE_QUEUE, type ReconciliationSettings } from './schedules.ts';
export { RUN_QUEUE, RUN_QUEUE_SETTINGS, type AccountDelta, type ReconciliationDeps } from './service.ts';
export { ACCOUNT_ACTIONS, ACCOUNT_STATES, TRANSITIONS, allowedActions, type AccountAction, type AccountState } from './states.ts';

/** Runs, accounts' states and adoption, and remediations: the reconciliation service. */
export interface Reconciliation extends RunService {
  accounts: AccountStateService;
  remediations: RemediationService;
}

export function createReconciliation(deps: ReconciliationDeps): Reconciliation {
  const runs = createRunService(deps);
  return Object.assign(runs, {
    accounts: createAccountStateService({ db: deps.db, queue: deps.queue }),
    remediations: createRemediationService({ db: deps.db, executePlan: deps.executePlan }),
  });
}

export interface WorkerOptions {
  /** Runs carried out at once by this process (each of a different application). */
  concurrency?: number;
}

/**
 * Makes this process a reconciliation worker: it takes `recon.run` jobs (one per run; a
 * retried job resumes its run from the last page; a job for a run another worker holds waits
 * for that worker's lease to end) and `recon.schedule` firings, and
 * registers the stored schedules with the queue.
 */
export async function registerReconcileWorkers(queue: JobQueue, service: Reconciliation, options: WorkerOptions = {}): Promise<void> {
  await queue.declare(RUN_QUEUE, RUN_QUEUE_SETTINGS);
  await queue.declare(SCHEDULE_QUEUE);
  await queue.work<{ runId: string }>(RUN_QUEUE, { concurrency: options.concurrency ?? 2, groupLimit: 1 }, async (job) => {
    // pg-boss hands a job out again once it expires, even while its first worker is still going:
    // this one waits for that worker's lease to end (or the run to end) rather than run it twice.
    for (;;) {
      try {
        await service.runNow(job.data.runId);
        return;
      } catch (e) {
        if (!(e instanceof RunLeased)) throw e;
        const wait = (e.leaseUntil?.getTime() ?? Date.now()) - Date.now() + 500;
        await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(wait, 500), 60_000)));
      }
    }
  });
  await queue.work<{ applicationId: string; mode?: RunMode }>(SCHEDULE_QUEUE, {}, async (job) => {
    try {
      await service.start(SYSTEM_ACTOR, job.data.applicationId, { mode: job.data.mode ?? 'full' });
    } catch (e) {
      // A firing while the last run is still going, or for an application deleted since, is skipped.
      if (isStewardError(e) && (e.code === 'reconciliation.already_running' || e.code === 'application.not_found')) return;
      throw e;
    }
  });
  await service.syncSchedules();
}
