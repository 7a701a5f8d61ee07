/**
 * ActionFlows (seed 000): the run of an ActionChain for one assignment, or of one
 * AccountRequest of a plan. Each ActionFlowScript runs as one job of the durable queue;
 * what it did is recorded in `action_flow_scripts` (status, attempts, timestamps, output,
 * last error), so a worker killed at any moment loses nothing: the job comes back, the
 * script is found `running` with no outcome, and its runner is told to look before it acts.
 *
 * A script that succeeds enqueues the next in the same transaction; a retryable failure
 * is tried again after an exponential backoff with jitter (never sooner than the target's
 * Retry-After); a permanent one, or one that used up its attempts, fails the flow. A failed
 * flow can be retried from the script that failed; a flow can be cancelled until it ends.
 */
import { sql } from 'kysely';
import { isConnectorError, maxConcurrencyOf } from '../connectors/index.ts';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import type { JobQueue, QueueSettings } from '../jobs/index.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import type { ActionFlowScriptsTable, ActionFlowsTable } from '../store/tables.ts';
import type { Selectable } from 'kysely';
import { parseScriptType } from './script-types.ts';
import { ownFlowsFollow } from './approvals.ts';
import { runPrepared } from './prepared.ts';
import { render } from './template.ts';
import type { FlowRun, RunnerDeps, ScriptOutcome, ScriptRunner } from './runners/types.ts';

export const FLOW_QUEUE = 'flow.script';

/** A script attempt not finished after this long is taken to have died with its worker (`STEWARD_SCRIPT_TIMEOUT_SECONDS`). */
export const DEFAULT_SCRIPT_TIMEOUT_SECONDS = 300;

/** The flow queue's settings, wherever it is declared: a job is handed out again once the script timeout has passed. */
export function flowQueueSettings(scriptTimeoutSeconds: number = DEFAULT_SCRIPT_TIMEOUT_SECONDS): QueueSettings {
  return { expireInSeconds: scriptTimeoutSeconds };
}

export const FLOW_STATUSES = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type FlowStatus = (typeof FLOW_STATUSES)[number];
export const SCRIPT_STATUSES = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type ScriptStatus = (typeof SCRIPT_STATUSES)[number];
export type FlowPurpose = 'provisioning' | 'deprovisioning' | 'plan';

/** One step of a chain: a script type and its metadata (placeholders not yet filled). */
export interface ChainScript {
  type: string;
  metadata: Record<string, unknown>;
}

export interface NewFlow {
  purpose: FlowPurpose;
  applicationId: string;
  entitlementId?: string | null;
  identityId?: string | null;
  assignmentId?: string | null;
  requestId?: string | null;
  chainId?: string | null;
  scripts: readonly ChainScript[];
  context?: Record<string, unknown>;
  createdBy: string;
}

export interface FlowScript {
  id: string;
  position: number;
  type: string;
  metadata: Record<string, unknown>;
  status: ScriptStatus;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  nextAttemptAt: Date | null;
  output: unknown;
  lastError: unknown;
}

export interface ActionFlow {
  id: string;
  purpose: FlowPurpose;
  status: FlowStatus;
  applicationId: string;
  entitlementId: string | null;
  identityId: string | null;
  assignmentId: string | null;
  requestId: string | null;
  chainId: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  scripts?: FlowScript[];
}

export interface RetryPolicy {
  /** Attempts before a retryable failure fails the script. */
  maxAttempts: number;
  /** First backoff, in ms; doubled each attempt, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 2_000, maxDelayMs: 15 * 60_000 };

export interface FlowEngineDeps {
  db: Db;
  queue?: JobQueue;
  runners: readonly ScriptRunner[];
  runnerDeps: RunnerDeps;
  retry?: Partial<RetryPolicy>;
  now?: () => Date;
  log?: { warn(fields: object, msg?: string): void; error(fields: object, msg?: string): void };
}

export interface FlowFilter {
  status?: FlowStatus;
  identityId?: string;
  applicationId?: string;
  assignmentId?: string;
  requestId?: string;
  /** Keyset: the previous page's last (createdAt, id). */
  after?: [string, string];
  limit: number;
}

export interface FlowEngine {
  /** Inserts a flow and its scripts and enqueues the first, in `tx`. Call `wake()` after the commit. */
  create(tx: Executor, flow: NewFlow): Promise<string>;
  /** Tells this process's workers that scripts were enqueued. */
  wake(): void;
  /**
   * For a caller that creates flows in a transaction it does not commit itself (the lifecycle,
   * reconciliation): wakes this process's workers once `tx` has ended. On PostgreSQL the
   * queue's NOTIFY, sent at the commit, already wakes the workers of every process; on the
   * embedded database a probe query is queued behind the transaction (it holds the single
   * session until its COMMIT) and the workers are woken when it answers.
   */
  wakeAfter(tx: Executor): void;
  /** Carries out one script attempt (the queue's job handler). */
  runScript(scriptId: string): Promise<void>;
  /** A person decided on a waiting script (an approval prompt): approve continues the flow, deny fails it. */
  resumeScript(scriptId: string, decision: 'approve' | 'deny', via: string): Promise<void>;
  retry(actor: Actor, flowId: string): Promise<ActionFlow>;
  cancel(actor: Actor, flowId: string): Promise<ActionFlow>;
  get(flowId: string): Promise<ActionFlow>;
  list(f: FlowFilter): Promise<{ items: ActionFlow[]; next: [string, string] | null }>;
  /** Starts this process's flow workers. */
  work(options?: { concurrency?: number; batchSize?: number; expireInSeconds?: number; pollingIntervalSeconds?: number }): Promise<void>;
}

