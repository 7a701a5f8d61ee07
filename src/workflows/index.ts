/**
 * Workflows: approvals, ActionFlows and their script runners, put together for one process.
 * `createWorkflows` wires the engine, the chains and the approvals over one database and
 * (optionally) one job queue; `createPlanFlows` turns a ProvisioningPlan into ActionFlows.
 */
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import type { JobQueue } from '../jobs/index.ts';
import { isStewardApplication, toJsonValue, type AccountRequest, type ProvisioningPlan } from '../plan/index.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import { createActionChainService, type ActionChainService, type DefaultChain } from './action-chains.ts';
import { createApprovalService, type ApprovalService } from './approvals.ts';
import { createFlowEngine, type FlowEngine, type RetryPolicy } from './flows.ts';
import type { RunnerDeps, ScriptRunner } from './runners/types.ts';
import type { DecisionSink } from './decisions.ts';
import { createApprovalNotifier, createDecisionSink } from './notify.ts';
import type { ApprovalNotifier } from './approvals.ts';

export { DEFAULT_SCRIPT_TIMEOUT_SECONDS, FLOW_QUEUE, FLOW_STATUSES, SCRIPT_STATUSES, backoffMs, createFlowEngine, flowQueueSettings } from './flows.ts';
export type { ActionFlow, ChainScript, FlowEngine, FlowFilter, FlowScript, FlowStatus, NewFlow, RetryPolicy } from './flows.ts';
export { APPROVAL_NOTIFY_QUEUE, APPROVAL_NOTIFY_SETTINGS, APPROVAL_SWEEP_QUEUE, APPROVAL_SWEEP_SETTINGS, EXPIRY_NOTICE_DAYS, createApprovalService } from './approvals.ts';
export type { AccessRequestView, ApprovalChainView, ApprovalNotifier, ApprovalService, ApprovalTaskView, NewAccessRequest, SweepResult } from './approvals.ts';
export { CHAIN_PURPOSES, checkScripts, createActionChainService } from './action-chains.ts';
export type { ActionChain, ActionChainService, ChainPurpose, ChainTarget, DefaultChain } from './action-chains.ts';
export { APPROVER_KINDS, BUILT_IN_CHAIN, CONDITION_FIELDS, chooseChain, readApprovalChain } from './approval-chains.ts';
export type { ApprovalChainInput, ApprovalStep, ApproverSpec } from './approval-chains.ts';
export { parseScriptType, FIXED_SCRIPT_TYPES, API_OPERATIONS } from './script-types.ts';
export type { ScriptType } from './script-types.ts';
export { checkTemplate, render, TEMPLATE_VARIABLES } from './template.ts';
export type { Decision, DecisionSink } from './decisions.ts';
export type { FlowRun, MailSettings, RunnerContext, RunnerDeps, ScriptOutcome, ScriptRun, ScriptRunner, SlackSettings } from './runners/types.ts';

export interface WorkflowDeps {
  db: Db;
  queue?: JobQueue;
  runners: readonly ScriptRunner[];
  runnerDeps: RunnerDeps;
  defaultChain: DefaultChain;
  retry?: Partial<RetryPolicy>;
  now?: () => Date;
  log?: { warn(fields: object, msg?: string): void; error(fields: object, msg?: string): void };
}

export interface PlanExecution {
  flowIds: string[];
  /** Identity-level requests (application Steward) are not carried out by a flow; they are listed here. */
  skipped: { index: number; reason: string }[];
}

export interface Workflows {
  flows: FlowEngine;
  actionChains: ActionChainService;
  approvals: ApprovalService;
  /** Where decisions by email link or Slack button land. */
  sink: DecisionSink;
  /** Tells approvers and holders (email, Slack); the notify job calls it. */
  notifier: ApprovalNotifier;
  /** What script runners are given (also the Slack and mail settings of the callback routes). */
  runnerDeps: RunnerDeps;
  /** Starts this process's workers: flows, approval notices and the sweep. */
  work(options?: { concurrency?: number; scriptTimeoutSeconds?: number }): Promise<void>;
  /** Turns each AccountRequest of an already validated plan into an ActionFlow, in `tx`. */
  createPlanFlows: (tx: Executor, plan: ProvisioningPlan, createdBy: string) => Promise<PlanExecution>;
  /** `createPlanFlows` in its own transaction, then wakes the workers. */
  executePlan(actor: Actor, plan: ProvisioningPlan): Promise<PlanExecution>;
}

