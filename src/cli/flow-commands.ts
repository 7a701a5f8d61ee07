/**
 * `steward flow list|show|retry|cancel` and `steward worker`. Flow commands speak the HTTP
 * API (`withApi`): the running server's, or the same routes in this process.
 */
import { Option, type Command } from 'commander';
import { withApi } from './api-call.ts';
import { loadConfig } from './config.ts';
import { openRuntime, startWorkers } from './runtime.ts';

const dataOption = () => new Option('--data <dir>', 'embedded data directory (default ./data, or STEWARD_DATA_DIR)');

interface FlowWire {
  id: string;
  purpose: string;
  status: string;
  applicationId: string;
  identityId: string | null;
  createdAt: string;
  finishedAt: string | null;
  scripts?: { position: number; type: string; status: string; attempts: number; lastError: { message?: string } | null; output: unknown }[];
}

function printFlow(f: FlowWire): void {
  console.log(`flow ${f.id}: ${f.purpose}, ${f.status}; application ${f.applicationId}${f.identityId ? `, identity ${f.identityId}` : ''}; created ${f.createdAt}${f.finishedAt ? `, ended ${f.finishedAt}` : ''}`);
  for (const s of f.scripts ?? []) {
    const err = s.lastError?.message ? ` — last error: ${s.lastError.message}` : '';
    console.log(`  ${s.position}. ${s.type}: ${s.status} (${s.attempts} attempt${s.attempts === 1 ? '' : 's'})${err}`);
  }
}

/** Registers `steward flow …` and `steward worker`; `setStatus` receives the exit status. */
export function registerFlowCommands(program: Command, setStatus: (status: number) => void): void {
  const flow = program.command('flow').description('ActionFlows: the step-by-step runs that carry out access changes');
  flow
    .command('list')
    .description('list ActionFlows, oldest first (tab-separated: id, purpose, status, application, identity, created)')
    .addOption(new Option('--status <status>', 'only flows in this status').choices(['pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']))
    .option('--identity <id>', 'only flows for this identity')
    .option('--application <id>', 'only flows on this application')
    .option('--limit <n>', 'at most this many', '100')
    .addOption(dataOption())
    .action(async (o: { status?: string; identity?: string; application?: string; limit: string; data?: string }) => {
      await withApi(loadConfig(o), 'steward flow list', async (call) => {
        let cursor: string | null = null;
        let left = Math.max(1, Number(o.limit) || 100);
        do {
          const q = new URLSearchParams({ limit: String(Math.min(left, 1000)) });
          if (o.status) q.set('status', o.status);
          if (o.identity) q.set('identityId', o.identity);
          if (o.application) q.set('applicationId', o.application);
          if (cursor) q.set('cursor', cursor);
          const page = (await call('GET', `/v1.0/flows?${q.toString()}`)) as { items: FlowWire[]; nextCursor: string | null };
          for (const f of page.items) console.log([f.id, f.purpose, f.status, f.applicationId, f.identityId ?? '-', f.createdAt].join('\t'));
          left -= page.items.length;
          cursor = page.nextCursor;
        } while (cursor && left > 0);
      });
    });
  flow
    .command('show')
    .description('one ActionFlow and each of its scripts: status, attempts, last error')
    .argument('<id>', 'the flow id')
    .addOption(dataOption())
    .action(async (id: string, o: { data?: string }) => {
      await withApi(loadConfig(o), 'steward flow show', async (call) => printFlow((await call('GET', `/v1.0/flows/${encodeURIComponent(id)}`)) as FlowWire));
    });
  for (const [name, description] of [
    ['retry', 'retry a failed ActionFlow from the script that failed'],
    ['cancel', 'cancel an ActionFlow that has not ended'],
  ] as const) {
    flow
      .command(name)
      .description(description)
      .argument('<id>', 'the flow id')
      .addOption(dataOption())
      .action(async (id: string, o: { data?: string }) => {
        await withApi(loadConfig(o), `steward flow ${name}`, async (call) => printFlow((await call('POST', `/v1.0/flows/${encodeURIComponent(id)}/${name}`)) as FlowWire));
      });
  }

  program
    .command('worker')
    .description('run workers only (ActionFlows, approval notices, reconciliation, lifecycle) on the shared queue; with PostgreSQL any number may run on several machines')
    .option('--concurrency <n>', 'scripts run at once by this process (default 8, or STEWARD_WORKER_CONCURRENCY)')
    .addOption(dataOption())
    .action(async (o: { concurrency?: string; data?: string }) => {
      const config = loadConfig(o);
      const concurrency = o.concurrency ? Number(o.concurrency) : config.workerConcurrency;
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new Error(`--concurrency: '${o.concurrency}' is not a whole number from 1 to 256`);
      const rt = await openRuntime(config, 'steward worker', { queue: true });
      await startWorkers(rt, { ...config, workerConcurrency: concurrency });
      console.log(`Steward worker running ${concurrency} at once on ${config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`} (pid ${process.pid}).`);
      setStatus(
        await new Promise<number>((resolveExit) => {
          let stopping = false;
          const stop = () => {
            if (stopping) return;
            stopping = true;
            void rt.close().finally(() => resolveExit(0));
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        }),
      );
    });
}
