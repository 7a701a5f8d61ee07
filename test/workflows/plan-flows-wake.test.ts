// Flows made by the lifecycle and by reconciliation come from createPlanFlows inside a
// transaction the caller commits. The workers are woken once that transaction has ended, so
// such a flow starts at once rather than at the workers' next poll. The workers here poll
// every ten minutes: within the test's wait only a wake can start a flow.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.ts';
import type { ProvisioningPlan } from '../../src/plan/index.ts';
import { createServices, type Services } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import type { ScriptRunner } from '../../src/workflows/runners/types.ts';
import { uniqueName } from '../support/app.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';
import { until } from '../support/until.ts';

describe.each(testDbKinds())('flows made in a caller’s transaction on %s', (kind) => {
  let db: Db;
  let queue: JobQueue;
  let services: Services;
  let appName: string;
  const ran: string[] = [];

  const runner: ScriptRunner = {
    handles: (t) => t.family === 'api',
    validate: () => [],
    run(ctx) {
      ran.push(ctx.flow.id);
      return Promise.resolve({ status: 'succeeded' });
    },
  };

  const plan = (nativeIdentity: string): ProvisioningPlan => ({
    accountRequests: [{ application: appName, op: 'Disable', nativeIdentity, attributeRequests: [], permissionRequests: [] }],
  });

  beforeAll(async () => {
    db = await createTestDb(kind);
    queue = createJobQueue({ db });
    await queue.start();
    services = createServices({ db, secrets: createSecretBox(randomBytes(32)), workflows: { queue, runners: [runner] } });
    appName = uniqueName('wake');
    await services.applications.create(SYSTEM_ACTOR, { name: appName, connectorKind: 'scim', settings: { baseUrl: 'http://127.0.0.1:9' }, secrets: { token: 'unused-token-0123456789' } });
    await services.workflows.flows.work({ concurrency: 1, pollingIntervalSeconds: 600 });
  }, 120_000);

  afterAll(async () => {
    await queue?.stop();
    await db?.close();
  });

  it('starts a flow made by createPlanFlows in a transaction once it commits, without waiting for the poll', async () => {
    // A first flow, through executePlan (which wakes the workers itself), takes the workers
    // past their first fetch: from then on they wait for a wake or the ten-minute poll.
    const first = await services.workflows.executePlan(SYSTEM_ACTOR, plan('first'));
    await until('the first flow to run', () => (ran.includes(first.flowIds[0]!) ? true : undefined));
    await until('the first flow to end', async () => ((await services.workflows.flows.get(first.flowIds[0]!)).status === 'succeeded' ? true : undefined));

    // As the lifecycle and reconciliation do: flows made inside a transaction the caller
    // commits, with no wake of its own.
    const second = await db.tx((tx) => services.workflows.createPlanFlows(tx, plan('second'), 'lifecycle'));
    const flowId = second.flowIds[0]!;
    await until('the flow made in the transaction to run', () => (ran.includes(flowId) ? true : undefined), 30_000);
    expect(ran).toEqual([first.flowIds[0], flowId]);
  }, 60_000);
});