/** The connector operation that carries out an AccountRequest as a whole. */
const OPERATION_OF: Record<AccountRequest['op'], string> = {
  Create: 'create_user',
  Modify: 'set_attributes',
  Delete: 'delete_user',
  Disable: 'disable_user',
  Enable: 'enable_user',
  Unlock: 'unlock_user',
};

export function createWorkflows(deps: WorkflowDeps): Workflows {
  const flows = createFlowEngine({
    db: deps.db,
    runners: deps.runners,
    runnerDeps: deps.runnerDeps,
    ...(deps.queue ? { queue: deps.queue } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
  const actionChains = createActionChainService({ db: deps.db, runners: deps.runners, defaultChain: deps.defaultChain });
  const approvals = createApprovalService({ db: deps.db, flows, actionChains, ...(deps.queue ? { queue: deps.queue } : {}), ...(deps.now ? { now: deps.now } : {}) });

  async function createPlanFlows(tx: Executor, plan: ProvisioningPlan, createdBy: string): Promise<PlanExecution> {
    const out: PlanExecution = { flowIds: [], skipped: [] };
    let identityId: string | null = null;
    if (plan.identity) {
      const who = await tx
        .selectFrom('identities')
        .select('id')
        .where((eb) => eb.or([eb('user_name', '=', plan.identity!), ...(/^[0-9a-f-]{36}$/i.test(plan.identity!) ? [eb('id', '=', plan.identity!)] : [])]))
        .executeTakeFirst();
      if (!who) throw new StewardError('identity.not_found', `identity: no identity has id or userName '${plan.identity}'`);
      identityId = who.id;
    }
    const names = [...new Set(plan.accountRequests.filter((r) => !isStewardApplication(r.application)).map((r) => r.application))];
    const apps = names.length ? await tx.selectFrom('applications').select(['id', 'name', 'connector_kind']).where('name', 'in', names).execute() : [];
    const json = toJsonValue(plan);
    for (const [index, request] of plan.accountRequests.entries()) {
      if (isStewardApplication(request.application)) {
        out.skipped.push({ index, reason: `accountRequests[${index}] targets ${request.application} itself; identity-level requests change assignments, not an application` });
        continue;
      }
      const app = apps.find((a) => a.name === request.application);
      if (!app) throw new StewardError('application.not_found', `accountRequests[${index}].application: no application is named '${request.application}'`);
      const flowId = await flows.create(tx, {
        purpose: 'plan',
        applicationId: app.id,
        identityId,
        scripts: [{ type: `${app.connector_kind}_api_${OPERATION_OF[request.op]}`, metadata: {} }],
        context: { accountRequest: json.accountRequests[index], ...(plan.trackingId ? { trackingId: plan.trackingId } : {}) },
        createdBy,
      });
      out.flowIds.push(flowId);
    }
    await appendAudit(tx, [{ actor: createdBy, action: 'plan.execute', objectType: 'plan', objectId: null, before: null, after: { identity: plan.identity ?? null, flows: out.flowIds, skipped: out.skipped.length } }]);
    // The lifecycle and reconciliation commit `tx` themselves: the workers are woken once it ends.
    if (out.flowIds.length > 0) flows.wakeAfter(tx);
    return out;
  }

  const notifier = createApprovalNotifier({ db: deps.db, runnerDeps: deps.runnerDeps });
  return {
    flows,
    actionChains,
    approvals,
    sink: createDecisionSink(approvals, flows),
    notifier,
    runnerDeps: deps.runnerDeps,
    async work(options = {}) {
      await flows.work({ concurrency: options.concurrency ?? 4, ...(options.scriptTimeoutSeconds ? { expireInSeconds: options.scriptTimeoutSeconds } : {}) });
      await approvals.work(notifier);
    },
    createPlanFlows,
    async executePlan(actor, plan) {
      const out = await deps.db.tx((tx) => createPlanFlows(tx, plan, actorLabel(actor)));
      flows.wake();
      return out;
    },
  };
}
