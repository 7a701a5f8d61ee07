// Recomputing desired access for 100,000 identities after a birthright rule change that
// affects 10% of them (issue 6): identities per second on PostgreSQL, and the number of
// plans produced, which must be exactly the affected identities. Goal: 10,000 identities/s.
// The world: one application, ten department rules (each granting its department's group,
// already in effect: assignments and accounts match), then a new rule granting a VPN group
// to one department. The timed step is the rule's save: write, recompute everyone, compile.
// Run: npx node bench/lifecycle-recompute.ts [identities] [batch]   (PostgreSQL from STEWARD_BENCH_DATABASE_URL; STEWARD_BENCH_PGLITE=1 adds PGlite)
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { createLifecycleService } from '../src/lifecycle/index.ts';
import { createIdentityService } from '../src/services/identities.ts';
import { runStatements } from '../src/store/migration-util.ts';
import { migrate, openDb, type Db } from '../src/store/db.ts';

const identities = Number(process.argv[2] ?? 100_000);
const batchSize = Number(process.argv[3] ?? 5_000);
const pgUrl = process.env.STEWARD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DEPTS = 10;

const schema = JSON.stringify({
  attributes: [
    { name: 'login', type: 'string', multiValued: false },
    { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
  ],
});

async function generate(db: Db): Promise<void> {
  // (The triggers record a creation event per identity; nothing processes them here.)
  await runStatements(db.k as never, [
    `insert into applications (name, connector_kind, settings, account_schema, capabilities, attribute_mappings, deprovisioning_policy, adoption_policy, remediation_policy)
       values ('bench-app', 'scim', '{"baseUrl":"https://scim.example.com/v2"}', '${schema}',
               '["create_user","disable_user","enable_user","delete_user","add_user_to_group","remove_user_from_group","set_attributes"]',
               '[{"accountAttribute":"login","identityAttribute":"userName"}]', '{"action":"Suspend","gracePeriod":"P0D"}', '{"match":[]}', '{}')`,
    `insert into entitlements (application_id, kind, native_value, name, attributes)
       select ap.id, 'group', 'cn=' || g, 'bench-' || g, '{}' from applications ap,
         (select 'dept' || d as g from generate_series(0, ${DEPTS - 1}) d union all select 'vpn') x`,
    `insert into identities (user_name, email, department, employee_number, data)
       select 'user' || i, 'user' || i || '@example.com', 'dept' || (i % ${DEPTS}), i::text, '{}' from generate_series(1, ${identities}) i`,
    `insert into birthright_rules (name, condition, grants)
       select 'dept' || d, 'department == "dept' || d || '"',
              jsonb_build_array(jsonb_build_object('type', 'entitlement', 'applicationId', e.application_id, 'entitlementId', e.id))
         from generate_series(0, ${DEPTS - 1}) d join entitlements e on e.native_value = 'cn=dept' || d`,
    `insert into assignments (identity_id, application_id, entitlement_id, source)
       select i.id, e.application_id, e.id, 'birthright' from identities i join entitlements e on e.native_value = 'cn=' || i.department`,
    `insert into accounts (application_id, native_identity, identity_id, state, attributes)
       select ap.id, 'uid=' || i.user_name, i.id, 'Matched', jsonb_build_object('login', i.user_name, 'groups', jsonb_build_array('cn=' || i.department))
         from identities i, applications ap`,
    `analyze`,
  ]);
}

async function run(label: string, db: Db): Promise<void> {
  await migrate(db);
  await generate(db);
  // The rule save only queues its recompute (the job is run here, as the worker would).
  const lifecycle = createLifecycleService({ db, identities: createIdentityService(db), batchSize, enqueueRecompute: async () => undefined });
  // Everything is in effect already: a recomputation changes nothing and plans nothing.
  const t0 = performance.now();
  const base = await lifecycle.recompute(SYSTEM_ACTOR);
  const baseS = (performance.now() - t0) / 1000;
  if (base.status !== 'applied' || base.impact.plans !== 0 || base.impact.changed !== 0) throw new Error(`baseline changed something: ${JSON.stringify(base.impact)}`);
  console.log(`${label}: baseline recompute of ${identities} identities, nothing to change: ${baseS.toFixed(1)} s (${Math.round(identities / baseS)} identities/s)`);

  const vpn = await db.k.selectFrom('entitlements').select('id').where('native_value', '=', 'cn=vpn').executeTakeFirstOrThrow();
  const affected = identities / DEPTS;
  const t1 = performance.now();
  const saved = await lifecycle.createRule(SYSTEM_ACTOR, { name: 'dept3 vpn', condition: 'department == "dept3"', grants: [{ entitlementId: vpn.id }] });
  const saveMs = performance.now() - t1;
  const r = await lifecycle.runRecompute(saved.recomputeId);
  const s = (performance.now() - t1) / 1000;
  if (r.status !== 'applied' || !r.impact) throw new Error(`the rule's recompute was ${r.status}`);
  const exact = r.impact.plans === affected && r.impact.changed === affected;
  console.log(`figure: lifecycle-recompute.${label}.rule_save_ms = ${saveMs.toFixed(0)} ms (the request: the rule, its status row and job written; the recompute is queued)`);
  console.log(
    `figure: lifecycle-recompute.${label}.identities_per_second = ${Math.round(identities / s)} identities/s (${identities} identities, rule change affecting ${affected}: ${r.impact.plans} plans, ${exact ? 'exactly the affected' : 'NOT the affected'}; batches of ${batchSize}, save and recompute job ${s.toFixed(1)} s)`,
  );
  console.log(`figure: lifecycle-recompute.${label}.plans = ${r.impact.plans} plans (affected: ${affected})`);
  if (!exact) process.exitCode = 1;
}

async function main(): Promise<void> {
  if (process.env.STEWARD_BENCH_PGLITE) {
    const work = mkdtempSync(join(tmpdir(), 'steward-bench-lifecycle-'));
    const lite = await openDb({ dataDir: join(work, 'data'), command: 'bench' });
    try {
      await run('pglite', lite);
    } finally {
      await lite.close();
      rmSync(work, { recursive: true, force: true });
    }
  }
  const name = `steward_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (e) {
    console.log(`postgres: skipped, no server at ${pgUrl}: ${(e as Error).message}`);
    await admin.end().catch(() => undefined);
    return;
  }
  await admin.end();
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  const db = await openDb({ url: url.toString() });
  try {
    await run('postgres', db);
  } finally {
    await db.close();
    const a = new pg.Client({ connectionString: pgUrl });
    await a.connect();
    await a.query(`drop database if exists ${name} with (force)`);
    await a.end();
  }
}

await main();
