/**
 * ActionFlows through the durable queue against the SCIM test server on loopback (in a
 * worker thread, as a real target runs elsewhere):
 *
 * 1. N flows of 3 scripts each (scim_api_create_user, scim_api_disable_user,
 *    scim_api_enable_user), run by the queue's workers, against the same 3 calls per user
 *    made straight to the connector in a plain loop. Prints flows/s and the queue's
 *    overhead per script as the ratio of the two wall times (workers run 8 scripts at
 *    once, as `steward serve` does; the loop runs one call at a time), and the same ratio
 *    with the workers held to one script at a time.
 * 2. Latency from the last approval to the first connector call: for each of M requests
 *    with a one-step chain, the time from the approver's decision to the moment the flow's
 *    first script starts (its runner is called), median and 99th percentile.
 *
 *   npx node bench/workflows-flows.ts [flows] [latencySamples]
 */
import { randomBytes } from 'node:crypto';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { scimKind } from '../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { createJobQueue } from '../src/jobs/index.ts';
import { createServices } from '../src/services/index.ts';
import { createSecretBox } from '../src/store/crypto.ts';
import type { Db } from '../src/store/db.ts';
import { ALL_RUNNERS } from '../src/workflows/runners/all.ts';
import { FLOW_QUEUE } from '../src/workflows/index.ts';
import { onEachDatabase } from './gen/databases.ts';

const FLOWS = Number(process.argv[2] ?? 10_000);
const SAMPLES = Number(process.argv[3] ?? 200);

interface Started {
  url: string;
  token: string;
  groupId: string;
}

async function serve(): Promise<void> {
  const { startScimServer } = await import('../test/support/scim-server.ts');
  const server = await startScimServer({ token: 'bench-flows-token-0123456789' });
  const group = server.seedGroup('Bench');
  parentPort!.postMessage({ url: server.url, token: server.token, groupId: group.id } satisfies Started);
  parentPort!.on('message', () => {
    void server.close().then(() => process.exit(0));
  });
}

const ACCOUNT_SCHEMA = {
  attributes: [
    { name: 'userName', type: 'string' as const, multiValued: false, required: true },
    { name: 'name.familyName', type: 'string' as const, multiValued: false },
    { name: 'groups', type: 'string' as const, multiValued: true, entitlementKind: 'group' as const },
  ],
};

/** The same three changes per user, straight to the connector, one call at a time. */
async function directLoop(s: Started, n: number, prefix: string): Promise<number> {
  const c = scimKind.create({ settings: { baseUrl: s.url, retries: 0 }, secrets: { token: s.token } });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const made = await c.apply({ application: 'x', op: 'Create', attributeRequests: [{ name: 'userName', op: 'Set', value: `${prefix}${i}` }, { name: 'name.familyName', op: 'Set', value: `${prefix}${i}` }], permissionRequests: [] });
    if (made.status === 'failed' || !made.nativeIdentity) throw new Error(`direct create failed: ${made.error?.message}`);
    const off = await c.apply({ application: 'x', op: 'Disable', nativeIdentity: made.nativeIdentity, attributeRequests: [], permissionRequests: [] });
    if (off.status === 'failed') throw new Error(`direct disable failed: ${off.error?.message}`);
    const on = await c.apply({ application: 'x', op: 'Enable', nativeIdentity: made.nativeIdentity, attributeRequests: [], permissionRequests: [] });
    if (on.status === 'failed') throw new Error(`direct enable failed: ${on.error?.message}`);
  }
  const ms = performance.now() - t0;
  await c.close();
  return ms;
}

async function flowsRun(label: string, db: Db, s: Started, n: number, concurrency: number): Promise<{ ms: number; flowsPerSecond: number }> {
  const queue = createJobQueue({ db });
  await queue.start();
  const services = createServices({ db, secrets: createSecretBox(randomBytes(32)), workflows: { queue, runners: ALL_RUNNERS, retry: { baseDelayMs: 200 } } });
  const tag = randomBytes(3).toString('hex');
  const app = await services.applications.create(SYSTEM_ACTOR, {
    name: `bench-${tag}`,
    connectorKind: 'scim',
    settings: { baseUrl: s.url, retries: 0, maxConcurrency: 64 },
    secrets: { token: s.token },
    accountSchema: ACCOUNT_SCHEMA,
    attributeMappings: [
      { accountAttribute: 'userName', identityAttribute: 'userName' },
      { accountAttribute: 'name.familyName', identityAttribute: 'name.familyName' },
    ],
  });
  const ent = await db.k.insertInto('entitlements').values({ application_id: app.id, kind: 'group', native_value: s.groupId, name: 'Bench', attributes: '{}' }).returning('id').executeTakeFirstOrThrow();
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ user_name: `f${tag}-${i + j}`, family_name: `f${tag}-${i + j}`, data: '{}' }));
    ids.push(...(await db.k.insertInto('identities').values(rows).returning('id').execute()).map((r) => r.id));
  }
  const scripts = [
    { type: 'scim_api_create_user', metadata: {} },
    { type: 'scim_api_disable_user', metadata: {} },
    { type: 'scim_api_enable_user', metadata: {} },
  ];
  await queue.declare(FLOW_QUEUE, { expireInSeconds: 300 });
  // Flows are made before the workers start, so the measure is the queue and the runners alone.
  for (let i = 0; i < ids.length; i += 500) {
    await db.tx(async (tx) => {
      for (const id of ids.slice(i, i + 500)) await services.workflows.flows.create(tx, { purpose: 'provisioning', applicationId: app.id, entitlementId: ent.id, identityId: id, scripts, createdBy: 'bench' });
    });
  }
  const t0 = performance.now();
  await services.workflows.flows.work({ concurrency, batchSize: Math.min(concurrency, 10) });
  services.workflows.flows.wake();
  for (;;) {
    const r = await db.k
      .selectFrom('action_flows')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.count<number>(eb.case().when('status', '=', 'failed').then(1).end()).as('failed')])
      .where('application_id', '=', app.id)
      .where('status', 'in', ['succeeded', 'failed'])
      .executeTakeFirstOrThrow();
    if (Number(r.n) >= n) {
      if (Number(r.failed) > 0) throw new Error(`${label}: ${r.failed} flows failed`);
      break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  const ms = performance.now() - t0;
  await queue.stop();
  return { ms, flowsPerSecond: (n / ms) * 1000 };
}

