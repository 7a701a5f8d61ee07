import { SYSTEM_ACTOR } from '../domain/actor.ts';
import { createJobQueue, type JobQueue } from '../jobs/index.ts';
import { createServices, type Services, type WorkflowOptions } from '../services/index.ts';
import { createSecretBox } from '../store/crypto.ts';
import { migrate, openDb } from '../store/db.ts';
import { ALL_RUNNERS } from '../workflows/runners/all.ts';
import { GRACE_QUEUE, GRACE_SETTINGS, RULE_RECOMPUTE_QUEUE, RULE_RECOMPUTE_SETTINGS, graceScheduler, recomputeSender, startLifecycleWorker, type LifecycleWorker } from '../lifecycle/index.ts';
import { RECOMPUTE_QUEUE, RUN_QUEUE, RUN_QUEUE_SETTINGS, SCHEDULE_QUEUE, registerReconcileWorkers } from '../reconcile/index.ts';
import { APPROVAL_NOTIFY_QUEUE, APPROVAL_NOTIFY_SETTINGS, APPROVAL_SWEEP_QUEUE, APPROVAL_SWEEP_SETTINGS, FLOW_QUEUE, flowQueueSettings } from '../workflows/index.ts';
import type { Config } from './config.ts';
import { loadSecretKey } from './config.ts';

/** The database, migrated, and the services over it: everything wired in one place. */
export interface Runtime {
  services: Services;
  /** The durable job queue, when the command runs work (serve, worker). */
  queue: JobQueue | undefined;
  /** The lifecycle event worker, once started; stopped by `close`. */
  lifecycleWorker: LifecycleWorker | undefined;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Start the job queue (pg-boss) on the database: `serve` and `worker` do, one-shot commands do not. */
  queue?: boolean;
  log?: { info(fields: object, msg?: string): void; warn(fields: object, msg?: string): void; error(fields: object, msg?: string): void };
}

/** The workflows' settings from the configuration: runners, mail, Slack and where people reach Steward. */
export function workflowOptions(config: Config, queue: JobQueue | undefined, log?: RuntimeOptions['log']): WorkflowOptions {
  const listen = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  return {
    ...(queue ? { queue } : {}),
    runners: ALL_RUNNERS,
    publicUrl: config.publicUrl ?? listen,
    ...(config.smtpUrl ? { mail: { transport: config.smtpUrl, from: config.mailFrom } } : {}),
    ...(config.slackBotToken && config.slackSigningSecret ? { slack: { apiUrl: config.slackApiUrl, botToken: config.slackBotToken, signingSecret: config.slackSigningSecret } } : {}),
    ...(log ? { log } : {}),
  };
}

export async function openRuntime(config: Config, command: string, options: RuntimeOptions = {}): Promise<Runtime> {
  const key = loadSecretKey(config);
  const db = await openDb({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    command,
    onError: (e) => options.log?.warn({ err: e.message, code: (e as { code?: string }).code }, 'database connection lost; the next query opens another'),
  });
  let queue: JobQueue | undefined;
  let lifecycleWorker: LifecycleWorker | undefined;
  try {
    await migrate(db);
    if (options.queue) {
      queue = createJobQueue({ db, superviseIntervalSeconds: config.queueSuperviseSeconds, onError: (e) => options.log?.warn({ err: e.message }, 'job queue error') });
      await queue.start();
      await declareQueues(queue, config);
    }
    const services = createServices({ db, secrets: createSecretBox(key), workflows: workflowOptions(config, queue, options.log), ...(queue ? { lifecycle: { scheduleGraceEnd: graceScheduler(queue), enqueueRecompute: recomputeSender(queue) } } : {}) });
    return {
      services,
      queue,
      get lifecycleWorker() {
        return lifecycleWorker;
      },
      async close() {
        try {
          await lifecycleWorker?.stop();
          await queue?.stop();
          await services.connectorAccess.close();
        } finally {
          await db.close();
        }
      },
      set lifecycleWorker(w: LifecycleWorker | undefined) {
        lifecycleWorker = w;
      },
    };
  } catch (e) {
    await queue?.stop().catch(() => undefined);
    await db.close();
    throw e;
  }
}

/**
 * Declares every queue Steward sends to, before anything is sent. The workers declare theirs
 * again from the same settings constants (a differing declaration throws, see `JobQueue.declare`).
 */
async function declareQueues(queue: JobQueue, config: Config): Promise<void> {
  await queue.declare(FLOW_QUEUE, flowQueueSettings(config.scriptTimeoutSeconds));
  await queue.declare(APPROVAL_NOTIFY_QUEUE, APPROVAL_NOTIFY_SETTINGS);
  await queue.declare(APPROVAL_SWEEP_QUEUE, APPROVAL_SWEEP_SETTINGS);
  await queue.declare(GRACE_QUEUE, GRACE_SETTINGS);
  await queue.declare(RULE_RECOMPUTE_QUEUE, RULE_RECOMPUTE_SETTINGS);
  await queue.declare(RUN_QUEUE, RUN_QUEUE_SETTINGS);
  await queue.declare(SCHEDULE_QUEUE);
  await queue.declare(RECOMPUTE_QUEUE);
}

/** Starts every kind of worker on the queue: ActionFlows, approval notices and sweeps, reconciliation, lifecycle. */
export async function startWorkers(rt: Runtime, config: Pick<Config, 'workerConcurrency' | 'scriptTimeoutSeconds'>, log?: RuntimeOptions['log']): Promise<void> {
  const queue = rt.queue;
  if (!queue) throw new Error('the runtime was opened without a job queue');
  await rt.services.workflows.work({ concurrency: config.workerConcurrency, scriptTimeoutSeconds: config.scriptTimeoutSeconds });
  await registerReconcileWorkers(queue, rt.services.reconciliation);
  // An adopted account's identity is recomputed: its desired access now covers the account.
  await queue.work<{ identityId: string }>(RECOMPUTE_QUEUE, { concurrency: 1 }, async (job) => {
    await rt.services.lifecycle.recompute(SYSTEM_ACTOR, { ids: [job.data.identityId] });
  });
  rt.lifecycleWorker = await startLifecycleWorker({ queue, lifecycle: rt.services.lifecycle, onError: (e) => log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'lifecycle events failed; trying again') });
}

/** Creates the bootstrap admin client when the database has none; returns whether it did. */
export async function bootstrap(services: Services, token: string | undefined): Promise<boolean> {
  if (!token) return false;
  if ((await services.clients.count()) > 0) return false;
  await services.clients.create(SYSTEM_ACTOR, { name: 'bootstrap', privileges: ['admin'], token });
  return true;
}
