/**
 * The lifecycle's background work: the jobs that end grace periods (scheduled in the
 * durable queue for their due time, so a restart loses none), the jobs that recompute
 * everyone after a rule save, and the loop that turns recorded events into recomputations.
 */
import type { JobQueue } from '../jobs/index.ts';
import type { Executor } from '../store/db.ts';
import { GRACE_QUEUE, GRACE_SETTINGS, type ScheduleGraceEnd } from './grace.ts';
import { RULE_RECOMPUTE_QUEUE, RULE_RECOMPUTE_SETTINGS, type EnqueueRecompute } from './rule-recompute.ts';
import type { LifecycleService } from './service.ts';

export interface LifecycleWorker {
  stop(): Promise<void>;
}

/** Schedules a grace period's end as a job in the same transaction that starts it. */
export const graceScheduler =
  (queue: JobQueue): ScheduleGraceEnd =>
  async (trx: Executor, id: string, dueAt: Date) => {
    await queue.send(GRACE_QUEUE, { id }, { startAfter: dueAt, singletonKey: `grace:${id}` }, trx);
  };

/** Sends a rule save's recompute job in the save's own transaction. */
export const recomputeSender =
  (queue: JobQueue): EnqueueRecompute =>
  async (trx: Executor, id: string) => {
    await queue.send(RULE_RECOMPUTE_QUEUE, { id }, { singletonKey: `rule-recompute:${id}` }, trx);
  };

export async function startLifecycleWorker(o: { queue: JobQueue; lifecycle: LifecycleService; pollMs?: number; onError?: (e: unknown) => void }): Promise<LifecycleWorker> {
  const { queue, lifecycle } = o;
  await queue.declare(GRACE_QUEUE, GRACE_SETTINGS);
  await queue.work<{ id: string }>(GRACE_QUEUE, { concurrency: 1 }, async (job) => {
    await lifecycle.completeGrace(job.data.id);
  });
  // A rule save's recompute of everyone: one at a time; a run the process died in is run again.
  await queue.declare(RULE_RECOMPUTE_QUEUE, RULE_RECOMPUTE_SETTINGS);
  await queue.work<{ id: string }>(RULE_RECOMPUTE_QUEUE, { concurrency: 1 }, async (job) => {
    await lifecycle.runRecompute(job.data.id);
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        while (!stopped && (await lifecycle.processEvents()).events > 0);
      } catch (e) {
        o.onError?.(e);
      } finally {
        if (!stopped) timer = setTimeout(tick, o.pollMs ?? 2000);
      }
    })();
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
