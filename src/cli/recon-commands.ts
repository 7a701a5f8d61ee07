/**
 * `steward recon start APP [--wait]` and `steward recon status [APP]`: reconciliation from
 * the command line, through the running embedded server when one holds the data directory,
 * else on the database directly — where this process carries the run out itself, so it
 * always waits for it. APP is an application id or its exact name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { SYSTEM_ACTOR, type Actor } from '../domain/actor.ts';
import type { ReconciliationRun } from '../reconcile/index.ts';
import { readLock } from '../store/lock.ts';
import { loadConfig, type Config } from './config.ts';
import { openRuntime, type Runtime } from './runtime.ts';
import { CONTROL_TOKEN_FILE } from './serve.ts';

/** Exit status when the run ends failed or stopped. */
export const RUN_FAILED_STATUS = 6;

const CLI_ACTOR: Actor = { ...SYSTEM_ACTOR, kind: 'cli', name: process.env.USER ?? 'local' };
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const dataOption = () => new Option('--data <dir>', 'embedded data directory (default ./data, or STEWARD_DATA_DIR)');

interface ReconClient {
  /** The application's id, from an id or an exact name. */
  resolve(app: string): Promise<string>;
  start(appId: string, mode: 'full' | 'incremental'): Promise<ReconciliationRun>;
  status(appId: string, runId: string): Promise<ReconciliationRun>;
  list(appId: string | undefined, limit: number): Promise<ReconciliationRun[]>;
  /** Whether runs started here need this process to stay until they end. */
  readonly local: boolean;
  close(): Promise<void>;
}

function remoteClient(base: string, token: string): ReconClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) throw new Error((json as { error?: { message?: string } } | undefined)?.error?.message ?? `the server answered ${res.status}`);
    return json as T;
  };
  return {
    local: false,
    async resolve(app) {
      if (UUID_RE.test(app)) return app;
      const page = await call<{ items: { id: string; name: string }[] }>('GET', `/v1.0/applications?limit=100&namePrefix=${encodeURIComponent(app)}`);
      const hit = page.items.find((a) => a.name.toLowerCase() === app.toLowerCase());
      if (!hit) throw new Error(`no application is named '${app}'`);
      return hit.id;
    },
    start: (appId, mode) => call('POST', `/appaccess/v1.0/applications/${appId}/reconciliation`, { mode }),
    status: (appId, runId) => call('GET', `/appaccess/v1.0/applications/${appId}/reconciliation/${runId}`),
    async list(appId, limit) {
      const path = appId === undefined ? `/v1.0/reconciliations?limit=${limit}` : `/appaccess/v1.0/applications/${appId}/reconciliation?limit=${limit}`;
      return (await call<{ items: ReconciliationRun[] }>('GET', path)).items;
    },
    close: async () => {},
  };
}

function localClient(rt: Runtime): ReconClient {
  const recon = rt.services.reconciliation;
  return {
    local: true,
    async resolve(app) {
      if (UUID_RE.test(app)) return app;
      const row = await rt.services.db.k.selectFrom('applications').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', app.toLowerCase())).executeTakeFirst();
      if (!row) throw new Error(`no application is named '${app}'`);
      return row.id;
    },
    start: (appId, mode) => recon.start(CLI_ACTOR, appId, { mode }),
    status: (appId, runId) => recon.status(appId, runId),
    list: (appId, limit) => recon.list(appId, limit),
    async close() {
      await recon.idle();
      await rt.close();
    },
  };
}

async function openClient(config: Config, command: string): Promise<ReconClient> {
  if (!config.databaseUrl) {
    const holder = readLock(config.dataDir);
    if (holder?.serverUrl) return remoteClient(holder.serverUrl, readFileSync(join(config.dataDir, CONTROL_TOKEN_FILE), 'utf8').trim());
  }
  return localClient(await openRuntime(config, command));
}

const ENDED = new Set(['completed', 'failed', 'stopped']);

