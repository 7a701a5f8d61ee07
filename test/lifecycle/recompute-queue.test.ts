// A rule save's recompute is a job in the durable queue, sent in the save's own
// transaction: a save that fails sends nothing, and the lifecycle worker runs the job.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.ts';
import { RULE_RECOMPUTE_QUEUE, RULE_RECOMPUTE_SETTINGS, recomputeSender, startLifecycleWorker, type LifecycleWorker, type Recompute } from '../../src/lifecycle/index.ts';
import { createServices, type Services } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import { identityColumns } from '../../src/store/identities.ts';
import { uniqueName } from '../support/app.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

describe.each(testDbKinds())('rule recompute jobs on %s', (kind) => {
  let db: Db;
  let queue: JobQueue;
  let services: Services;
  let worker: LifecycleWorker | undefined;

  beforeAll(async () => {
    db = await createTestDb(kind);
    queue = createJobQueue({ db });
    await queue.start();
    services = createServices({ db, secrets: createSecretBox(randomBytes(32)), lifecycle: { enqueueRecompute: recomputeSender(queue) } });
  }, 300_000);
  afterAll(async () => {
    await worker?.stop();
    await queue?.stop();
    await db?.close();
  });

  const jobs = async () => Number((await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = ${RULE_RECOMPUTE_QUEUE}`.execute(db.k)).rows[0]!.n);
  const rows = async () => Number((await db.k.selectFrom('lifecycle_recomputes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('a save that fails sends no job and writes no status row; the worker runs the job of one that commits', async () => {
    await queue.declare(RULE_RECOMPUTE_QUEUE, RULE_RECOMPUTE_SETTINGS);
    for (const u of ['ann', 'bob']) await db.k.insertInto('identities').values({ ...identityColumns({ userName: uniqueName(u) }, null), department: 'Ops' }).execute();
    const app = await db.k
      .insertInto('applications')
      .values({ name: uniqueName('wiki'), connector_kind: 'scim', settings: '{"baseUrl":"https://wiki.example.com/scim/v2"}', secrets: '{}', account_schema: JSON.stringify({ attributes: [{ name: 'userName', type: 'string', multiValued: false }] }), capabilities: '["create_user","disable_user"]', deprovisioning_policy: '{"action":"Suspend","gracePeriod":"P0D"}', adoption_policy: '{"match":[]}', remediation_policy: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const grants = [{ applicationId: app.id }];
    const name = uniqueName('ops');
    const saved = await services.lifecycle.createRule(SYSTEM_ACTOR, { name, condition: 'department == "Ops"', grants });
    expect(saved.status).toBe('queued');
    expect([await jobs(), await rows()]).toEqual([1, 1]);

    // The name is taken: the status row and the job were written before the rule, and are rolled back with it.
    await expect(services.lifecycle.createRule(SYSTEM_ACTOR, { name, condition: 'true', grants }, true)).rejects.toMatchObject({ code: 'lifecycle.recompute_pending' });
    worker = await startLifecycleWorker({ queue, lifecycle: services.lifecycle, pollMs: 200 });
    queue.wake(RULE_RECOMPUTE_QUEUE);
    const end = Date.now() + 120_000;
    let r: Recompute;
    for (;;) {
      r = await services.lifecycle.getRecompute(saved.recomputeId);
      if (!['queued', 'running'].includes(r.status) || Date.now() > end) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(r).toEqual(expect.objectContaining({ status: 'applied', processed: 2, total: 2, error: null }));

    await expect(services.lifecycle.createRule(SYSTEM_ACTOR, { name, condition: 'true', grants })).rejects.toMatchObject({ code: 'rule.duplicate_name' });
    expect([await jobs(), await rows()]).toEqual([1, 1]);
  }, 300_000);
});
