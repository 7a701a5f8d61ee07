// Helpers of the reconciliation tests: applications on a real target, identities by
// userName, and a reconciliation service whose runs the test drives itself.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { BUILT_IN_KINDS, createConnectorLimiter, createRegistry } from '../../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import type { ProvisioningPlan } from '../../src/plan/index.ts';
import { createReconciliation, type ExecutePlan, type Reconciliation, type ReconciliationRun } from '../../src/reconcile/index.ts';
import { buildApp } from '../../src/api/app.ts';
import type { Privilege } from '../../src/domain/privileges.ts';
import { createServices } from '../../src/services/index.ts';
import { createSecretBox, type SecretBox } from '../../src/store/crypto.ts';
import type { Db, DbKind } from '../../src/store/db.ts';
import { createTestDb } from '../support/db.ts';
import { identityColumns } from '../../src/store/identities.ts';
import { uniqueName, type TestApp } from '../support/app.ts';

/** Creates an application through the API; its id. */
export async function makeApp(t: TestApp, body: { connectorKind: string; settings: Record<string, unknown>; secrets: Record<string, string>; adoptionPolicy?: unknown; remediationPolicy?: unknown }): Promise<string> {
  const res = await t.call(t.admin, 'POST', '/v1.0/applications', { name: uniqueName('recon'), ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

/** A new identity with this userName; its id. */
export async function identityNamed(db: Db, userName: string): Promise<string> {
  const r = await db.k.insertInto('identities').values(identityColumns({ userName }, null)).returning('id').executeTakeFirstOrThrow();
  return r.id;
}

export interface Driven {
  recon: Reconciliation;
  /** Every plan handed to the executor, with who it was made by. */
  plans: { plan: ProvisioningPlan; createdBy: string }[];
  /** Starts a run (full unless `mode` says otherwise) and carries it out here; resolves with the run as it ended. */
  run(applicationId: string, mode?: 'full' | 'incremental'): Promise<ReconciliationRun>;
}

/**
 * A reconciliation service over the test's database whose runs are carried out by the test
 * (no queue, nothing in the background). The secret box is the one the app sealed with,
 * so it is taken from the services: the same key.
 */
export function driven(t: TestApp, options: { executePlan?: boolean } = {}): Driven {
  const plans: Driven['plans'] = [];
  const executePlan: ExecutePlan = async (_tx, plan, createdBy) => {
    plans.push({ plan, createdBy });
    return { flowIds: [`flow-${plans.length}`] };
  };
  const recon = createReconciliation({
    db: t.db,
    secrets: secretsOf(t),
    connectors: createRegistry(BUILT_IN_KINDS),
    limiter: createConnectorLimiter(),
    runInBackground: false,
    ...(options.executePlan === false ? {} : { executePlan }),
  });
  return {
    recon,
    plans,
    async run(applicationId, mode) {
      const started = await recon.start(SYSTEM_ACTOR, applicationId, mode === undefined ? {} : { mode });
      return recon.runNow(started.id);
    },
  };
}

const boxes = new WeakMap<TestApp, SecretBox>();

/** The secret box the test app's services seal application secrets with. */
export function secretsOf(t: TestApp): SecretBox {
  const box = boxes.get(t);
  if (!box) throw new Error('create the test app with createReconTestApp');
  return box;
}

/** createTestApp's app, keeping the secret box, so a driven service can open the applications' secrets. */
export async function createReconTestApp(kind: DbKind): Promise<TestApp> {
  const db = await createTestDb(kind);
  const secrets = createSecretBox(randomBytes(32));
  const services = createServices({ db, secrets });
  const app = await buildApp({ services, logger: false });
  const token = async (...privileges: Privilege[]) => (await services.clients.create(SYSTEM_ACTOR, { name: uniqueName('client'), privileges })).token;
  const admin = await token('admin');
  const t: TestApp = {
    app,
    db,
    services,
    token,
    tokenFor: async (identityId: string, ...privileges: Privilege[]) => (await services.clients.create(SYSTEM_ACTOR, { name: uniqueName('client'), privileges, identityId })).token,
    admin,
    call: (tok, method, url, body, headers = {}) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      }),
    async close() {
      await services.reconciliation.idle();
      await app.close();
      await db.close();
    },
  };
  boxes.set(t, secrets);
  return t;
}

