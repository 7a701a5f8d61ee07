import { SYSTEM_ACTOR } from '../domain/actor.ts';
import { createJobQueue, type JobQueue } from '../jobs/index.ts';
import { createServices, type Services, type WorkflowOptions } from '../services/index.ts';
import { createSecretBox } from '../store/crypto.ts';
import { migrate, openDb } from '../store/db.ts';
import { ALL_RUNNERS } from '../workflows/runners/all.ts';
import type { Config } from './config.ts';
import { loadSecretKey } from './config.ts';

/** The database, migrated, and the services over it: everything wired in one place. */
export interface Runtime {
  services: Services;
  /** The durable job queue, when the command runs work (serve, worker). */
  queue: JobQueue | undefined;
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
  const db = await openDb({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir, command });
  let queue: JobQueue | undefined;
  try {
    await migrate(db);
    if (options.queue) {
      queue = createJobQueue({ db, superviseIntervalSeconds: config.queueSuperviseSeconds, onError: (e) => options.log?.warn({ err: e.message }, 'job queue error') });
      await queue.start();
    }
    const services = createServices({ db, secrets: createSecretBox(key), workflows: workflowOptions(config, queue, options.log) });
    return {
      services,
      queue,
      async close() {
        try {
          await queue?.stop();
        } finally {
          await db.close();
        }
      },
    };
  } catch (e) {
    await queue?.stop().catch(() => undefined);
    await db.close();
    throw e;
  }
}

/** Starts every kind of worker on the queue: ActionFlows, approval notices and sweeps, reconciliation, lifecycle. */
export async function startWorkers(rt: Runtime, config: Pick<Config, 'workerConcurrency' | 'scriptTimeoutSeconds'>): Promise<void> {
  if (!rt.queue) throw new Error('the runtime was opened without a job queue');
  await rt.services.workflows.work({ concurrency: config.workerConcurrency, scriptTimeoutSeconds: config.scriptTimeoutSeconds });
}

/** Creates the bootstrap admin client when the database has none; returns whether it did. */
export async function bootstrap(services: Services, token: string | undefined): Promise<boolean> {
  if (!token) return false;
  if ((await services.clients.count()) > 0) return false;
  await services.clients.create(SYSTEM_ACTOR, { name: 'bootstrap', privileges: ['admin'], token });
  return true;
}