type ScriptRow = Selectable<ActionFlowScriptsTable>;
type Outputs = Record<number, Record<string, unknown>>;

/** A script attempt claimed by this worker, with its flow. */
interface Claimed {
  script: ScriptRow;
  flow: Selectable<ActionFlowsTable>;
  resumed: boolean;
  /** Known to be the flow's last script (false when not known: the general path is taken). */
  last: boolean;
}

/** A script's and a flow's columns, named (see prepared.ts): a claim answers both, the flow's as `flow_*`. */
const SCRIPT_COLUMNS = ['id', 'flow_id', 'position', 'type', 'metadata', 'status', 'attempts', 'started_at', 'finished_at', 'next_attempt_at', 'output', 'last_error'] as const;
const FLOW_COLUMNS = ['chain_id', 'application_id', 'entitlement_id', 'identity_id', 'assignment_id', 'request_id', 'purpose', 'status', 'context', 'created_by', 'created_at', 'updated_at', 'finished_at'] as const;
const scriptColumns = (alias: string) => sql.raw(SCRIPT_COLUMNS.map((c) => `${alias}.${c}`).join(', '));
const flowColumns = sql.raw(FLOW_COLUMNS.map((c) => `f.${c} as flow_${c}`).join(', '));
type ClaimRow = ScriptRow & { is_last: boolean } & { [K in (typeof FLOW_COLUMNS)[number] as `flow_${K}`]: Selectable<ActionFlowsTable>[K] };

/** A claim statement's row as the script and its flow. */
function claimedOf(row: ClaimRow): Claimed {
  const script = {} as Record<string, unknown>;
  for (const c of SCRIPT_COLUMNS) script[c] = row[c];
  const flow = { id: row.flow_id } as Record<string, unknown>;
  for (const c of FLOW_COLUMNS) flow[c] = row[`flow_${c}`];
  return { script: script as ScriptRow, flow: { ...(flow as Selectable<ActionFlowsTable>), status: 'running' }, resumed: false, last: row.is_last };
}

/** The most flow ends committed in one transaction. */
const MAX_ENDINGS = 100;

/** The most scripts of one flow a job runs one after another before it hands the rest to the queue. */
const MAX_CHAIN = 50;

const toScript = (r: ScriptRow): FlowScript => ({
  id: r.id,
  position: r.position,
  type: r.type,
  metadata: r.metadata,
  status: r.status as ScriptStatus,
  attempts: r.attempts,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  nextAttemptAt: r.next_attempt_at,
  output: r.output,
  lastError: r.last_error,
});

