/**
 * The `{provider}_api_*` runner's own cost: N create_user and N add_user_to_group scripts run
 * through the runner (identity read, Create built from the attribute mappings, the call, the
 * read-back, the account row written) against the same N Creates and Modifies sent straight
 * to the connector, one after another, on the SCIM test server on loopback (in a worker
 * thread, as a real target runs elsewhere), on PGlite and on PostgreSQL.
 *
 * Measured here (300 scripts, 2 shared cores): create_user 43 ms/script on PGlite and 50 ms on
 * PostgreSQL against 6-8 ms for a bare Create, because each script opens a fresh connector
 * (RunnerDeps.withConnector), and a fresh SCIM connector reads /ServiceProviderConfig,
 * /Schemas and /ResourceTypes again before its call, then the runner reads the account back.
 * add_user_to_group grows with the group's member list on the scimmy server for both paths.
 *
 *   npx node bench/api-runner.ts [scripts]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { BUILT_IN_KINDS, createConnectorLimiter, createRegistry, scimKind } from '../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { createApplicationService } from '../src/services/applications.ts';
import { createConnectorAccess } from '../src/services/connector-access.ts';
import { createSecretBox } from '../src/store/crypto.ts';
import type { Db } from '../src/store/db.ts';
import { API_RUNNER } from '../src/workflows/runners/index.ts';
import type { RunnerDeps } from '../src/workflows/runners/types.ts';
import { parseScriptType } from '../src/workflows/script-types.ts';
import { onEachDatabase } from './gen/databases.ts';

const N = Number(process.argv[2] ?? 300);

interface Started {
  url: string;
  token: string;
  groupId: string;
}

async function serve(): Promise<void> {
  const { startScimServer } = await import('../test/support/scim-server.ts');
  const server = await startScimServer({});
  const group = server.seedGroup('bench-group');
  parentPort!.postMessage({ url: server.url, token: server.token, groupId: group.id } satisfies Started);
  parentPort!.on('message', () => {
    void server.close().then(() => process.exit(0));
  });
}

async function bench(label: string, db: Db, s: Started): Promise<void> {
  const box = createSecretBox(randomBytes(32));
  const connectors = createRegistry(BUILT_IN_KINDS);
  const limiter = createConnectorLimiter();
  const apps = createApplicationService({ db, secrets: box, connectors });
  const app = await apps.create(SYSTEM_ACTOR, {
    name: `bench-${randomUUID()}`,
    connectorKind: 'scim',
    settings: { baseUrl: s.url, retries: 0 },
    secrets: { token: s.token },
    accountSchema: { attributes: [{ name: 'userName', type: 'string', multiValued: false }, { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' }] },
    attributeMappings: [{ accountAttribute: 'userName', identityAttribute: 'userName' }],
  });
  const ent = await db.k.insertInto('entitlements').values({ application_id: app.id, kind: 'group', native_value: s.groupId, name: 'bench-group', attributes: '{}' }).returning('id').executeTakeFirstOrThrow();
  const tag = randomBytes(3).toString('hex');
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const r = await db.k.insertInto('identities').values({ user_name: `r${tag}${i}`, data: '{}' }).returning('id').executeTakeFirstOrThrow();
    ids.push(r.id);
  }
  // The connector access the services use: one connector per application, kept open.
  const access = createConnectorAccess({ db, secrets: box, connectors, limiter });
  const deps: RunnerDeps = {
    db,
    connectors,
    limiter,
    publicUrl: 'http://127.0.0.1:1',
    fetch,
    withConnector: access.withConnector,
  };
  const script = async (type: string, identityId: string, entitlementId: string | null): Promise<void> => {
    const parsed = parseScriptType(type);
    if (!parsed.ok) throw new Error(type);
    const flow = { id: randomUUID(), purpose: 'provisioning' as const, applicationId: app.id, entitlementId, identityId, assignmentId: null, requestId: null, context: {} };
    await API_RUNNER.run({ script: { id: randomUUID(), flowId: flow.id, position: 0, type, parsed: parsed.value, metadata: {}, attempt: 1, resumed: false }, flow, vars: {}, outputs: {}, now: () => new Date() }, deps);
  };

  const direct = scimKind.create({ settings: { baseUrl: s.url, retries: 0 }, secrets: { token: s.token } });
  const t0 = performance.now();
  const made: string[] = [];
  for (let i = 0; i < N; i++) {
    const r = await direct.apply({ application: 'b', op: 'Create', attributeRequests: [{ name: 'userName', op: 'Set', value: `d${tag}${i}` }], permissionRequests: [] });
    made.push(r.nativeIdentity!);
  }
  const tDirectCreate = performance.now() - t0;
  const t1 = performance.now();
  for (const id of made) await direct.apply({ application: 'b', op: 'Modify', nativeIdentity: id, attributeRequests: [{ name: 'groups', op: 'Add', value: s.groupId }], permissionRequests: [] });
  const tDirectAdd = performance.now() - t1;
  await direct.close();

  const t2 = performance.now();
  for (const id of ids) await script('scim_api_create_user', id, null);
  const tRunnerCreate = performance.now() - t2;
  const t3 = performance.now();
  for (const id of ids) await script('scim_api_add_user_to_group', id, ent.id);
  const tRunnerAdd = performance.now() - t3;
  const rows = await db.k.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).where('application_id', '=', app.id).executeTakeFirstOrThrow();
  if (Number(rows.n) !== N) throw new Error(`${label}: ${String(rows.n)} account rows, expected ${N}`);

  console.log(`figure: api_runner_create_user.${label} = ${(tRunnerCreate / N).toFixed(2)} ms/script (direct Create ${(tDirectCreate / N).toFixed(2)} ms; ratio ${(tRunnerCreate / tDirectCreate).toFixed(2)})`);
  console.log(`figure: api_runner_add_user_to_group.${label} = ${(tRunnerAdd / N).toFixed(2)} ms/script (direct Modify ${(tDirectAdd / N).toFixed(2)} ms; ratio ${(tRunnerAdd / tDirectAdd).toFixed(2)})`);
}

async function main(): Promise<void> {
  const worker = new Worker(new URL(import.meta.url), { workerData: {} });
  const started = await new Promise<Started>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await onEachDatabase((label, db) => bench(label, db, started));
  console.log(`# ${N} scripts of each kind, one at a time; the runner's extra work is the read-back (a GET) and the account row`);
  worker.postMessage('stop');
  await new Promise((resolve) => worker.once('exit', resolve));
}

if (isMainThread) await main();
else await serve();
