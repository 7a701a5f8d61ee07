/**
 * Full reconciliation of 100,000 accounts read from the SCIM test server on loopback (in a
 * worker thread, as a real target runs elsewhere), on PGlite and on PostgreSQL: accounts per
 * second of the first (baseline) run, which inserts and correlates every account, and of a
 * second run that finds them unchanged.
 *
 *   npx node bench/recon-scim.ts [accounts] [pageSize]
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { sql } from 'kysely';
import { BUILT_IN_KINDS, createConnectorLimiter, createRegistry } from '../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { createReconciliation } from '../src/reconcile/index.ts';
import { createSecretBox } from '../src/store/crypto.ts';
import type { Db } from '../src/store/db.ts';
import { onEachDatabase } from './gen/databases.ts';

const ACCOUNTS = Number(process.argv[2] ?? 100_000);
const PAGE = Number(process.argv[3] ?? 1_000);

interface Started {
  url: string;
  token: string;
}

async function serve(): Promise<void> {
  const { startScimServer } = await import('../test/support/scim-server.ts');
  const server = await startScimServer({ maxResults: 10_000 });
  server.seedUsers((workerData as { accounts: number }).accounts);
  parentPort!.postMessage({ url: server.url, token: server.token } satisfies Started);
  parentPort!.on('message', () => {
    void server.close().then(() => process.exit(0));
  });
}

async function reconcile(s: Started, db: Db, label: string): Promise<void> {
  const box = createSecretBox(Buffer.alloc(32, 9));
  await sql`insert into identities (user_name, email) select 'user' || g, 'user' || g || '@example.org' from generate_series(0, ${ACCOUNTS - 1}::int) g`.execute(db.k);
  await sql`analyze identities`.execute(db.k);
  const app = await db.k
    .insertInto('applications')
    .values({
      name: `recon-scim-${label}`,
      connector_kind: 'scim',
      settings: JSON.stringify({ baseUrl: s.url, pageSize: PAGE }),
      secrets: JSON.stringify({ token: box.seal(s.token) }),
      account_schema: '{"attributes":[]}',
      capabilities: '[]',
      deprovisioning_policy: JSON.stringify({ action: 'Suspend', gracePeriod: 'P0D' }),
      adoption_policy: JSON.stringify({ match: [{ identityAttribute: 'userName', accountAttribute: 'userName' }] }),
      remediation_policy: '{}',
      description: null,
      owner_id: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const recon = createReconciliation({ db, secrets: box, connectors: createRegistry(BUILT_IN_KINDS), limiter: createConnectorLimiter(), runInBackground: false });
  for (const which of ['baseline', 'unchanged'] as const) {
    const t0 = performance.now();
    const started = await recon.start(SYSTEM_ACTOR, app.id);
    const run = await recon.runNow(started.id);
    const seconds = (performance.now() - t0) / 1000;
    if (run.status !== 'completed' || run.progress.accountsSeen !== ACCOUNTS) throw new Error(`${label}: run ended ${run.status} with ${run.progress.accountsSeen} accounts: ${run.lastError ?? ''}`);
    if (which === 'baseline' && run.progress.matched !== ACCOUNTS) throw new Error(`${label}: ${run.progress.matched} matched, expected ${ACCOUNTS}`);
    console.log(`figure: recon_scim_${which}.${label} = ${Math.round(ACCOUNTS / seconds)} accounts/s (${seconds.toFixed(1)} s)`);
  }
}

async function main(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { accounts: ACCOUNTS } });
  const started = await new Promise<Started>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  console.log(`# ${ACCOUNTS} accounts from the SCIM test server, pages of ${PAGE}, correlated by userName against as many identities`);
  try {
    await onEachDatabase((label, db) => reconcile(started, db, label));
  } finally {
    worker.postMessage('stop');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
}

if (isMainThread) await main();
else await serve();
