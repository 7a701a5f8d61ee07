// Reconciliation through the real job queue: a run started through the API is carried out
// by the `recon.run` worker (registerReconcileWorkers, as `steward serve` and `worker` wire
// it), and a job for a run that another worker holds waits for that worker's lease to end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.ts';
import { registerReconcileWorkers, RUN_QUEUE, type ReconciliationRun } from '../../src/reconcile/index.ts';
import { createServices, type Services } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import { identityColumns } from '../../src/store/identities.ts';
import { uniqueName } from '../support/app.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

const HEADER = 'id,userName,mail,title,groups\n';
const line = (i: number, title = 'Engineer', groups = 'staff') => `a${i},user${i},user${i}@example.org,${title},${groups}\n`;

describe.each(testDbKinds())('reconciliation through the job queue on %s', (kind) => {
  let db: Db;
  let queue: JobQueue;
  let services: Services;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let admin: string;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDb(kind);
    dir = mkdtempSync(join(tmpdir(), 'steward-recon-queue-'));
    queue = createJobQueue({ db, superviseIntervalSeconds: 1 });
    await queue.start();
    services = createServices({ db, secrets: createSecretBox(randomBytes(32)), workflows: { queue } });
    app = await buildApp({ services, logger: false });
    admin = (await services.clients.create(SYSTEM_ACTOR, { name: uniqueName('admin'), privileges: ['admin'] })).token;
    await registerReconcileWorkers(queue, services.reconciliation);
  }, 300_000);
  afterAll(async () => {
    await queue?.stop();
    await app?.close();
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: 'GET' | 'POST', url: string, body?: object) => app.inject({ method, url, headers: { authorization: `Bearer ${admin}` }, ...(body ? { payload: body } : {}) });

  async function csvApp(path: string): Promise<string> {
    const res = await call('POST', '/v1.0/applications', {
      name: uniqueName('csv'),
      connectorKind: 'csv',
      settings: { path, keyColumn: 'id', groupsColumn: 'groups', pageSize: 2 },
      secrets: {},
      adoptionPolicy: { match: [{ identityAttribute: 'email', accountAttribute: 'mail' }] },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  /** Polls the run through the API until it has ended. */
  async function ended(appId: string, runId: string): Promise<ReconciliationRun> {
    const until = Date.now() + 120_000;
    for (;;) {
      const res = await call('GET', `/appaccess/v1.0/applications/${appId}/reconciliation/${runId}`);
      expect(res.statusCode, res.body).toBe(200);
      const run = res.json<ReconciliationRun>();
      if (['completed', 'failed', 'stopped'].includes(run.status)) return run;
      if (Date.now() > until) throw new Error(`run ${runId} still ${run.status} after two minutes`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function startThroughApi(appId: string): Promise<ReconciliationRun> {
    const res = await call('POST', `/appaccess/v1.0/applications/${appId}/reconciliation`, {});
    expect(res.statusCode, res.body).toBe(202);
    return res.json<ReconciliationRun>();
  }

  it('a run started through the API is carried out by the recon.run worker: accounts, matches and deltas', async () => {
    const path = join(dir, 'a.csv');
    writeFileSync(path, HEADER + [0, 1, 2, 3, 4].map((i) => line(i)).join(''));
    for (const i of [0, 1, 2, 3, 4]) await db.k.insertInto('identities').values({ ...identityColumns({ userName: `user${i}` }, null), email: `user${i}@example.org` }).execute();
    const appId = await csvApp(path);

    const started = await startThroughApi(appId);
    expect(started.status).toBe('queued');
    const first = await ended(appId, started.id);
    expect(first).toMatchObject({ status: 'completed', baseline: true, attempts: 1, progress: { accountsSeen: 5, pages: 3, new: 5, matched: 5 } });

    // Out of band: a1's title changed and it gained a group, a2 is gone, a5 appeared. One of
    // five gone is past the default safety threshold (5%): raise it so the removal is applied.
    const settings = await app.inject({ method: 'PUT', url: `/appaccess/v1.0/applications/${appId}/reconciliationSettings`, headers: { authorization: `Bearer ${admin}` }, payload: { safetyThreshold: 0.5 } });
    expect(settings.statusCode, settings.body).toBe(200);
    writeFileSync(path, HEADER + [line(0), line(1, 'Manager', 'staff|ops'), line(3), line(4), line(5)].join(''));
    const second = await ended(appId, (await startThroughApi(appId)).id);
    expect(second).toMatchObject({ status: 'completed', baseline: false, progress: { accountsSeen: 5, new: 1, changed: 1, removed: 1, matched: 4, unmatched: 1 } });

    const accounts = await db.k.selectFrom('accounts').select(['id', 'native_identity', 'state', 'removed_at', 'attributes']).where('application_id', '=', appId).orderBy('native_identity').execute();
    expect(accounts.map((a) => [a.native_identity, a.state, a.removed_at === null])).toEqual([
      ['a0', 'Matched', true],
      ['a1', 'Matched', true],
      ['a2', 'Matched', false],
      ['a3', 'Matched', true],
      ['a4', 'Matched', true],
      ['a5', 'Unmatched', true],
    ]);
    const delta = async (nativeIdentity: string) => {
      const id = accounts.find((a) => a.native_identity === nativeIdentity)!.id;
      return call('GET', `/appaccess/v1.0/applications/${appId}/reconciliationDelta/${second.id}/${id}`);
    };
    expect((await delta('a1')).json()).toMatchObject({ kind: 'changed', attributes: { title: { before: 'Engineer', after: 'Manager' } }, entitlements: { added: [{ kind: 'group', nativeValue: 'ops' }], removed: [] } });
    expect((await delta('a2')).json()).toMatchObject({ kind: 'removed' });
    expect((await delta('a5')).json()).toMatchObject({ kind: 'appeared', attributes: { userName: { after: 'user5' } } });
    expect((await delta('a0')).statusCode).toBe(404);
  }, 300_000);

  it('a job for a run whose worker died waits for the lease to end, then resumes the run from its last page', async () => {
    const path = join(dir, 'b.csv');
    writeFileSync(path, HEADER + [10, 11, 12, 13, 14, 15].map((i) => line(i)).join(''));
    const appId = await csvApp(path);
    // A run held by a worker that died without giving it up: its lease runs 3 s more.
    const run = await db.k
      .insertInto('reconciliation_runs')
      .values({ application_id: appId, requested_mode: 'full', mode: 'full', status: 'running', phase: 'accounts', started_by: 'test', safety_threshold: 0.05, page_size: 2, attempts: 1, owner: 'dead-host:1:gone', lease_until: new Date(Date.now() + 3_000) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const deadline = Date.now() + 3_000;
    const first = await services.reconciliation.runNow(run.id).catch((e: unknown) => e);
    expect(first).toMatchObject({ name: 'RunLeased', owner: 'dead-host:1:gone' });

    await queue.send(RUN_QUEUE, { runId: run.id }, { singletonKey: run.id });
    queue.wake(RUN_QUEUE);
    const done = await ended(appId, run.id);
    // Taken over only once the dead worker's lease had ended, never alongside it.
    expect(done).toMatchObject({ status: 'completed', progress: { accountsSeen: 6, new: 6 } });
    const row = await db.k.selectFrom('reconciliation_runs').select(['owner']).where('id', '=', run.id).executeTakeFirstOrThrow();
    expect(row.owner).not.toBe('dead-host:1:gone');
    expect(Date.now()).toBeGreaterThanOrEqual(deadline);
    expect(await db.k.selectFrom('accounts').select('native_identity').where('application_id', '=', appId).orderBy('native_identity').execute()).toHaveLength(6);
  }, 300_000);
});