interface FlowRowish {
  id: string;
  purpose: string;
  status: string;
  application_id: string;
  entitlement_id: string | null;
  identity_id: string | null;
  assignment_id: string | null;
  request_id: string | null;
  chain_id: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const toFlow = (r: FlowRowish): ActionFlow => ({
  id: r.id,
  purpose: r.purpose as FlowPurpose,
  status: r.status as FlowStatus,
  applicationId: r.application_id,
  entitlementId: r.entitlement_id,
  identityId: r.identity_id,
  assignmentId: r.assignment_id,
  requestId: r.request_id,
  chainId: r.chain_id,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

/** A classified failure, as stored in `last_error`. */
interface ScriptError {
  kind: 'retryable' | 'rate_limited' | 'permanent';
  code: string;
  message: string;
  status?: number;
  retryAfterMs?: number;
  at: string;
  attempt: number;
}

function classify(e: unknown, attempt: number, at: Date): ScriptError {
  if (isConnectorError(e)) {
    const target = e.targetMessage ? ` (target said: ${e.targetMessage})` : '';
    return {
      kind: e.kind,
      code: e.code,
      message: `${e.message}${target}`,
      ...(e.status !== undefined ? { status: e.status } : {}),
      ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
      at: at.toISOString(),
      attempt,
    };
  }
  if (e instanceof StewardError) return { kind: 'permanent', code: e.code, message: e.message, at: at.toISOString(), attempt };
  return { kind: 'retryable', code: 'internal', message: e instanceof Error ? e.message : String(e), at: at.toISOString(), attempt };
}

/** The delay before attempt `attempt + 1`: exponential with full jitter over its upper half, never under Retry-After. */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + (exp / 2) * random();
  return Math.max(retryAfterMs ?? 0, Math.round(jittered));
}

export function createFlowEngine(deps: FlowEngineDeps): FlowEngine {
  const { db } = deps;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...deps.retry };
  const now = deps.now ?? (() => new Date());
  const limits = new Map<string, number>();
  /** How long a claimed attempt is taken to be alive: the script timeout, as the worker was started with. */
  let leaseMs = DEFAULT_SCRIPT_TIMEOUT_SECONDS * 1000;
  const leaseEnd = (at: Date) => new Date(at.getTime() + leaseMs);

  /** The application's own limit on concurrent connector calls, read through the caller's transaction (PGlite has one session). */
  async function groupOf(ex: Executor, applicationId: string): Promise<{ id: string; limit: number }> {
    let limit = limits.get(applicationId);
    if (limit === undefined) {
      const row = await ex.selectFrom('applications').select('settings').where('id', '=', applicationId).executeTakeFirst();
      limit = row ? maxConcurrencyOf(row.settings) : 1;
      if (limits.size > 10_000) limits.clear();
      limits.set(applicationId, limit);
    }
    return { id: applicationId, limit };
  }

  async function enqueue(tx: Executor, scriptId: string, applicationId: string, startAfter?: Date): Promise<void> {
    if (!deps.queue) return;
    await deps.queue.send(FLOW_QUEUE, { scriptId }, { group: await groupOf(tx, applicationId), ...(startAfter ? { startAfter } : {}) }, tx);
  }

  const wake = () => deps.queue?.wake(FLOW_QUEUE);

  async function loadFlow(ex: Executor, flowId: string) {
    const row = await ex.selectFrom('action_flows').selectAll().where('id', '=', flowId).executeTakeFirst();
    if (!row) throw new StewardError('flow.not_found', `no ActionFlow has id ${flowId}`);
    return row;
  }

  async function get(flowId: string): Promise<ActionFlow> {
    const row = await loadFlow(db.k, flowId);
    const scripts = await db.k.selectFrom('action_flow_scripts').selectAll().where('flow_id', '=', flowId).orderBy('position').execute();
    return { ...toFlow(row), scripts: scripts.map(toScript) };
  }

  /** Template variables for one flow: who, what, why, and the outputs so far. */
  async function variables(flow: FlowRun, outputs: Record<number, Record<string, unknown>>): Promise<Record<string, unknown>> {
    const k = db.k;
    const [identity, application, entitlement, request] = await Promise.all([
      flow.identityId ? k.selectFrom('identities').selectAll().where('id', '=', flow.identityId).executeTakeFirst() : undefined,
      k.selectFrom('applications').select(['id', 'name', 'connector_kind', 'owner_id']).where('id', '=', flow.applicationId).executeTakeFirst(),
      flow.entitlementId ? k.selectFrom('entitlements').selectAll().where('id', '=', flow.entitlementId).executeTakeFirst() : undefined,
      flow.requestId ? k.selectFrom('access_requests').selectAll().where('id', '=', flow.requestId).executeTakeFirst() : undefined,
    ]);
    const [manager, requester, account] = await Promise.all([
      identity?.manager_id ? k.selectFrom('identities').selectAll().where('id', '=', identity.manager_id).executeTakeFirst() : undefined,
      request?.requester_id ? k.selectFrom('identities').selectAll().where('id', '=', request.requester_id).executeTakeFirst() : undefined,
      flow.identityId
        ? k.selectFrom('accounts').select(['native_identity', 'attributes']).where('application_id', '=', flow.applicationId).where('identity_id', '=', flow.identityId).executeTakeFirst()
        : undefined,
    ]);
    const person = (p: typeof identity) =>
      p && {
        id: p.id,
        userName: p.user_name,
        displayName: p.display_name,
        givenName: p.given_name,
        familyName: p.family_name,
        email: p.email,
        department: p.department,
        title: p.title,
        employeeNumber: p.employee_number,
        kind: p.kind,
        status: p.status,
        managerId: p.manager_id,
        externalId: p.external_id,
        attributes: p.data,
      };
    const base = deps.runnerDeps.publicUrl.replace(/\/$/, '');
    return {
      identity: person(identity),
      manager: person(manager),
      requester: person(requester),
      application: application && { id: application.id, name: application.name, connectorKind: application.connector_kind, ownerId: application.owner_id },
      entitlement: entitlement && { id: entitlement.id, kind: entitlement.kind, nativeValue: entitlement.native_value, name: entitlement.name, description: entitlement.description },
      account: account && { nativeIdentity: account.native_identity, attributes: account.attributes },
      request: request && { id: request.id, justification: request.justification, endDate: request.end_date, requestedBy: request.requested_by, url: `${base}/v1.0/requests/${request.id}` },
      flow: { id: flow.id, purpose: flow.purpose, url: `${base}/v1.0/flows/${flow.id}` },
      outputs,
    };
  }

  /**
   * Records an outcome and moves the flow on, atomically. With `chain`, a success also claims
   * the flow's next script and answers it, for the caller to run at once (no job, no wait for
   * a worker); otherwise the next script is enqueued. The usual steps are one statement each:
   * a success that claims the next script (no transaction around it), and the last script's
   * success that ends the flow (in a transaction with its audit event).
   */
  async function settle(claimed: Claimed, outcome: ScriptOutcome, chain: boolean): Promise<Claimed | undefined> {
    const { script, flow } = claimed;
    const output = outcome.output ? JSON.stringify(outcome.output) : null;
    if (outcome.status !== 'later' && outcome.status !== 'waiting' && chain && !claimed.last) {
      // One statement: the next pending script claimed if it is due now and the flow is live,
      // and this script's outcome written only then. When nothing is claimed nothing is
      // written, and the transaction below does it all.
      const at = now();
      const fast = await runPrepared(
        db,
        'flow_settle_chain',
        sql<ScriptRow & { is_last: boolean }>`
          with nxt as (
            select s.id from action_flow_scripts s
            where s.flow_id = ${flow.id} and s.position > ${script.position} and s.status = 'pending'
            order by s.position limit 1
          ), claimed as (
            update action_flow_scripts s
            set status = 'running', attempts = s.attempts + 1, started_at = coalesce(s.started_at, ${at}), next_attempt_at = ${leaseEnd(at)}
            where s.id = (select id from nxt) and s.status = 'pending' and (s.next_attempt_at is null or s.next_attempt_at <= ${at})
              and (select f.status from action_flows f where f.id = s.flow_id) in ('pending', 'running')
            returning ${scriptColumns('s')}, not exists (select 1 from action_flow_scripts n where n.flow_id = s.flow_id and n.position > s.position) as is_last
          ), done as (
            update action_flow_scripts set status = ${outcome.status}, finished_at = ${at}, next_attempt_at = null, output = ${output}
            where id = ${script.id} and exists (select 1 from claimed)
          ), live as (
            update action_flows set status = 'running', updated_at = ${at}
            where id = (select flow_id from claimed) and status in ('pending', 'running')
          )
          select * from claimed`.compile(db.k),
      );
      const row = fast.rows[0];
      if (row) {
        const { is_last, ...next } = row;
        return { script: next, flow: { ...flow, status: 'running' }, resumed: false, last: is_last };
      }
    }
    if (claimed.last && (outcome.status === 'succeeded' || outcome.status === 'skipped')) {
      await endFlow({ script, flow, status: outcome.status, output });
      return undefined;
    }
    const enqueued = await db.tx(async (tx): Promise<boolean> => {
      const at = now();
      if (outcome.status === 'later') {
        await tx
          .updateTable('action_flow_scripts')
          .set({ status: 'pending', attempts: sql`attempts - 1`, next_attempt_at: outcome.at, output })
          .where('id', '=', script.id)
          .execute();
        await enqueue(tx, script.id, flow.application_id, outcome.at);
        deps.queue?.wake(FLOW_QUEUE, outcome.at);
        return false;
      }
      if (outcome.status === 'waiting') {
        await tx.updateTable('action_flow_scripts').set({ status: 'waiting', next_attempt_at: null, output }).where('id', '=', script.id).execute();
        await tx.updateTable('action_flows').set({ status: 'waiting', updated_at: at }).where('id', '=', flow.id).execute();
        return false;
      }
      await tx.updateTable('action_flow_scripts').set({ status: outcome.status, finished_at: at, next_attempt_at: null, output }).where('id', '=', script.id).execute();
      return advance(tx, flow, script.position, at);
    });
    if (enqueued) wake();
    return undefined;
  }

  /** A flow whose last script finished, waiting for its end to be committed. */
  interface Ending {
    script: ScriptRow;
    flow: FlowRowish;
    status: 'succeeded' | 'skipped';
    output: string | null;
  }
  const endings: { ending: Ending; committed: PromiseWithResolvers<void> }[] = [];
  let endingsRunning = false;

  /**
   * Ends a flow whose last script finished: the script's outcome, the flow succeeded (a flow
   * cancelled meanwhile stays cancelled), what that brings, committed together. The ends of
   * this process's flows are committed one transaction at a time: the flows that finish while
   * one runs go together in the next, so under load they share one transaction, one turn at
   * the audit chain's lock and one WAL flush instead of queueing for each. A batch that fails
   * is tried again one flow at a time, so one flow's failure is its own.
   */
  function endFlow(ending: Ending): Promise<void> {
    const committed = Promise.withResolvers<void>();
    endings.push({ ending, committed });
    if (!endingsRunning) void endQueued();
    return committed.promise;
  }

  async function endQueued(): Promise<void> {
    endingsRunning = true;
    try {
      while (endings.length > 0) {
        const batch = endings.splice(0, MAX_ENDINGS);
        try {
          await db.tx((tx) => endFlows(tx, batch.map((b) => b.ending)));
          for (const b of batch) b.committed.resolve();
        } catch (e) {
          if (batch.length === 1) {
            batch[0]!.committed.reject(e);
            continue;
          }
          for (const b of batch) {
            try {
              await db.tx((tx) => endFlows(tx, [b.ending]));
              b.committed.resolve();
            } catch (e1) {
              b.committed.reject(e1);
            }
          }
        }
      }
    } finally {
      endingsRunning = false;
    }
  }

  /** The ends of flows, in `tx`: each last script's outcome and its flow succeeded in one statement, then assignments and audit events for all of them. */
  async function endFlows(tx: Executor, batch: readonly Ending[]): Promise<void> {
    const at = now();
    const ended = await sql<{ id: string }>`
      with x as (
        select * from unnest(${batch.map((b) => b.script.id)}::uuid[], ${batch.map((b) => b.status)}::text[], ${batch.map((b) => b.output)}::jsonb[]) as x(id, status, output)
      ), done as (
        update action_flow_scripts s set status = x.status, finished_at = ${at}, next_attempt_at = null, output = x.output
        from x where s.id = x.id returning s.flow_id
      )
      update action_flows f set status = 'succeeded', updated_at = ${at}, finished_at = ${at}
      from done where f.id = done.flow_id and f.status in ('pending', 'running', 'waiting')
      returning f.id`.execute(tx);
    const ids = new Set(ended.rows.map((r) => r.id));
    const flows = batch.map((b) => b.flow).filter((f) => ids.has(f.id));
    if (flows.length === 0) return;
    // A provisioning flow that finished puts its assignment in effect.
    const assignments = flows.filter((f) => f.assignment_id && f.purpose === 'provisioning').map((f) => f.assignment_id!);
    if (assignments.length > 0) {
      await ownFlowsFollow(tx);
      await tx.updateTable('assignments').set({ status: 'active', updated_at: at }).where('id', 'in', assignments).where('status', '=', 'pending').execute();
    }
    await appendAudit(
      tx,
      flows.map((f) => ({ actor: 'system', action: 'flow.succeeded', objectType: 'action_flow', objectId: f.id, before: null, after: { purpose: f.purpose, assignmentId: f.assignment_id } })),
    );
  }

  /** After the script at `position` finished: enqueue the next (answers true), or end the flow. */
  async function advance(tx: Executor, flow: FlowRowish, position: number, at: Date): Promise<boolean> {
    const next = await tx
      .selectFrom('action_flow_scripts')
      .select(['id'])
      .where('flow_id', '=', flow.id)
      .where('position', '>', position)
      .where('status', '=', 'pending')
      .orderBy('position')
      .limit(1)
      .executeTakeFirst();
    // A flow cancelled meanwhile stays cancelled: nothing is enqueued and nothing is put in effect.
    const live = ['pending', 'running', 'waiting'];
    if (next) {
      const moved = await tx.updateTable('action_flows').set({ status: 'running', updated_at: at }).where('id', '=', flow.id).where('status', 'in', live).executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) return false;
      await enqueue(tx, next.id, flow.application_id);
      return true;
    }
    const ended = await tx.updateTable('action_flows').set({ status: 'succeeded', updated_at: at, finished_at: at }).where('id', '=', flow.id).where('status', 'in', live).executeTakeFirst();
    if (Number(ended.numUpdatedRows) > 0) await flowSucceeded(tx, flow, at);
    return false;
  }