async function latency(label: string, db: Db, s: Started, samples: number): Promise<void> {
  const queue = createJobQueue({ db });
  await queue.start();
  const services = createServices({ db, secrets: createSecretBox(randomBytes(32)), workflows: { queue, runners: ALL_RUNNERS } });
  await services.workflows.work({ concurrency: 8 });
  const tag = randomBytes(3).toString('hex');
  const owner = (await db.k.insertInto('identities').values({ user_name: `owner-${tag}`, data: '{}' }).returning('id').executeTakeFirstOrThrow()).id;
  const app = await services.applications.create(SYSTEM_ACTOR, {
    name: `lat-${tag}`,
    connectorKind: 'scim',
    settings: { baseUrl: s.url, retries: 0 },
    secrets: { token: s.token },
    accountSchema: ACCOUNT_SCHEMA,
    attributeMappings: [{ accountAttribute: 'userName', identityAttribute: 'userName' }],
    ownerId: owner,
  });
  await services.workflows.approvals.createChain(SYSTEM_ACTOR, { name: 'Owner', applicationId: app.id, default: true, steps: [{ name: 'Owner', approvers: [{ type: 'applicationOwner' }], notify: [] }] });
  const ownerActor = { ...SYSTEM_ACTOR, kind: 'client' as const, identityId: owner, privileges: ['approve' as const] };
  const waits: number[] = [];
  for (let i = 0; i < samples; i++) {
    const who = (await db.k.insertInto('identities').values({ user_name: `lat-${tag}-${i}`, data: '{}' }).returning('id').executeTakeFirstOrThrow()).id;
    const req = await services.workflows.approvals.request({ ...SYSTEM_ACTOR, identityId: who }, { beneficiaryId: who, applicationId: app.id, justification: 'bench' });
    const task = req.approval!.tasks[0]!;
    const t0 = Date.now();
    await services.workflows.approvals.decide(ownerActor, task.id, { decision: 'approve' });
    for (;;) {
      const started = await db.k
        .selectFrom('action_flow_scripts as s')
        .innerJoin('action_flows as f', 'f.id', 's.flow_id')
        .select('s.started_at')
        .where('f.request_id', '=', req.id)
        .where('s.position', '=', 0)
        .executeTakeFirst();
      if (started?.started_at) {
        waits.push(started.started_at.getTime() - t0);
        break;
      }
      await new Promise((res) => setTimeout(res, 2));
    }
  }
  waits.sort((a, b) => a - b);
  const at = (p: number) => waits[Math.min(waits.length - 1, Math.floor((p / 100) * waits.length))]!;
  console.log(`figure: ${label} last approval to first connector call (${samples} requests): median ${at(50)} ms, p99 ${at(99)} ms (goal: median under 100 ms)`);
  await queue.stop();
}

async function main(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url));
  const s = await new Promise<Started>((resolve) => worker.once('message', resolve));
  try {
    await onEachDatabase(async (label, db) => {
      const n = label === 'postgres' ? FLOWS : Math.max(100, Math.floor(FLOWS / 5));
      const direct = await directLoop(s, n, `d${randomBytes(3).toString('hex')}-`);
      const many = await flowsRun(label, db, s, n, 8);
      const one = await flowsRun(label, db, s, Math.max(50, Math.floor(n / 5)), 1);
      const directOne = (direct / n) * Math.max(50, Math.floor(n / 5));
      console.log(`figure: ${label} ${n} ActionFlows x 3 scripts: ${many.flowsPerSecond.toFixed(0)} flows/s (${((many.flowsPerSecond * 3)).toFixed(0)} scripts/s) with 8 at once; direct loop ${((n * 3 * 1000) / direct).toFixed(0)} calls/s`);
      console.log(`figure: ${label} queue overhead per script, flows wall time / direct loop wall time: ${(many.ms / direct).toFixed(2)}x with 8 at once, ${(one.ms / directOne).toFixed(2)}x one at a time (goal: below 2x)`);
      await latency(label, db, s, label === 'postgres' ? SAMPLES : Math.max(20, Math.floor(SAMPLES / 4)));
    });
  } finally {
    worker.postMessage('stop');
  }
}

if (isMainThread) await main();
else await serve();
