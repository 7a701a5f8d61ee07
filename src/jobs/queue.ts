/**
 * The durable job queue: pg-boss 12 over Steward's own database. On PostgreSQL pg-boss keeps
 * its own small pool (and a LISTEN connection, so a worker wakes the moment a job is sent);
 * on the embedded database it goes through the same PGlite worker as everything else.
 *
 * A job sent with a transaction commits or rolls back with it. Jobs are triggers: what a
 * job does and how far it got lives in Steward's own tables, so a worker killed at any
 * moment loses nothing; pg-boss hands the job to another worker once it expires.
 */
import { fromKysely, PgBoss, type Clock, type Job, type JobInsert } from 'pg-boss';
import type { Db, Executor } from '../store/db.ts';

export type { Job } from 'pg-boss';

/** The schema pg-boss installs its tables in. */
export const QUEUE_SCHEMA = 'pgboss';

export interface JobQueueOptions {
  db: Db;
  /** Size of pg-boss's own pool on PostgreSQL. */
  poolSize?: number;
  /** Source of time for pg-boss's timers; tests pass a controllable one. */
  clock?: Clock;
  /** How often pg-boss looks for expired jobs (a worker that died), in seconds. */
  superviseIntervalSeconds?: number;
  /** Let this process run pg-boss's maintenance (expiry, retention); on by default. */
  supervise?: boolean;
  onError?: (error: Error) => void;
}

export interface QueueSettings {
  /** Seconds a job may stay active before it is taken to have died and handed out again. */
  expireInSeconds?: number;
  /** How many times pg-boss itself retries a job whose handler threw or whose worker died. */
  retryLimit?: number;
  retryDelay?: number;
  retryBackoff?: boolean;
  /** Days a finished job is kept. */
  deleteAfterSeconds?: number;
}

export interface SendOptions {
  /** Not before this time. */
  startAfter?: Date;
  /** At most one queued or active job with this key. */
  singletonKey?: string;
  /** Jobs of one group (an application) are limited together; see `WorkOptions.groupLimit`. */
  group?: { id: string; limit?: number };
  priority?: number;
}

export interface WorkOptions {
  /** Jobs fetched per poll. */
  batchSize?: number;
  /** Handlers running at once in this process. */
  concurrency?: number;
  /** Poll interval when no notification wakes the worker, in seconds (>= 0.5). */
  pollingIntervalSeconds?: number;
  /** Limit on running jobs per group across every worker; a job's own `group.limit` wins. */
  groupLimit?: number;
}

export type JobHandler<T> = (job: Job<T>) => Promise<void>;

/** The largest per-group limit a job may carry (pg-boss tiers are declared up front). */
const MAX_GROUP_LIMIT = 64;
const GROUP_TIERS: Record<string, number> = Object.fromEntries(Array.from({ length: MAX_GROUP_LIMIT }, (_, i) => [`limit${i + 1}`, i + 1]));

export interface JobQueue {
  readonly boss: PgBoss;
  /** Installs or upgrades pg-boss's schema and starts its timers. */
  start(): Promise<void>;
  /** Stops fetching, waits for running handlers (up to `timeoutMs`), closes pg-boss's pool. */
  stop(timeoutMs?: number): Promise<void>;
  /** Declares a queue (idempotent); declaring it again in this process with other settings throws. */
  declare(name: string, settings?: QueueSettings): Promise<void>;
  /** Enqueues one job; with `tx` it commits with the transaction. Call `wake` after the commit. */
  send<T extends object>(name: string, data: T, options?: SendOptions, tx?: Executor): Promise<string | null>;
  /** Enqueues many jobs in one statement. */
  sendMany<T extends object>(name: string, jobs: { data: T; options?: SendOptions }[], tx?: Executor): Promise<void>;
  /** Runs `handler` for each job of the queue; a handler that throws fails the job (pg-boss retries it). */
  work<T>(name: string, options: WorkOptions, handler: JobHandler<T>): Promise<void>;
  /** Wakes this process's workers of a queue now (or at `at`, for a job scheduled then) instead of at their next poll. */
  wake(name: string, at?: Date): void;
}