  /** What a flow's success brings, in the transaction that ended it: a provisioning flow puts its assignment in effect; the audit event. */
  async function flowSucceeded(tx: Executor, flow: FlowRowish, at: Date): Promise<void> {
    if (flow.assignment_id && flow.purpose === 'provisioning') {
      await ownFlowsFollow(tx);
      await tx.updateTable('assignments').set({ status: 'active', updated_at: at }).where('id', '=', flow.assignment_id).where('status', '=', 'pending').execute();
    }
    await appendAudit(tx, [{ actor: 'system', action: 'flow.succeeded', objectType: 'action_flow', objectId: flow.id, before: null, after: { purpose: flow.purpose, assignmentId: flow.assignment_id } }]);
  }

  async function failScript(script: ScriptRow, flow: FlowRowish, error: ScriptError): Promise<void> {
    const at = now();
    const retry = error.kind !== 'permanent' && script.attempts < policy.maxAttempts;
    const retryAt = await db.tx(async (tx): Promise<Date | undefined> => {
      if (retry) {
        const when = new Date(at.getTime() + backoffMs(policy, script.attempts, error.retryAfterMs));
        await tx
          .updateTable('action_flow_scripts')
          .set({ status: 'pending', next_attempt_at: when, last_error: JSON.stringify(error) })
          .where('id', '=', script.id)
          .execute();
        await enqueue(tx, script.id, flow.application_id, when);
        return when;
      }
      await tx
        .updateTable('action_flow_scripts')
        .set({ status: 'failed', finished_at: at, next_attempt_at: null, last_error: JSON.stringify(error) })
        .where('id', '=', script.id)
        .execute();
      await tx.updateTable('action_flows').set({ status: 'failed', updated_at: at, finished_at: at }).where('id', '=', flow.id).execute();
      await appendAudit(tx, [{ actor: 'system', action: 'flow.failed', objectType: 'action_flow', objectId: flow.id, before: null, after: { script: script.position, type: script.type, error } }]);
      return undefined;
    });
    if (retry && retryAt) deps.queue?.wake(FLOW_QUEUE, retryAt);
  }