/** One line about a run. */
export function describeRun(r: ReconciliationRun): string {
  const p = r.progress;
  const parts = [`${r.id}  ${r.status}${r.status === 'running' ? ` (${r.phase})` : ''}`, `${p.pages} pages, ${p.accountsSeen} accounts seen`];
  if (r.status === 'completed') {
    parts.push(`${p.new} new, ${p.changed} changed, ${p.removed} removed; ${p.matched} matched, ${p.unmatched} unmatched, ${p.orphan} orphan`);
    parts.push(`remediations: ${r.remediations.pending} pending, ${r.remediations.held} held, ${r.remediations.applied} applied${r.baseline ? ' (baseline run)' : ''}`);
  }
  parts.push(r.mode === r.requestedMode ? `mode ${r.mode}` : `mode ${r.mode} (${r.requestedMode} asked${r.modeReason ? `: ${r.modeReason}` : ''})`);
  if (r.heldReason) parts.push(`held: ${r.heldReason}`);
  if (r.lastError) parts.push(`error: ${r.lastError}`);
  return parts.join(' | ');
}

/** Polls a run until it ends, with a progress bar of accounts read (against the last run's count when known). */
async function waitFor(client: ReconClient, appId: string, run: ReconciliationRun, expected: number): Promise<ReconciliationRun> {
  const bar = new cliProgress.SingleBar({ format: 'reconciling [{bar}] {value}/{total} accounts | {pages} pages | {phase}', stream: process.stderr, etaBuffer: 20, noTTYOutput: true, notTTYSchedule: 1000 }, cliProgress.Presets.shades_classic);
  bar.start(Math.max(expected, 1), 0, { pages: 0, phase: run.phase });
  let current = run;
  try {
    while (!ENDED.has(current.status)) {
      await new Promise((r) => setTimeout(r, 500));
      current = await client.status(appId, run.id);
      const seen = current.progress.accountsSeen;
      if (seen > bar.getTotal()) bar.setTotal(seen);
      bar.update(seen, { pages: current.progress.pages, phase: current.phase });
    }
    bar.update(Math.max(bar.getTotal(), current.progress.accountsSeen), { pages: current.progress.pages, phase: current.phase });
  } finally {
    bar.stop();
  }
  return current;
}

/** Registers `steward recon …`; `setStatus` receives the exit status. */
export function registerReconCommands(program: Command, setStatus: (status: number) => void): void {
  const recon = program.command('recon').description('reconciliation: read applications’ accounts back and find what changed');
  recon
    .command('start')
    .description('start a reconciliation of an application; --wait shows a progress bar until it ends (always, when no server runs it)')
    .argument('<app>', 'the application id or name')
    .option('--wait', 'wait for the run to end, with a progress bar')
    .addOption(new Option('--mode <mode>', 'full, or incremental where the connector can read changes').choices(['full', 'incremental']).default('full'))
    .addOption(dataOption())
    .action(async (app: string, o: { wait?: boolean; mode: 'full' | 'incremental'; data?: string }) => {
      const client = await openClient(loadConfig(o), 'steward recon start');
      try {
        const appId = await client.resolve(app);
        const previous = (await client.list(appId, 5)).find((r) => r.status === 'completed');
        const run = await client.start(appId, o.mode);
        if (!o.wait && !client.local) {
          console.log(`started reconciliation ${run.id} of application ${appId}; follow it with: steward recon status ${appId}`);
          return;
        }
        const ended = await waitFor(client, appId, run, previous?.progress.accountsSeen ?? 0);
        console.log(describeRun(ended));
        if (ended.status !== 'completed') setStatus(RUN_FAILED_STATUS);
      } finally {
        await client.close();
      }
    });
  recon
    .command('status')
    .description('the latest reconciliation runs, of one application or of all')
    .argument('[app]', 'the application id or name')
    .option('--limit <n>', 'how many runs', '10')
    .addOption(dataOption())
    .action(async (app: string | undefined, o: { limit: string; data?: string }) => {
      const client = await openClient(loadConfig(o), 'steward recon status');
      try {
        const appId = app === undefined ? undefined : await client.resolve(app);
        const runs = await client.list(appId, Math.max(1, Math.min(1000, Number(o.limit) || 10)));
        if (runs.length === 0) console.log('no reconciliation runs yet');
        for (const r of runs) console.log(`${appId === undefined ? `${r.applicationId}  ` : ''}${describeRun(r)}`);
      } finally {
        await client.close();
      }
    });
}
