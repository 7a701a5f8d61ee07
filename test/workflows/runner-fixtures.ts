import { ConnectorError } from '../../src/connectors/index.ts';
// Script runners under test: a fresh database with one application, flows and scripts made
// for each test, the RunnerDeps a worker would pass, and the callback routes on loopback.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { registerAuth } from '../../src/api/auth.ts';
import { registerErrorHandling } from '../../src/api/errors.ts';
import { registerDecisionRoutes } from '../../src/api/routes/decisions.ts';
import { BUILT_IN_KINDS, createConnectorLimiter, createRegistry } from '../../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createServices, type Services } from '../../src/services/index.ts';
import { createSecretBox, type SecretBox } from '../../src/store/crypto.ts';
import type { Db, DbKind } from '../../src/store/db.ts';
import type { Decision, DecisionSink } from '../../src/workflows/decisions.ts';
import { createApplicationConfigLoader } from '../../src/workflows/runners/application-config.ts';
import type { RunnerContext, RunnerDeps, ScriptRunner } from '../../src/workflows/runners/types.ts';
import { parseScriptType } from '../../src/workflows/script-types.ts';
import { createTestDb } from '../support/db.ts';
import { uniqueName } from '../support/app.ts';

export interface SinkCall {
  kind: 'task' | 'script';
  id: string;
  decision: Decision;
  comment: string | null;
  via: string;
}

/** A DecisionSink that records what reaches it (the boundary to the approvals and flow engine). */
export function recordingSink(): DecisionSink & { calls: SinkCall[]; failWith?: Error } {
  const sink: DecisionSink & { calls: SinkCall[]; failWith?: Error } = {
    calls: [],
    decideTask(taskId, decision, comment, via) {
      if (sink.failWith) return Promise.reject(sink.failWith);
      sink.calls.push({ kind: 'task', id: taskId, decision, comment, via });
      return Promise.resolve();
    },
    resumeScript(scriptId, decision, via) {
      if (sink.failWith) return Promise.reject(sink.failWith);
      sink.calls.push({ kind: 'script', id: scriptId, decision, comment: null, via });
      return Promise.resolve();
    },
  };
  return sink;
}

export interface RunnerFixture {
  db: Db;
  services: Services;
  box: SecretBox;
  appId: string;
  deps: RunnerDeps;
  /** Inserts a flow with one script of `type` (metadata as stored) and answers its context, metadata as given (already filled in). */
  script(type: string, metadata: Record<string, unknown>, options?: { resumed?: boolean; outputs?: Record<number, Record<string, unknown>>; startedAt?: Date; applicationId?: string }): Promise<RunnerContext>;
  run(runner: ScriptRunner, ctx: RunnerContext): ReturnType<ScriptRunner['run']>;
  close(): Promise<void>;
}

export async function createRunnerFixture(kind: DbKind, extra: Partial<RunnerDeps> = {}): Promise<RunnerFixture> {
  const db = await createTestDb(kind);
  const box = createSecretBox(randomBytes(32));
  const services = createServices({ db, secrets: box });
  const app = await services.applications.create(SYSTEM_ACTOR, { name: uniqueName('app'), connectorKind: 'gitlab', settings: { baseUrl: 'http://127.0.0.1:9' }, secrets: { token: 'glpat-unused-0000' } });
  const deps: RunnerDeps = {
    db,
    withConnector: () => Promise.reject(new Error('not used by these runners')),
    connectors: createRegistry(BUILT_IN_KINDS),
    limiter: createConnectorLimiter(),
    publicUrl: 'http://127.0.0.1:1',
    fetch: globalThis.fetch,
    applicationConfig: createApplicationConfigLoader({ db, secrets: box }),
    ...extra,
  };
  return {
    db,
    services,
    box,
    appId: app.id,
    deps,
    async script(type, metadata, options = {}) {
      const parsed = parseScriptType(type);
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      const flow = await db.k
        .insertInto('action_flows')
        .values({ application_id: options.applicationId ?? app.id, purpose: 'provisioning', created_by: 'test', context: JSON.stringify({}) })
        .returning(['id'])
        .executeTakeFirstOrThrow();
      const script = await db.k
        .insertInto('action_flow_scripts')
        .values({ flow_id: flow.id, position: 0, type, metadata: JSON.stringify(metadata), status: 'running', started_at: options.startedAt ?? new Date() })
        .returning(['id'])
        .executeTakeFirstOrThrow();
      return {
        script: { id: script.id, flowId: flow.id, position: 0, type, parsed: parsed.value, metadata, attempt: 1, resumed: options.resumed ?? false },
        flow: { id: flow.id, purpose: 'provisioning', applicationId: options.applicationId ?? app.id, entitlementId: null, identityId: null, assignmentId: null, requestId: null, context: {} },
        vars: {},
        outputs: options.outputs ?? {},
        now: () => new Date(),
      };
    },
    run: (runner, ctx) => runner.run(ctx, deps),
    close: () => db.close(),
  };
}

/** The decision pages and Slack interaction route, listening on loopback like a deployed server. */
export async function startCallbackServer(deps: Parameters<typeof registerDecisionRoutes>[1]): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  registerErrorHandling(app);
  registerAuth(app, { authenticate: () => Promise.resolve(undefined), cached: () => undefined, forget: () => undefined });
  await registerDecisionRoutes(app, deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

/** A chain's application as runners' `validate` sees it. */
export const APP = { id: 'a', connectorKind: 'gitlab', capabilities: [] };

/** A script type, parsed; throws on a bad one. */
export const type = (t: string) => {
  const p = parseScriptType(t);
  if (!p.ok) throw new Error('bad type');
  return p.value;
};

/** The ConnectorError a promise rejects with; fails the test on anything else. */
export async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectorError) return e;
    throw e;
  }
  throw new Error('expected a ConnectorError');
}