  function runnerFor(type: string): { runner: ScriptRunner; parsed: ReturnType<typeof parseScriptType> & { ok: true } } | StewardError {
    const parsed = parseScriptType(type);
    if (!parsed.ok) return new StewardError('flow.invalid_script', parsed.errors.join('; '));
    const runner = deps.runners.find((r) => r.handles(parsed.value));
    if (!runner) return new StewardError('flow.invalid_script', `no runner carries out scripts of type '${type}' in this process`);
    return { runner, parsed };
  }

  /**
   * Claims an attempt of the script a job names: a pending script that is due, or a running
   * one whose worker died (its lease, `next_attempt_at`, has passed). The job of a finished
   * script may have carried later scripts of its flow (run inline, see `runScript`): handed
   * out again after its worker died, it takes up the one of them still running.
   */
  async function claim(scriptId: string): Promise<Claimed | undefined> {
    // The usual case in one statement, atomic on its own (no transaction around it): a pending
    // script that is due, of a live flow, marked running with its lease, the flow marked
    // running too. Anything else is looked at in a transaction below.
    const at = now();
    const fast = await runPrepared(
      db,
      'flow_claim',
      sql<ClaimRow>`
        with c as (
          update action_flow_scripts s
          set status = 'running', attempts = s.attempts + 1, started_at = coalesce(s.started_at, ${at}), next_attempt_at = ${leaseEnd(at)}
          where s.id = ${scriptId} and s.status = 'pending' and (s.next_attempt_at is null or s.next_attempt_at <= ${new Date(at.getTime() + 50)})
            and (select f.status from action_flows f where f.id = s.flow_id) in ('pending', 'running')
          returning ${scriptColumns('s')}, not exists (select 1 from action_flow_scripts n where n.flow_id = s.flow_id and n.position > s.position) as is_last
        ), moved as (
          update action_flows f set status = 'running', updated_at = ${at}
          where f.id = (select flow_id from c) and f.status = 'pending'
        )
        select c.*, ${flowColumns} from c join action_flows f on f.id = c.flow_id`.compile(db.k),
    );
    const row = fast.rows[0];
    if (row) return claimedOf(row);
    return claimSlowly(scriptId);
  }

