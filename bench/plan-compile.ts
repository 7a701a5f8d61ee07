// Compiling plans for 100,000 identities with 3 applications each (an account-level and two
// group assignments per application; accounts in two of the three, some groups to add and
// remove): identities per second on PGlite and on PostgreSQL. Goal (issue 5): 10,000/s on
// PostgreSQL. Data is generated with set-based SQL in a fresh database that is dropped after.
// Each batch is one query (src/store/plans.ts planBatch); the next batch is read while this one compiles.
// Run: npx node bench/plan-compile.ts [identities] [batch] [postgres concurrency]   (PostgreSQL from STEWARD_BENCH_DATABASE_URL, default the local server)
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { COMPILE_BATCH, compilePlanBatches, compilePlans } from '../src/services/plan-compile.ts';
import { runStatements } from '../src/store/migration-util.ts';
import { planBatch } from '../src/store/plans.ts';
import { migrate, openDb, type Db } from '../src/store/db.ts';

const identities = Number(process.argv[2] ?? 100_000);
const batchSize = Number(process.argv[3] ?? COMPILE_BATCH);
const pgConcurrency = Number(process.argv[4] ?? 1); // on 2 shared cores, more batches at once only contend with the server
const only = process.env.STEWARD_BENCH_ONLY; // 'pglite' or 'postgres' to run one
const pgUrl = process.env.STEWARD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const work = mkdtempSync(join(tmpdir(), 'steward-bench-plan-'));

const schema = JSON.stringify({
  attributes: [
    { name: 'login', type: 'string', multiValued: false },
    { name: 'mail', type: 'string', multiValued: false },
    { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
  ],
});
const mappings = JSON.stringify([
  { accountAttribute: 'login', identityAttribute: 'userName' },
  { accountAttribute: 'mail', identityAttribute: 'email' },
]);

async function generate(db: Db): Promise<void> {
  await runStatements(db.k as never, [
    `insert into applications (name, connector_kind, settings, account_schema, capabilities, attribute_mappings, deprovisioning_policy, adoption_policy, remediation_policy)
       select 'bench-app-' || a, 'scim', '{"baseUrl":"https://scim.example.com/v2"}', '${schema}',
              '["create_user","disable_user","enable_user","delete_user","add_user_to_group","remove_user_from_group","set_attributes"]',
              '${mappings}', '{"action":"Suspend","gracePeriod":"P0D"}', '{"match":[]}', '{}'
         from generate_series(1, 3) a`,
    `insert into entitlements (application_id, kind, native_value, name, attributes)
       select ap.id, 'group', 'cn=g' || g, ap.name || '-g' || g, '{}' from applications ap, generate_series(0, 9) g`,
    `insert into identities (user_name, email, department, employee_number, data)
       select 'user' || i, 'user' || i || '@example.com', 'dept' || (i % 20), i::text, '{}' from generate_series(1, ${identities}) i`,
    `insert into assignments (identity_id, application_id, entitlement_id, source)
       select i.id, ap.id, null, 'birthright' from identities i, applications ap`,
    `insert into assignments (identity_id, application_id, entitlement_id, source)
       select i.id, e.application_id, e.id, 'request' from identities i
         join entitlements e on e.native_value in ('cn=g' || (i.employee_number::int % 10), 'cn=g' || ((i.employee_number::int + 1) % 10))`,
    // Accounts in bench-app-1 and -2: the login matches, the mail does for half, and the groups are one right and one to remove.
    `insert into accounts (application_id, native_identity, identity_id, state, attributes)
       select ap.id, 'uid=' || i.user_name, i.id, 'Matched',
              jsonb_build_object('login', i.user_name, 'mail', case when i.employee_number::int % 2 = 0 then i.email else 'old@example.com' end,
                                 'groups', jsonb_build_array('cn=g' || (i.employee_number::int % 10), 'cn=g' || ((i.employee_number::int + 5) % 10)))
         from identities i, applications ap where ap.name in ('bench-app-1', 'bench-app-2')`,
    `analyze`,
  ]);
}

async function run(label: string, db: Db, concurrency: number): Promise<void> {
  await migrate(db);
  const g0 = performance.now();
  await generate(db);
  console.log(`${label}: generated ${identities} identities, ${identities * 9} assignments, ${identities * 2} accounts in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
  const ids = (await sql<{ id: string }>`select id from identities order by id`.execute(db.k)).rows.map((r) => r.id);
  // Where one batch's time goes: the read alone (SQL and one JSON.parse), then the whole compile.
  const probe = ids.slice(0, batchSize);
  const lap = async (what: string, f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return `${what} ${(performance.now() - t).toFixed(0)} ms`;
  };
  console.log(`${label}: one batch of ${probe.length}: ${[
    await lap('read', () => planBatch(db.k, probe, new Date())),
    await lap('compile', () => compilePlans(db.k, probe)),
    await lap('read again', () => planBatch(db.k, probe, new Date())),
    await lap('compile again', () => compilePlans(db.k, probe)),
  ].join(', ')}`);
  let requests = 0;
  const t0 = performance.now();
  // `concurrency` streams, each over its share of the ids, each overlapping its next read with its compute.
  const share = Math.ceil(ids.length / concurrency);
  const stream = async (part: string[]) => {
    for await (const plans of compilePlanBatches(db.k, part, new Date(), batchSize)) for (const p of plans.values()) requests += p.accountRequests.length;
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => stream(ids.slice(i * share, (i + 1) * share))));
  const s = (performance.now() - t0) / 1000;
  // Each identity: a Create in bench-app-3, and a Modify in -1 and -2 (one group removed, one added, half a mail Set).
  if (requests !== identities * 3) throw new Error(`${label}: expected ${identities * 3} account requests, got ${requests}`);
  console.log(`figure: plan-compile.${label}.identities_per_second = ${Math.round(identities / s)} identities/s (${identities} identities, ${requests} account requests, batches of ${batchSize} x${concurrency}, ${s.toFixed(1)} s)`);
}

try {
  if (only !== 'postgres') {
    const lite = await openDb({ dataDir: join(work, 'data'), command: 'bench' });
    try {
      await run('pglite', lite, 1);
    } finally {
      await lite.close();
    }
  }
  if (only === 'pglite') process.exit(0);
  const name = `steward_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (e) {
    console.log(`postgres: skipped, no server at ${pgUrl}: ${(e as Error).message}`);
    process.exit(0);
  }
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  const pgDb = await openDb({ url: url.toString() });
  try {
    await run('postgres', pgDb, pgConcurrency);
  } finally {
    await pgDb.close();
    // pg's pool resolves end() before its sockets have closed; a forced drop meanwhile would kill them mid-close.
    await new Promise((r) => setTimeout(r, 500));
    if (process.env.STEWARD_BENCH_KEEP) console.log(`kept database ${name}`);
    else await admin.query(`drop database ${name} with (force)`);
    await admin.end();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
