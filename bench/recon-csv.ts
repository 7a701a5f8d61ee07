/**
 * Full reconciliation of 1,000,000 accounts read from the `csv` connector against 1,000,000
 * identities, on PostgreSQL: a baseline run, then a run after 1% of the accounts changed,
 * 0.5% were added and 0.5% removed. Reports the total seconds of each run and the peak
 * memory (RSS) of the process carrying the measured run out (a child process of its own).
 * Goal: the second run under 60 s and under 1 GiB. Each run's seconds per step (reading,
 * staging, each statement of the apply) follow its figure.
 *
 *   npx node bench/recon-csv.ts [accounts]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { BUILT_IN_KINDS, createConnectorLimiter, createRegistry } from '../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { createReconciliation } from '../src/reconcile/index.ts';
import { createSecretBox } from '../src/store/crypto.ts';
import { migrate, openDb, type Db } from '../src/store/db.ts';
import { BENCH_PG_URL } from './gen/databases.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const DEPARTMENTS = ['Sales', 'Marketing', 'Engineering', 'Finance', 'Operations', 'Support', 'Legal', 'People'];
const GROUPS = ['staff', 'vpn', 'wiki', 'mail', 'crm', 'erp'];

/**
 * Writes the accounts file. Version 2 changes every 100th account (its department, and every
 * other one a group), drops every 200th (offset 1), and adds N/200 new ones after the rest.
 */
async function writeAccounts(path: string, n: number, version: 1 | 2): Promise<void> {
  const out = createWriteStream(path);
  let buf = 'id,userName,mail,givenName,familyName,department,title,groups\n';
  const flush = async () => {
    if (!out.write(buf)) await once(out, 'drain');
    buf = '';
  };
  const line = (i: number, changed: boolean) => {
    const dept = DEPARTMENTS[(i + (changed ? 1 : 0)) % DEPARTMENTS.length]!;
    const groups = changed && i % 200 === 0 ? `${GROUPS[i % 6]}|${GROUPS[(i + 1) % 6]}|admins` : `${GROUPS[i % 6]}|${GROUPS[(i + 1) % 6]}`;
    return `a${i},user${i},user${i}@example.org,Given${i},Family${i},${dept},Title${i % 7},${groups}\n`;
  };
  for (let i = 0; i < n; i++) {
    if (version === 2 && i % 200 === 1) continue;
    buf += line(i, version === 2 && i % 100 === 0);
    if (buf.length > 1 << 16) await flush();
  }
  if (version === 2) for (let i = n; i < n + n / 200; i++) buf += line(i, false);
  await flush();
  out.end();
  await once(out, 'finish');
}

/** The run's steps by the seconds they took (reading overlaps writing: its figure is the wait for the next page). */
function printTimings(label: string, timings: Record<string, number>): void {
  console.log(`# ${label}, seconds per step:`);
  for (const [name, ms] of Object.entries(timings).sort((a, b) => b[1] - a[1])) console.log(`#   ${(ms / 1000).toFixed(2).padStart(7)}  ${name}`);
}

async function service(db: Db) {
  return createReconciliation({ db, secrets: createSecretBox(Buffer.alloc(32, 7)), connectors: createRegistry(BUILT_IN_KINDS), limiter: createConnectorLimiter(), runInBackground: false });
}

/** One run of the application, here; its run as it ended and the wall time. */
async function runOnce(db: Db, applicationId: string) {
  const recon = await service(db);
  const t0 = performance.now();
  const started = await recon.start(SYSTEM_ACTOR, applicationId);
  const timings: Record<string, number> = {};
  const run = await recon.runNow(started.id, { timings });
  return { run, seconds: (performance.now() - t0) / 1000, timings };
}

async function measure(url: string, applicationId: string): Promise<void> {
  const db = await openDb({ url });
  try {
    const { run, seconds, timings } = await runOnce(db, applicationId);
    const rssMiB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(JSON.stringify({ run, seconds, rssMiB, timings }) + '\n');
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'steward-bench-recon-'));
  const name = `steward_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_PG_URL });
  try {
    await admin.connect();
  } catch (e) {
    console.log(`postgres: skipped, no server at ${BENCH_PG_URL}: ${(e as Error).message}`);
    return;
  }
  await admin.query(`create database ${name}`);
  const url = new URL(BENCH_PG_URL);
  url.pathname = `/${name}`;
  const db = await openDb({ url: url.toString() });
  try {
    await migrate(db);
    const v1 = join(work, 'accounts-1.csv');
    const v2 = join(work, 'accounts-2.csv');
    let t0 = performance.now();
    await writeAccounts(v1, N, 1);
    await writeAccounts(v2, N, 2);
    await sql`insert into identities (user_name, email, given_name, family_name) select 'user' || g, 'user' || g || '@example.org', 'Given' || g, 'Family' || g from generate_series(0, ${N - 1}::int) g`.execute(db.k);
    await sql`analyze identities`.execute(db.k);
    console.log(`# set-up: ${N} accounts in two files and ${N} identities in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const settings = (path: string) => JSON.stringify({ path, keyColumn: 'id', groupsColumn: 'groups', pageSize: 5000 });
    const app = await db.k
      .insertInto('applications')
      .values({
        name: `recon-csv-${N}`,
        connector_kind: 'csv',
        settings: settings(v1),
        secrets: '{}',
        account_schema: '{"attributes":[]}',
        capabilities: '[]',
        deprovisioning_policy: JSON.stringify({ action: 'Delete', gracePeriod: 'P0D' }),
        adoption_policy: JSON.stringify({ match: [{ identityAttribute: 'email', accountAttribute: 'mail' }] }),
        remediation_policy: '{}',
        description: null,
        owner_id: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    t0 = performance.now();
    const first = await runOnce(db, app.id);
    if (first.run.status !== 'completed') throw new Error(`baseline run ended ${first.run.status}: ${first.run.lastError ?? ''}`);
    console.log(`figure: recon_csv_baseline_seconds = ${first.seconds.toFixed(1)} s (${N} new accounts, ${first.run.progress.matched} matched)`);
    printTimings('baseline run', first.timings);
    await db.k.updateTable('applications').set({ settings: settings(v2) }).where('id', '=', app.id).execute();
    await sql`vacuum analyze accounts`.execute(db.k);

    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', url.toString(), app.id], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.status !== 0) throw new Error(`the measured run failed with status ${String(child.status)}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { run: { status: string; progress: Record<string, number>; remediations: Record<string, number>; lastError: string | null }; seconds: number; rssMiB: number; timings: Record<string, number> };
    if (r.run.status !== 'completed') throw new Error(`run ended ${r.run.status}: ${r.run.lastError ?? ''}`);
    const p = r.run.progress;
    const expected = { new: N / 200, removed: N / 200, changed: N / 100 };
    console.log(`figure: recon_csv_seconds = ${r.seconds.toFixed(1)} s (goal < 60)`);
    console.log(`figure: recon_csv_peak_rss = ${Math.round(r.rssMiB)} MiB (goal < 1024)`);
    printTimings('second run', r.timings);
    console.log(`# second run: ${p.accountsSeen} seen, ${p.new} new, ${p.changed} changed, ${p.removed} removed, ${p.matched} matched, ${p.unmatched} unmatched; remediations ${JSON.stringify(r.run.remediations)}; expected about ${JSON.stringify(expected)}`);
  } finally {
    await db.close();
    await new Promise((res) => setTimeout(res, 500));
    await admin.query(`drop database ${name} with (force)`);
    await admin.end();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--measure') await measure(process.argv[3]!, process.argv[4]!);
else await main();