  /** A claim that is not the usual one: a rerun after a dead worker, a job of a finished script, a lease that holds, a flow no longer live. */
  async function claimSlowly(scriptId: string): Promise<Claimed | undefined> {
    const claimed = await db.tx(async (tx): Promise<Claimed | { liveUntil: Date } | undefined> => {
      let script = await tx.selectFrom('action_flow_scripts').selectAll().where('id', '=', scriptId).forUpdate().executeTakeFirst();
      if (script && (script.status === 'succeeded' || script.status === 'skipped')) {
        script = await tx.selectFrom('action_flow_scripts').selectAll().where('flow_id', '=', script.flow_id).where('position', '>', script.position).where('status', '=', 'running').forUpdate().executeTakeFirst();
      }
      if (!script || (script.status !== 'pending' && script.status !== 'running')) return undefined;
      const flow = await tx.selectFrom('action_flows').selectAll().where('id', '=', script.flow_id).forUpdate().executeTakeFirst();
      if (!flow || !['pending', 'running'].includes(flow.status)) return undefined;
      const at = now();
      if (script.next_attempt_at && script.next_attempt_at.getTime() > at.getTime() + 50) {
        // A retry scheduled for later is not run early by a stray job, and a running attempt
        // whose lease holds is not run twice: its own job, or one sent now for the moment
        // its lease ends, looks again then.
        if (script.status === 'pending') return undefined;
        await enqueue(tx, script.id, flow.application_id, script.next_attempt_at);
        return { liveUntil: script.next_attempt_at };
      }
      const resumed = script.status === 'running';
      const updated = await tx
        .updateTable('action_flow_scripts')
        .set({ status: 'running', attempts: sql`attempts + 1`, started_at: script.started_at ?? at, next_attempt_at: leaseEnd(at) })
        .where('id', '=', script.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (flow.status !== 'running') await tx.updateTable('action_flows').set({ status: 'running', updated_at: at }).where('id', '=', flow.id).execute();
      return { script: updated, flow: { ...flow, status: 'running' }, resumed, last: false };
    });
    if (claimed && 'liveUntil' in claimed) {
      deps.queue?.wake(FLOW_QUEUE, claimed.liveUntil);
      return undefined;
    }
    return claimed;
  }

  /**
   * Runs the script a job names, and then, while each succeeds and the next is due at once,
   * the following scripts of its flow in the same job: each outcome is committed with the
   * claim of the next, so a crash anywhere resumes where the flow stood. Bounded in number
   * and to half the lease, so the job never outlives its own expiry while alive.
   */
  async function runScript(scriptId: string): Promise<void> {
    const started = Date.now();
    let current = await claim(scriptId);
    let outputs: Outputs | undefined;
    try {
      for (let n = 1; current; n++) {
        const chain = n < MAX_CHAIN && Date.now() - started < leaseMs / 2;
        const done: { next: Claimed; outputs: Outputs | undefined } | undefined = await attempt(current, outputs, chain);
        current = done?.next;
        outputs = done?.outputs;
      }
    } catch (e) {
      // The attempt's worker is alive but could not finish it: its lease ends now, so the
      // queue's retry of this job takes the script up at once as a rerun.
      if (current) await db.k.updateTable('action_flow_scripts').set({ next_attempt_at: now() }).where('id', '=', current.script.id).where('status', '=', 'running').execute().catch(() => undefined);
      throw e;
    }
  }

  /** One attempt of a claimed script; answers the next script of the flow when it was claimed to run at once. */
  async function attempt(claimed: Claimed, known: Outputs | undefined, chain: boolean): Promise<{ next: Claimed; outputs: Outputs | undefined } | undefined> {
    const { script, flow, resumed } = claimed;
    const found = runnerFor(script.type);
    if (found instanceof StewardError) {
      await failScript(script, flow, classify(found, script.attempts, now()));
      return undefined;
    }
    let outputs = known;
    if (!outputs) {
      outputs = {};
      if (script.position > 0) {
        const earlier = await db.k.selectFrom('action_flow_scripts').select(['position', 'output']).where('flow_id', '=', flow.id).where('position', '<', script.position).execute();
        for (const e of earlier) if (e.output && typeof e.output === 'object') outputs[e.position] = e.output as Record<string, unknown>;
      }
    }
    const flowRun: FlowRun = {
      id: flow.id,
      purpose: flow.purpose as FlowPurpose,
      applicationId: flow.application_id,
      entitlementId: flow.entitlement_id,
      identityId: flow.identity_id,
      assignmentId: flow.assignment_id,
      requestId: flow.request_id,
      context: flow.context,
    };
    let outcome: ScriptOutcome;
    try {
      // The variables cost a handful of reads: only made when the metadata has a placeholder.
      const vars = JSON.stringify(script.metadata).includes('{{') ? await variables(flowRun, outputs) : { outputs };
      outcome = await found.runner.run(
        {
          script: { id: script.id, flowId: flow.id, position: script.position, type: script.type, parsed: found.parsed.value, metadata: render(script.metadata, vars), attempt: script.attempts, resumed },
          flow: flowRun,
          vars,
          outputs,
          now,
        },
        deps.runnerDeps,
      );
    } catch (e) {
      const error = classify(e, script.attempts, now());
      deps.log?.warn({ flowId: flow.id, scriptId: script.id, type: script.type, attempt: script.attempts, error: { kind: error.kind, code: error.code, message: error.message } }, 'action flow script failed');
      await failScript(script, flow, error);
      return undefined;
    }
    const next = await settle(claimed, outcome, chain);
    if (!next) return undefined;
    // The outputs the next script sees are the ones stored: as read back from the database.
    const stored = outcome.output ? (JSON.parse(JSON.stringify(outcome.output)) as unknown) : null;
    const following = next.script.position === script.position + 1 ? { ...outputs, ...(stored && typeof stored === 'object' ? { [script.position]: stored as Record<string, unknown> } : {}) } : undefined;
    return { next, outputs: following };
  }

  return {
    async create(tx, f) {
      if (f.scripts.length === 0) throw new StewardError('flow.invalid_script', 'an ActionFlow needs at least one script');
      const flow = await tx
        .insertInto('action_flows')
        .values({
          purpose: f.purpose,
          application_id: f.applicationId,
          entitlement_id: f.entitlementId ?? null,
          identity_id: f.identityId ?? null,
          assignment_id: f.assignmentId ?? null,
          request_id: f.requestId ?? null,
          chain_id: f.chainId ?? null,
          context: JSON.stringify(f.context ?? {}),
          created_by: f.createdBy,
        })
        .returning(['id'])
        .executeTakeFirstOrThrow();
      const scripts = await tx
        .insertInto('action_flow_scripts')
        .values(f.scripts.map((s, position) => ({ flow_id: flow.id, position, type: s.type, metadata: JSON.stringify(s.metadata) })))
        .returning(['id', 'position'])
        .execute();
      const first = scripts.find((s) => s.position === 0)!;
      await enqueue(tx, first.id, f.applicationId);
      return flow.id;
    },
    wake,
    wakeAfter(tx) {
      if (!deps.queue) return;
      if (tx === db.k) wake();
      if (db.kind !== 'pglite' || tx === db.k) return;
      void db.k
        .selectNoFrom(sql<number>`1`.as('one'))
        .execute()
        .then(wake, () => undefined);
    },
    runScript,
    async resumeScript(scriptId, decision, via) {
      const done = await db.tx(async (tx) => {
        const script = await tx.selectFrom('action_flow_scripts').selectAll().where('id', '=', scriptId).forUpdate().executeTakeFirst();
        if (!script) throw new StewardError('flow.not_found', `no ActionFlowScript has id ${scriptId}`);
        if (script.status !== 'waiting') throw new StewardError('flow.not_waiting', `script ${scriptId} is ${script.status}, not waiting for a decision`);
        const flow = await loadFlow(tx, script.flow_id);
        const at = now();
        const output = { ...((script.output as Record<string, unknown> | null) ?? {}), decision, decidedVia: via, decidedAt: at.toISOString() };
        await appendAudit(tx, [{ actor: via, action: `flow.script.${decision}`, objectType: 'action_flow_script', objectId: script.id, before: { status: 'waiting' }, after: { decision } }]);
        if (decision === 'approve') {
          await tx.updateTable('action_flow_scripts').set({ status: 'succeeded', finished_at: at, output: JSON.stringify(output) }).where('id', '=', scriptId).execute();
          await advance(tx, flow, script.position, at);
        } else {
          const error = { kind: 'permanent', code: 'denied', message: `denied by ${via}`, at: at.toISOString(), attempt: script.attempts };
          await tx.updateTable('action_flow_scripts').set({ status: 'failed', finished_at: at, output: JSON.stringify(output), last_error: JSON.stringify(error) }).where('id', '=', scriptId).execute();
          await tx.updateTable('action_flows').set({ status: 'failed', updated_at: at, finished_at: at }).where('id', '=', flow.id).execute();
        }
        return true;
      });
      if (done) wake();
    },
    async retry(actor, flowId) {
      await db.tx(async (tx) => {
        const flow = await tx.selectFrom('action_flows').selectAll().where('id', '=', flowId).forUpdate().executeTakeFirst();
        if (!flow) throw new StewardError('flow.not_found', `no ActionFlow has id ${flowId}`);
        if (flow.status !== 'failed') throw new StewardError('flow.not_retryable', `ActionFlow ${flowId} is ${flow.status}; only a failed flow can be retried`);
        const failed = await tx.selectFrom('action_flow_scripts').select(['id', 'position']).where('flow_id', '=', flowId).where('status', '=', 'failed').orderBy('position').executeTakeFirst();
        if (!failed) throw new StewardError('flow.not_retryable', `ActionFlow ${flowId} has no failed script`);
        const at = now();
        await tx.updateTable('action_flow_scripts').set({ status: 'pending', attempts: 0, finished_at: null, next_attempt_at: null }).where('id', '=', failed.id).execute();
        await tx.updateTable('action_flows').set({ status: 'running', updated_at: at, finished_at: null }).where('id', '=', flowId).execute();
        await enqueue(tx, failed.id, flow.application_id);
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'flow.retry', objectType: 'action_flow', objectId: flowId, before: { status: 'failed' }, after: { status: 'running', fromScript: failed.position } }]);
      });
      wake();
      return get(flowId);
    },
    async cancel(actor, flowId) {
      await db.tx(async (tx) => {
        const flow = await tx.selectFrom('action_flows').selectAll().where('id', '=', flowId).forUpdate().executeTakeFirst();
        if (!flow) throw new StewardError('flow.not_found', `no ActionFlow has id ${flowId}`);
        if (['succeeded', 'failed', 'cancelled'].includes(flow.status)) throw new StewardError('flow.finished', `ActionFlow ${flowId} has already ${flow.status === 'cancelled' ? 'been cancelled' : flow.status}`);
        const at = now();
        await tx
          .updateTable('action_flow_scripts')
          .set({ status: 'cancelled', finished_at: at, next_attempt_at: null })
          .where('flow_id', '=', flowId)
          .where('status', 'in', ['pending', 'waiting', 'running'])
          .execute();
        await tx.updateTable('action_flows').set({ status: 'cancelled', updated_at: at, finished_at: at }).where('id', '=', flowId).execute();
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'flow.cancel', objectType: 'action_flow', objectId: flowId, before: { status: flow.status }, after: { status: 'cancelled' } }]);
      });
      return get(flowId);
    },
    get,
    async list(f) {
      let q = db.k.selectFrom('action_flows').selectAll();
      if (f.status) q = q.where('status', '=', f.status);
      if (f.identityId) q = q.where('identity_id', '=', f.identityId);
      if (f.applicationId) q = q.where('application_id', '=', f.applicationId);
      if (f.assignmentId) q = q.where('assignment_id', '=', f.assignmentId);
      if (f.requestId) q = q.where('request_id', '=', f.requestId);
      if (f.after) {
        const [createdAt, id] = f.after;
        q = q.where(sql<boolean>`(created_at, id) > (${createdAt}::timestamptz, ${id}::uuid)`);
      }
      const rows = await q.orderBy('created_at').orderBy('id').limit(f.limit + 1).execute();
      const items = rows.slice(0, f.limit).map(toFlow);
      const last = items.at(-1);
      return { items, next: rows.length > f.limit && last ? [last.createdAt.toISOString(), last.id] : null };
    },
    async work(options = {}) {
      if (!deps.queue) throw new Error('no job queue: flows run only where a queue is configured');
      const timeout = options.expireInSeconds ?? DEFAULT_SCRIPT_TIMEOUT_SECONDS;
      leaseMs = timeout * 1000;
      await deps.queue.declare(FLOW_QUEUE, flowQueueSettings(timeout));
      await deps.queue.work<{ scriptId: string }>(FLOW_QUEUE, { batchSize: options.batchSize ?? 5, concurrency: options.concurrency ?? 4, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1, groupLimit: 4 }, async (job) => {
        try {
          await runScript(job.data.scriptId);
        } catch (e) {
          deps.log?.error({ scriptId: job.data.scriptId, error: e instanceof Error ? e.message : String(e) }, 'action flow job failed; the queue will retry it');
          throw e;
        }
      });
    },
  };
}
