// The flow engine without a queue: a job's scripts run one after another in the same job,
// each outcome committed with the claim of the next; a job handed out again after its
// worker died takes up the script left running; an attempt whose lease holds is not run
// twice; a flow cancelled mid-run stays cancelled.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createServices } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import { createFlowEngine, type FlowEngine } from '../../src/workflows/flows.ts';
import type { RunnerContext, RunnerDeps, ScriptOutcome, ScriptRunner } from '../../src/workflows/runners/types.ts';
import { uniqueName } from '../support/app.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

interface Call {
  position: number;
  resumed: boolean;
  attempt: number;
  outputs: Record<number, Record<string, unknown>>;
  /** The script's status as committed when the runner was called. */
  committed: string[];
}

describe.each(testDbKinds())('the flow engine on %s', (kind) => {
  let db: Db;
  let appId: string;
  let engine: FlowEngine;
  const calls: Call[] = [];
  let onRun: (ctx: RunnerContext) => Promise<ScriptOutcome | undefined> = () => Promise.resolve(undefined);

  const runner: ScriptRunner = {
    handles: (t) => t.family === 'api' && t.provider === 'test',
    validate: () => [],
    async run(ctx) {
      const rows = await db.k.selectFrom('action_flow_scripts').select(['status']).where('flow_id', '=', ctx.flow.id).orderBy('position').execute();
      calls.push({ position: ctx.script.position, resumed: ctx.script.resumed, attempt: ctx.script.attempt, outputs: ctx.outputs, committed: rows.map((r) => r.status) });
      return (await onRun(ctx)) ?? { status: 'succeeded', output: { made: `by ${ctx.script.position}`, at: new Date(0) } };
    },
  };

  beforeAll(async () => {
    db = await createTestDb(kind);
    const services = createServices({ db, secrets: createSecretBox(randomBytes(32)) });
    appId = (await services.applications.create(SYSTEM_ACTOR, { name: uniqueName('app'), connectorKind: 'scim', settings: { baseUrl: 'http://127.0.0.1:9' }, secrets: { token: 'unused-token-0123456789' } })).id;
    const runnerDeps = { db, publicUrl: 'http://127.0.0.1:1', fetch: globalThis.fetch } as unknown as RunnerDeps;
    engine = createFlowEngine({ db, runners: [runner], runnerDeps });
  }, 120_000);

  afterAll(async () => {
    await db?.close();
  });

  async function newFlow(n: number) {
    const scripts = Array.from({ length: n }, () => ({ type: 'test_api_create_user', metadata: {} }));
    const flowId = await db.tx((tx) => engine.create(tx, { purpose: 'plan', applicationId: appId, scripts, createdBy: 'test' }));
    const ids = (await db.k.selectFrom('action_flow_scripts').select(['id']).where('flow_id', '=', flowId).orderBy('position').execute()).map((r) => r.id);
    calls.length = 0;
    onRun = () => Promise.resolve(undefined);
    return { flowId, ids };
  }

  it('runs the following scripts of a flow in the same job, each outcome committed before the next starts', async () => {
    const { flowId, ids } = await newFlow(3);
    await engine.runScript(ids[0]!);
    expect(calls.map((c) => c.position)).toEqual([0, 1, 2]);
    expect(calls.map((c) => c.committed)).toEqual([
      ['running', 'pending', 'pending'],
      ['succeeded', 'running', 'pending'],
      ['succeeded', 'succeeded', 'running'],
    ]);
    // Later scripts see earlier outputs as stored (a Date as its JSON text), as a fresh job would.
    expect(calls[2]!.outputs).toEqual({ 0: { made: 'by 0', at: new Date(0).toISOString() }, 1: { made: 'by 1', at: new Date(0).toISOString() } });
    const flow = await engine.get(flowId);
    expect(flow.status).toBe('succeeded');
    expect(flow.scripts!.map((s) => [s.status, s.attempts])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
  });

  it('a job handed out again for a finished script takes up the later script its dead worker left running, as a rerun', async () => {
    const { flowId, ids } = await newFlow(3);
    const past = new Date(Date.now() - 1000);
    await db.k.updateTable('action_flow_scripts').set({ status: 'succeeded', attempts: 1, finished_at: past, output: JSON.stringify({ made: 'by 0' }) }).where('id', '=', ids[0]!).execute();
    await db.k.updateTable('action_flow_scripts').set({ status: 'running', attempts: 1, started_at: past, next_attempt_at: past }).where('id', '=', ids[1]!).execute();
    await db.k.updateTable('action_flows').set({ status: 'running' }).where('id', '=', flowId).execute();
    await engine.runScript(ids[0]!);
    expect(calls.map((c) => [c.position, c.resumed, c.attempt])).toEqual([
      [1, true, 2],
      [2, false, 1],
    ]);
    expect(calls[0]!.outputs).toEqual({ 0: { made: 'by 0' } });
    expect((await engine.get(flowId)).status).toBe('succeeded');
  });

  it('does not run an attempt twice while its lease holds', async () => {
    const { flowId, ids } = await newFlow(2);
    const later = new Date(Date.now() + 60_000);
    await db.k.updateTable('action_flow_scripts').set({ status: 'running', attempts: 1, started_at: new Date(), next_attempt_at: later }).where('id', '=', ids[0]!).execute();
    await db.k.updateTable('action_flows').set({ status: 'running' }).where('id', '=', flowId).execute();
    await engine.runScript(ids[0]!);
    expect(calls).toEqual([]);
    const flow = await engine.get(flowId);
    expect(flow.scripts!.map((s) => [s.status, s.attempts])).toEqual([
      ['running', 1],
      ['pending', 0],
    ]);
  });

  it('a running attempt holds a lease of the script timeout, shown as nextAttemptAt', async () => {
    const { flowId, ids } = await newFlow(1);
    let lease: Date | null = null;
    onRun = async () => {
      lease = (await engine.get(flowId)).scripts![0]!.nextAttemptAt;
      return undefined;
    };
    const before = Date.now();
    await engine.runScript(ids[0]!);
    expect(lease).not.toBeNull();
    expect(lease!.getTime()).toBeGreaterThanOrEqual(before + 300_000 - 1000);
    expect((await engine.get(flowId)).scripts![0]!.nextAttemptAt).toBeNull();
  });

  it('a flow cancelled while a script runs stays cancelled: the next script is not started', async () => {
    const { flowId, ids } = await newFlow(3);
    onRun = async (ctx) => {
      if (ctx.script.position === 0) await engine.cancel(SYSTEM_ACTOR, flowId);
      return undefined;
    };
    await engine.runScript(ids[0]!);
    expect(calls.map((c) => c.position)).toEqual([0]);
    const flow = await engine.get(flowId);
    expect(flow.status).toBe('cancelled');
    expect(flow.scripts!.slice(1).map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('stops at a script that waits for a person and runs nothing after it until the decision', async () => {
    const { flowId, ids } = await newFlow(3);
    onRun = (ctx) => Promise.resolve(ctx.script.position === 1 ? { status: 'waiting' } : undefined);
    await engine.runScript(ids[0]!);
    expect(calls.map((c) => c.position)).toEqual([0, 1]);
    const flow = await engine.get(flowId);
    expect(flow.status).toBe('waiting');
    expect(flow.scripts!.map((s) => s.status)).toEqual(['succeeded', 'waiting', 'pending']);
  });
});