export function createJobQueue(options: JobQueueOptions): JobQueue {
  const { db } = options;
  const common = {
    schema: QUEUE_SCHEMA,
    supervise: options.supervise ?? true,
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 30,
    schedule: options.supervise ?? true,
    ...(options.clock ? { clock: options.clock } : {}),
    openTelemetry: { enabled: false },
  };
  const boss =
    db.kind === 'postgres' && db.url
      ? new PgBoss({ ...common, connectionString: db.url, max: options.poolSize ?? 4, useListenNotify: true, application_name: 'steward-jobs' })
      : new PgBoss({ ...common, db: fromKysely(db.k), backend: db.kind === 'pglite' ? 'pglite' : 'postgres' });
  boss.on('error', (e: Error) => options.onError?.(e));
  const workers = new Map<string, string[]>();
  /** Each queue declared in this process, with its settings as given (the first declaration is the one applied). */
  const declared = new Map<string, string>();

  const toInsert = <T extends object>(data: T, o: SendOptions = {}): JobInsert => ({
    data,
    ...(o.startAfter ? { startAfter: o.startAfter } : {}),
    ...(o.singletonKey ? { singletonKey: o.singletonKey } : {}),
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.group ? { group: { id: o.group.id, ...(o.group.limit ? { tier: `limit${Math.min(MAX_GROUP_LIMIT, Math.max(1, Math.floor(o.group.limit)))}` } : {}) } } : {}),
  });

  return {
    boss,
    async start() {
      await boss.start();
    },
    async stop(timeoutMs = 10_000) {
      await boss.stop({ graceful: true, timeout: timeoutMs, close: true });
    },
    async declare(name, settings = {}) {
      const given = JSON.stringify(Object.entries(settings).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
      const first = declared.get(name);
      if (first !== undefined) {
        // Two places declaring one queue must agree, or whichever ran first would silently win.
        if (first !== given) throw new Error(`job queue '${name}' is declared twice in this process with different settings (${first} and ${given}): declare it from one settings constant`);
        return;
      }
      const existing = await boss.getQueue(name);
      const queueOptions = {
        expireInSeconds: settings.expireInSeconds ?? 300,
        retryLimit: settings.retryLimit ?? 20,
        retryDelay: settings.retryDelay ?? 1,
        retryBackoff: settings.retryBackoff ?? true,
        retryDelayMax: 300,
        deleteAfterSeconds: settings.deleteAfterSeconds ?? 7 * 86_400,
        notify: true,
      };
      if (existing) await boss.updateQueue(name, queueOptions);
      else await boss.createQueue(name, queueOptions);
      // pg-boss looks a queue up on its first send; done here, outside any transaction, so that
      // a send inside one never waits for the embedded database's single session it holds.
      await boss.insert(name, []);
      declared.set(name, given);
    },
    async send(name, data, o, tx) {
      if (tx && db.kind === 'pglite' && !declared.has(name)) throw new Error(`job queue '${name}' is not declared in this process: declare it before sending inside a transaction`);
      const ids = await boss.insert(name, [toInsert(data, o)], { returnId: true, ...(tx ? { db: fromKysely(tx) } : {}) });
      return ids?.[0] ?? null;
    },
    async sendMany(name, jobs, tx) {
      if (jobs.length === 0) return;
      if (tx && db.kind === 'pglite' && !declared.has(name)) throw new Error(`job queue '${name}' is not declared in this process: declare it before sending inside a transaction`);
      await boss.insert(name, jobs.map((j) => toInsert(j.data, j.options)), tx ? { db: fromKysely(tx) } : {});
    },
    async work<T>(name: string, o: WorkOptions, handler: JobHandler<T>) {
      const batchSize = o.batchSize ?? 1;
      // One pg-boss worker per slot, each with its own id, so `wake` reaches every one of them
      // (pg-boss wakes a worker by id, and a multi-slot worker's other slots have ids of their own).
      for (let slot = 0; slot < (o.concurrency ?? 1); slot++) {
        const self: { id?: string } = {};
        const id = await boss.work<T>(
          name,
          {
            batchSize,
            localConcurrency: 1,
            pollingIntervalSeconds: o.pollingIntervalSeconds ?? 2,
            // A job scheduled for later is not announced when it becomes due: poll at the same pace.
            notifyPollingIntervalSeconds: o.pollingIntervalSeconds ?? 2,
            burstWhenBatchFull: batchSize > 1,
            ...(o.groupLimit ? { groupConcurrency: { default: o.groupLimit, tiers: GROUP_TIERS } } : {}),
          },
          async (jobs: Job<T>[]) => {
            for (const job of jobs) await handler(job);
            // A full batch means more may be waiting: look again at once rather than after the
            // polling interval (pg-boss bursts by itself only for batches larger than one).
            if (jobs.length >= batchSize && self.id !== undefined) boss.notifyWorker(self.id);
          },
        );
        self.id = id;
        workers.set(name, [...(workers.get(name) ?? []), id]);
      }
    },
    wake(name, at) {
      const poke = () => {
        for (const id of workers.get(name) ?? []) boss.notifyWorker(id);
      };
      const delay = at ? at.getTime() - Date.now() : 0;
      if (delay <= 0) poke();
      // Only a nudge to poll sooner: the job itself is durable and is found by polling anyway.
      else if (delay < 60_000) setTimeout(poke, delay + 5).unref();
    },
  };
}

/** Installs or upgrades the queue's schema without starting any timer (`steward migrate`). */
export async function installJobQueue(db: Db): Promise<void> {
  const queue = createJobQueue({ db, supervise: false });
  await queue.start();
  await queue.stop();
}
