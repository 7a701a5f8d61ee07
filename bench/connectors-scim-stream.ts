/**
 * Streaming 100,000 accounts from the SCIM test server on loopback through the `scim`
 * connector's listAccounts, against a plain loop of HTTP GETs of the same pages with no
 * processing. The server runs in a worker thread, as a real target runs elsewhere.
 * Then the same stream written page by page into Steward's accounts table (one statement
 * a page), on PGlite and on PostgreSQL, as the same ratio.
 *
 *   npx node bench/connectors-scim-stream.ts [accounts] [pageSize]
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { scimKind } from '../src/connectors/index.ts';
import type { Db } from '../src/store/db.ts';
import { upsertAccountPage } from '../src/store/accounts.ts';
import { onEachDatabase } from './gen/databases.ts';

const ACCOUNTS = Number(process.argv[2] ?? 100_000);
const PAGE = Number(process.argv[3] ?? 1_000);
const ROUNDS = 2;
const WARMUP = Math.min(ACCOUNTS, 10_000);

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

async function plainLoop(s: Started, total = ACCOUNTS): Promise<number> {
  let seen = 0;
  for (let start = 1; start <= total; start += PAGE) {
    const res = await fetch(`${s.url}/Users?startIndex=${start}&count=${PAGE}`, { headers: { authorization: `Bearer ${s.token}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
    seen += PAGE;
    if (text.length === 0) throw new Error('empty page');
  }
  return Math.min(seen, total);
}

async function viaConnector(s: Started, total = ACCOUNTS): Promise<number> {
  const connector = scimKind.create({ settings: { baseUrl: s.url, pageSize: PAGE }, secrets: { token: s.token } });
  let seen = 0;
  for await (const page of connector.listAccounts()) {
    seen += page.items.length;
    if (seen >= total) break;
  }
  await connector.close();
  return seen;
}

/** The connector's pages written into the accounts table of a fresh application. */
async function intoStore(s: Started, db: Db, total = ACCOUNTS): Promise<number> {
  const app = await db.k
    .insertInto('applications')
    .values({ name: `scim-${Math.random()}`, connector_kind: 'scim', settings: '{}', secrets: '{}', account_schema: '{"attributes":[]}', capabilities: '[]', deprovisioning_policy: '{}', adoption_policy: '{}', remediation_policy: '{}', description: null, owner_id: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  const connector = scimKind.create({ settings: { baseUrl: s.url, pageSize: PAGE }, secrets: { token: s.token } });
  let seen = 0;
  let pending: Promise<unknown> = Promise.resolve();
  for await (const page of connector.listAccounts()) {
    // The next page is fetched while this one is written.
    await pending;
    pending = upsertAccountPage(db.k, app.id, page.items);
    seen += page.items.length;
    if (seen >= total) break;
  }
  await pending;
  await connector.close();
  return seen;
}

/** Wall time, and the time this thread was busy (the client's own work, apart from the server's). */
async function time(f: () => Promise<number>): Promise<{ n: number; ms: number; busyMs: number }> {
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const n = await f();
  const ms = performance.now() - t0;
  return { n, ms, busyMs: performance.eventLoopUtilization(elu0).active };
}

async function main(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { accounts: ACCOUNTS } });
  const started = await new Promise<Started>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Warm both paths (JIT, connection pool, scimmy's schema caches) before measuring.
  await plainLoop(started, WARMUP);
  await viaConnector(started, WARMUP);
  let bestPlain = Infinity;
  let bestConnector = Infinity;
  let plainBusy = Infinity;
  let connectorBusy = Infinity;
  // Alternate the two so that load from elsewhere on the machine falls on both alike.
  for (let round = 0; round < ROUNDS; round++) {
    const p = await time(() => plainLoop(started));
    const c = await time(() => viaConnector(started));
    if (c.n !== ACCOUNTS) throw new Error(`connector streamed ${c.n} accounts, expected ${ACCOUNTS}`);
    bestPlain = Math.min(bestPlain, p.ms);
    bestConnector = Math.min(bestConnector, c.ms);
    plainBusy = Math.min(plainBusy, p.busyMs);
    connectorBusy = Math.min(connectorBusy, c.busyMs);
  }
  const plainRate = (ACCOUNTS / bestPlain) * 1000;
  const connectorRate = (ACCOUNTS / bestConnector) * 1000;
  console.log(`figure: scim_stream_connector = ${Math.round(connectorRate)} accounts/s`);
  console.log(`figure: scim_stream_plain_get = ${Math.round(plainRate)} accounts/s`);
  console.log(`figure: scim_stream_ratio = ${(connectorRate / plainRate).toFixed(2)} ratio (goal >= 0.7)`);
  console.log(`figure: scim_stream_client_busy_connector = ${((connectorBusy * 1000) / ACCOUNTS).toFixed(1)} us/account`);
  console.log(`figure: scim_stream_client_busy_plain_get = ${((plainBusy * 1000) / ACCOUNTS).toFixed(1)} us/account`);
  console.log(`# ${ACCOUNTS} accounts, pages of ${PAGE}, best of ${ROUNDS} rounds`);
  await onEachDatabase(async (label, db) => {
    const plain = await time(() => plainLoop(started));
    const stored = await time(() => intoStore(started, db));
    const n = await db.k.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(n.n) !== ACCOUNTS) throw new Error(`${label}: ${String(n.n)} accounts stored, expected ${ACCOUNTS}`);
    const storeRate = (ACCOUNTS / stored.ms) * 1000;
    const plainNow = (ACCOUNTS / plain.ms) * 1000;
    console.log(`figure: scim_stream_into_store.${label} = ${Math.round(storeRate)} accounts/s`);
    console.log(`figure: scim_stream_into_store_ratio.${label} = ${(storeRate / plainNow).toFixed(2)} ratio to plain GETs measured just before (goal >= 0.7)`);
  });
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('exit', resolve));
}

if (isMainThread) await main();
else await serve();
