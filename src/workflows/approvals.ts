/**
 * Access requests and their ApprovalFlows (seed 000). A request names a beneficiary and an
 * approvable relationship (an application, for an account, or an entitlement); the chain
 * its conditions choose runs as one ApprovalFlow, step by step, with one task per approver.
 * Approving the last step creates the assignment and its provisioning ActionFlow in the
 * same transaction. Nobody approves their own request: the requester and the beneficiary
 * are never an approver, an escalation target or a fallback.
 *
 * Time (deadlines, reminders, escalation, expiry of time-bound access) moves in `sweep`,
 * which the queue runs every minute and tests call with a controllable clock.
 */
import { sql } from 'kysely';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import { grants } from '../domain/privileges.ts';
import type { JobQueue, QueueSettings } from '../jobs/index.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import type { ActionChainService } from './action-chains.ts';
import { chooseChain, readApprovalChain, type ApprovalChainInput, type ApprovalStep, type ApproverSpec, type StoredChain } from './approval-chains.ts';
import type { FlowEngine } from './flows.ts';

export const APPROVAL_NOTIFY_QUEUE = 'approval.notify';
export const APPROVAL_SWEEP_QUEUE = 'approval.sweep';
/** The approval queues' settings, wherever they are declared. */
export const APPROVAL_NOTIFY_SETTINGS: QueueSettings = { expireInSeconds: 120 };
export const APPROVAL_SWEEP_SETTINGS: QueueSettings = { expireInSeconds: 600, retryLimit: 1 };

/** Days before time-bound access ends that its holder and the owner are told. */
export const EXPIRY_NOTICE_DAYS = 7;

export interface ApprovalChainView extends ApprovalChainInput {
  id: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ApprovalTaskView {
  id: string;
  requestId: string;
  step: number;
  stepName: string;
  approverId: string;
  status: string;
  comment: string | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  dueAt: Date | null;
  escalatedFrom: string | null;
  createdAt: Date;
}

export interface AccessRequestView {
  id: string;
  status: string;
  requesterId: string | null;
  requestedBy: string;
  beneficiaryId: string;
  applicationId: string;
  entitlementId: string | null;
  justification: string;
  endDate: Date | null;
  assignmentId: string | null;
  createdAt: Date;
  decidedAt: Date | null;
  approval: { chainId: string | null; chainName: string; status: string; currentStep: number; steps: number; waitingOn: string[]; tasks: ApprovalTaskView[] } | null;
}

export interface NewAccessRequest {
  beneficiaryId: string;
  applicationId: string;
  entitlementId?: string | null;
  justification: string;
  endDate?: Date | null;
  /** Only for clients that act for no identity (a portal): who is asking. */
  requesterId?: string;
}

export interface SweepResult {
  reminded: number;
  escalated: number;
  expired: number;
  expiryNotices: number;
}

/** How approvers and holders are told (email, Slack); the queue job calls it outside any transaction. */
export interface ApprovalNotifier {
  notify(event: { kind: 'approval_requested' | 'approval_reminder'; taskId: string } | { kind: 'access_expiring'; assignmentId: string }): Promise<void>;
}

export interface ApprovalServiceDeps {
  db: Db;
  flows: FlowEngine;
  actionChains: ActionChainService;
  queue?: JobQueue;
  now?: () => Date;
}

export interface ApprovalService {
  createChain(actor: Actor, body: Record<string, unknown>): Promise<ApprovalChainView>;
  updateChain(actor: Actor, id: string, body: Record<string, unknown>): Promise<ApprovalChainView>;
  getChain(id: string): Promise<ApprovalChainView>;
  listChains(f: { applicationId?: string; entitlementId?: string }): Promise<ApprovalChainView[]>;
  deleteChain(actor: Actor, id: string): Promise<void>;
  request(actor: Actor, input: NewAccessRequest): Promise<AccessRequestView>;
  getRequest(id: string): Promise<AccessRequestView>;
  listRequests(f: { beneficiaryId?: string; requesterId?: string; status?: string; after?: [string, string]; limit: number }): Promise<{ items: AccessRequestView[]; next: [string, string] | null }>;
  cancel(actor: Actor, id: string): Promise<AccessRequestView>;
  /** The tasks waiting on an approver. */
  waitingOn(approverId: string, f: { after?: [string, string]; limit: number }): Promise<{ items: (ApprovalTaskView & { request: AccessRequestView })[]; next: [string, string] | null }>;
  decide(actor: Actor, taskId: string, decision: { decision: 'approve' | 'deny'; comment?: string | null }, via?: string): Promise<AccessRequestView>;
  /** Takes back the caller's decision while the flow is open. */
  withdraw(actor: Actor, taskId: string): Promise<AccessRequestView>;
  /** Reminders, escalations, expiry of time-bound access; `now` from the clock. */
  sweep(): Promise<SweepResult>;
  /** Starts the notify and sweep workers, and schedules the sweep every minute. */
  work(notifier: ApprovalNotifier): Promise<void>;
}

type ChainRow = {
  id: string;
  name: string;
  application_id: string;
  entitlement_id: string | null;
  condition: unknown;
  priority: number;
  is_default: boolean;
  steps: unknown;
  expires_after_days: number | null;
  audit_after_days: number | null;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const toChainView = (r: ChainRow): ApprovalChainView => ({
  id: r.id,
  name: r.name,
  applicationId: r.application_id,
  entitlementId: r.entitlement_id,
  condition: (r.condition as ApprovalChainInput['condition']) ?? null,
  priority: r.priority,
  isDefault: r.is_default,
  steps: r.steps as ApprovalStep[],
  expiresAfterDays: r.expires_after_days,
  auditAfterDays: r.audit_after_days,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * Marks the transaction's assignment changes as carried out by the workflows themselves (an
 * approval's provisioning flow, an expiry's de-provisioning flow), so the lifecycle does not
 * also turn them into plans of its own.
 */
export const ownFlowsFollow = (tx: Executor) => sql`select set_config('steward.lifecycle', 'on', true)`.execute(tx);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const invalid = (code: 'approval_chain.invalid' | 'access_request.invalid', problems: { field?: string; message: string; code: string }[]) =>
  new StewardError(code, problems.map((p) => `${p.field ? `${p.field}: ` : ''}${p.message}`).join('; '), { problems });

export function createApprovalService(deps: ApprovalServiceDeps): ApprovalService {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  async function checkChainRefs(ex: Executor, c: ApprovalChainInput): Promise<void> {
    const app = await ex.selectFrom('applications').select('id').where('id', '=', c.applicationId).executeTakeFirst();
    if (!app) throw new StewardError('application.not_found', `applicationId: no application has id ${c.applicationId}`);
    if (c.entitlementId) {
      const e = await ex.selectFrom('entitlements').select(['application_id']).where('id', '=', c.entitlementId).executeTakeFirst();
      if (!e || e.application_id !== c.applicationId) throw new StewardError('entitlement.not_found', `entitlementId: application ${c.applicationId} has no entitlement ${c.entitlementId}`);
    }
    const identityIds = new Set<string>();
    const groupIds = new Set<string>();
    for (const s of c.steps) for (const a of [...s.approvers, ...s.escalateTo]) {
      if (a.type === 'identity') identityIds.add(a.identityId);
      if (a.type === 'group') groupIds.add(a.groupId);
    }
    if (identityIds.size) {
      const found = new Set((await ex.selectFrom('identities').select('id').where('id', 'in', [...identityIds]).execute()).map((r) => r.id));
      const missing = [...identityIds].filter((i) => !found.has(i));
      if (missing.length) throw invalid('approval_chain.invalid', missing.map((m) => ({ code: 'approval_chain.invalid', field: 'steps', message: `approver identity ${m} does not exist` })));
    }
    if (groupIds.size) {
      const found = new Set((await ex.selectFrom('groups').select('id').where('id', 'in', [...groupIds]).execute()).map((r) => r.id));
      const missing = [...groupIds].filter((i) => !found.has(i));
      if (missing.length) throw invalid('approval_chain.invalid', missing.map((m) => ({ code: 'approval_chain.invalid', field: 'steps', message: `approver group ${m} does not exist` })));
    }
  }

  const chainValues = (c: ApprovalChainInput) => ({
    name: c.name,
    application_id: c.applicationId,
    entitlement_id: c.entitlementId,
    condition: c.condition ? JSON.stringify(c.condition) : null,
    priority: c.priority,
    is_default: c.isDefault,
    steps: JSON.stringify(c.steps),
    expires_after_days: c.expiresAfterDays,
    audit_after_days: c.auditAfterDays,
  });

  const duplicateDefault = (e: unknown): unknown =>
    (e as { code?: string; constraint?: string }).code === '23505' ? new StewardError('approval_chain.invalid', 'default: this application or entitlement already has a default ApprovalChain', { problems: [{ code: 'approval_chain.invalid', field: 'default', message: 'another chain of this relationship is the default' }] }) : e;

  /** Identities a list of approver specs names, for one request. */
  async function resolveApprovers(ex: Executor, specs: readonly ApproverSpec[], r: { beneficiaryId: string; applicationId: string; entitlementId: string | null }, lateApproverId?: string): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of specs) {
      switch (spec.type) {
        case 'manager': {
          const b = await ex.selectFrom('identities').select('manager_id').where('id', '=', r.beneficiaryId).executeTakeFirst();
          if (b?.manager_id) ids.push(b.manager_id);
          break;
        }
        case 'approverManager': {
          if (!lateApproverId) break;
          const a = await ex.selectFrom('identities').select('manager_id').where('id', '=', lateApproverId).executeTakeFirst();
          if (a?.manager_id) ids.push(a.manager_id);
          break;
        }
        case 'applicationOwner': {
          const a = await ex.selectFrom('applications').select('owner_id').where('id', '=', r.applicationId).executeTakeFirst();
          if (a?.owner_id) ids.push(a.owner_id);
          break;
        }
        case 'entitlementOwner': {
          if (!r.entitlementId) break;
          const e = await ex.selectFrom('entitlements').select('owner_id').where('id', '=', r.entitlementId).executeTakeFirst();
          if (e?.owner_id) ids.push(e.owner_id);
          break;
        }
        case 'identity':
          ids.push(spec.identityId);
          break;
        case 'group': {
          const members = await ex.selectFrom('group_members').select('identity_id').where('group_id', '=', spec.groupId).orderBy('identity_id').limit(500).execute();
          ids.push(...members.map((m) => m.identity_id));
          break;
        }
      }
    }
    return [...new Set(ids)];
  }

  interface FlowCtx {
    flowId: string;
    requestId: string;
    requesterId: string | null;
    beneficiaryId: string;
    applicationId: string;
    entitlementId: string | null;
    steps: ApprovalStep[];
  }

  /** Escalation targets are a fallback list: the first entry that names somebody eligible wins. */
  async function escalationTargets(ex: Executor, specs: readonly ApproverSpec[], c: FlowCtx, out: Set<string>, lateApproverId?: string): Promise<string[]> {
    for (const spec of specs) {
      const ids = (await resolveApprovers(ex, [spec], c, lateApproverId)).filter((id) => !out.has(id));
      if (ids.length > 0) return ids;
    }
    return [];
  }

  const excluded = (c: FlowCtx) => new Set([c.beneficiaryId, ...(c.requesterId ? [c.requesterId] : [])]);

  async function notifyLater(tx: Executor, taskIds: string[], kind: 'approval_requested' | 'approval_reminder', channels: readonly string[]): Promise<void> {
    if (!deps.queue || taskIds.length === 0 || channels.length === 0) return;
    await deps.queue.sendMany(APPROVAL_NOTIFY_QUEUE, taskIds.map((taskId) => ({ data: { kind, taskId } })), tx);
  }

  /** Opens a step: one task per approver, or the escalation targets when it has none. */
  async function openStep(tx: Executor, c: FlowCtx, step: number): Promise<void> {
    const s = c.steps[step]!;
    const out = excluded(c);
    let approvers = (await resolveApprovers(tx, s.approvers, c)).filter((id) => !out.has(id));
    if (approvers.length === 0) approvers = await escalationTargets(tx, s.escalateTo, c, out);
    if (approvers.length === 0) {
      throw new StewardError('access_request.no_approver', `step ${step + 1} (${s.name || 'unnamed'}) of the ApprovalChain has no approver other than the requester and the beneficiary, and no escalation target; give the beneficiary a manager or the application an owner`);
    }
    const at = now();
    const rows = await tx
      .insertInto('approval_tasks')
      .values(
        approvers.map((approver_id) => ({
          flow_id: c.flowId,
          step,
          approver_id,
          due_at: new Date(at.getTime() + s.deadlineHours * HOUR),
          remind_at: s.remindEveryHours > 0 && s.remindEveryHours < s.deadlineHours ? new Date(at.getTime() + s.remindEveryHours * HOUR) : null,
        })),
      )
      .returning('id')
      .execute();
    await tx.updateTable('approval_flows').set({ current_step: step }).where('id', '=', c.flowId).execute();
    await notifyLater(tx, rows.map((r) => r.id), 'approval_requested', s.notify);
  }

  /** The last step approved: the assignment and its provisioning flow, or an extension of the live one. */
  async function complete(tx: Executor, c: FlowCtx, chain: { expiresAfterDays: number | null; auditAfterDays: number | null }, endDate: Date | null, by: string): Promise<string | null> {
    const at = now();
    await ownFlowsFollow(tx);
    const ends = [endDate, chain.expiresAfterDays ? new Date(at.getTime() + chain.expiresAfterDays * DAY) : null].filter((d): d is Date => d !== null);
    const validUntil = ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null;
    const reviewAt = chain.auditAfterDays ? new Date(at.getTime() + chain.auditAfterDays * DAY) : null;
    const live = await tx
      .selectFrom('assignments')
      .selectAll()
      .where('identity_id', '=', c.beneficiaryId)
      .where('application_id', '=', c.applicationId)
      .where((eb) => (c.entitlementId ? eb('entitlement_id', '=', c.entitlementId) : eb('entitlement_id', 'is', null)))
      .where('source', '=', 'request')
      .where('status', 'in', ['pending', 'active'])
      .forUpdate()
      .executeTakeFirst();
    let assignmentId: string;
    let flowId: string | null = null;
    if (live) {
      // An extension: the access stays, its end (and review) move.
      await tx.updateTable('assignments').set({ valid_until: validUntil, review_at: reviewAt, expiry_notified_at: null, updated_at: at }).where('id', '=', live.id).execute();
      assignmentId = live.id;
      await appendAudit(tx, [{ actor: by, action: 'assignment.extend', objectType: 'assignment', objectId: live.id, before: { validUntil: live.valid_until }, after: { validUntil, requestId: c.requestId } }]);
    } else {
      const a = await tx
        .insertInto('assignments')
        .values({ identity_id: c.beneficiaryId, application_id: c.applicationId, entitlement_id: c.entitlementId, source: 'request', status: 'pending', valid_from: null, valid_until: validUntil, review_at: reviewAt })
        .returning('id')
        .executeTakeFirstOrThrow();
      assignmentId = a.id;
      const { chainId, scripts } = await deps.actionChains.resolve(tx, c.applicationId, c.entitlementId, 'provisioning');
      flowId = await deps.flows.create(tx, { purpose: 'provisioning', applicationId: c.applicationId, entitlementId: c.entitlementId, identityId: c.beneficiaryId, assignmentId, requestId: c.requestId, chainId, scripts, createdBy: by });
      await appendAudit(tx, [{ actor: by, action: 'assignment.create', objectType: 'assignment', objectId: assignmentId, before: null, after: { requestId: c.requestId, validUntil, reviewAt, flowId } }]);
    }
    await tx.updateTable('access_requests').set({ status: 'approved', decided_at: at, updated_at: at, assignment_id: assignmentId }).where('id', '=', c.requestId).execute();
    await tx.updateTable('approval_flows').set({ status: 'approved', closed_at: at }).where('id', '=', c.flowId).execute();
    return flowId;
  }

  async function flowCtx(ex: Executor, flowId: string): Promise<{ ctx: FlowCtx; flow: { status: string; current_step: number; chain: StoredChain }; request: { status: string; end_date: Date | null } }> {
    const f = await ex.selectFrom('approval_flows').selectAll().where('id', '=', flowId).forUpdate().executeTakeFirstOrThrow();
    const r = await ex.selectFrom('access_requests').selectAll().where('id', '=', f.request_id).forUpdate().executeTakeFirstOrThrow();
    const chain = f.chain as StoredChain;
    return {
      ctx: { flowId, requestId: r.id, requesterId: r.requester_id, beneficiaryId: r.beneficiary_id, applicationId: r.application_id, entitlementId: r.entitlement_id, steps: chain.steps },
      flow: { status: f.status, current_step: f.current_step, chain },
      request: { status: r.status, end_date: r.end_date },
    };
  }

  async function viewRequests(ex: Executor, ids: readonly string[]): Promise<AccessRequestView[]> {
    if (ids.length === 0) return [];
    const [requests, flows, tasks] = await Promise.all([
      ex.selectFrom('access_requests').selectAll().where('id', 'in', [...ids]).execute(),
      ex.selectFrom('approval_flows').selectAll().where('request_id', 'in', [...ids]).execute(),
      ex
        .selectFrom('approval_tasks as t')
        .innerJoin('approval_flows as f', 'f.id', 't.flow_id')
        .selectAll('t')
        .select('f.request_id')
        .where('f.request_id', 'in', [...ids])
        .orderBy('t.step')
        .orderBy('t.created_at')
        .execute(),
    ]);
    const byId = new Map(requests.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      if (!r) return [];
      const f = flows.find((x) => x.request_id === id);
      const chain = f?.chain as StoredChain | undefined;
      const mine = tasks.filter((t) => t.request_id === id);
      const view = (t: (typeof mine)[number]): ApprovalTaskView => ({
        id: t.id,
        requestId: id,
        step: t.step,
        stepName: chain?.steps[t.step]?.name ?? '',
        approverId: t.approver_id,
        status: t.status,
        comment: t.comment,
        decidedBy: t.decided_by,
        decidedAt: t.decided_at,
        dueAt: t.due_at,
        escalatedFrom: t.escalated_from,
        createdAt: t.created_at,
      });
      return [
        {
          id: r.id,
          status: r.status,
          requesterId: r.requester_id,
          requestedBy: r.requested_by,
          beneficiaryId: r.beneficiary_id,
          applicationId: r.application_id,
          entitlementId: r.entitlement_id,
          justification: r.justification,
          endDate: r.end_date,
          assignmentId: r.assignment_id,
          createdAt: r.created_at,
          decidedAt: r.decided_at,
          approval: f
            ? {
                chainId: f.chain_id,
                chainName: chain?.name ?? '',
                status: f.status,
                currentStep: f.current_step,
                steps: chain?.steps.length ?? 0,
                waitingOn: f.status === 'open' ? mine.filter((t) => t.status === 'pending').map((t) => t.approver_id) : [],
                tasks: mine.map(view),
              }
            : null,
        },
      ];
    });
  }

  const viewRequest = async (ex: Executor, id: string): Promise<AccessRequestView> => {
    const [v] = await viewRequests(ex, [id]);
    if (!v) throw new StewardError('access_request.not_found', `no access request has id ${id}`);
    return v;
  };

  /** Decides whether a step is done after a decision; moves the flow on. Returns the new provisioning flow id, if any. */
  async function evaluate(tx: Executor, flowId: string, step: number, by: string): Promise<string | null> {
    const { ctx, flow, request } = await flowCtx(tx, flowId);
    if (flow.status !== 'open' || step !== flow.current_step) return null;
    const s = ctx.steps[step]!;
    const tasks = await tx.selectFrom('approval_tasks').select(['id', 'status']).where('flow_id', '=', flowId).where('step', '=', step).execute();
    const live = tasks.filter((t) => ['pending', 'approved', 'denied'].includes(t.status));
    const denied = live.some((t) => t.status === 'denied');
    const approved = live.filter((t) => t.status === 'approved').length;
    const pending = live.filter((t) => t.status === 'pending').length;
    const at = now();
    const closeRest = () =>
      tx.updateTable('approval_tasks').set({ status: 'superseded', decided_at: at }).where('flow_id', '=', flowId).where('status', '=', 'pending').execute();
    if (denied) {
      await closeRest();
      await tx.updateTable('approval_flows').set({ status: 'denied', closed_at: at }).where('id', '=', flowId).execute();
      await tx.updateTable('access_requests').set({ status: 'denied', decided_at: at, updated_at: at }).where('id', '=', ctx.requestId).execute();
      await appendAudit(tx, [{ actor: by, action: 'access_request.deny', objectType: 'access_request', objectId: ctx.requestId, before: { status: 'pending' }, after: { status: 'denied', step } }]);
      return null;
    }
    const stepDone = s.rule === 'any' ? approved > 0 : pending === 0 && approved > 0;
    if (!stepDone) return null;
    if (s.rule === 'any') await closeRest();
    if (step + 1 < ctx.steps.length) {
      await openStep(tx, ctx, step + 1);
      return null;
    }
    const flowIdMade = await complete(tx, ctx, flow.chain, request.end_date, by);
    await appendAudit(tx, [{ actor: by, action: 'access_request.approve', objectType: 'access_request', objectId: ctx.requestId, before: { status: 'pending' }, after: { status: 'approved' } }]);
    return flowIdMade;
  }

  const pageKey = (createdAt: Date, id: string): [string, string] => [createdAt.toISOString(), id];

  const service: ApprovalService = {
    async createChain(actor, body) {
      const read = readApprovalChain(body);
      if (!read.ok) throw invalid('approval_chain.invalid', read.errors);
      return db.tx(async (tx) => {
        await checkChainRefs(tx, read.value);
        const row = await tx.insertInto('approval_chains').values(chainValues(read.value)).returningAll().executeTakeFirstOrThrow().catch((e: unknown) => { throw duplicateDefault(e); });
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'approval_chain.create', objectType: 'approval_chain', objectId: row.id, before: null, after: toChainView(row) }]);
        return toChainView(row);
      });
    },
    async updateChain(actor, id, body) {
      const read = readApprovalChain(body);
      if (!read.ok) throw invalid('approval_chain.invalid', read.errors);
      return db.tx(async (tx) => {
        const before = await tx.selectFrom('approval_chains').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
        if (!before) throw new StewardError('approval_chain.not_found', `no ApprovalChain has id ${id}`);
        await checkChainRefs(tx, read.value);
        const row = await tx
          .updateTable('approval_chains')
          .set({ ...chainValues(read.value), version: before.version + 1, updated_at: now() })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((e: unknown) => { throw duplicateDefault(e); });
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'approval_chain.update', objectType: 'approval_chain', objectId: id, before: toChainView(before), after: toChainView(row) }]);
        return toChainView(row);
      });
    },
    async getChain(id) {
      const r = await db.k.selectFrom('approval_chains').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw new StewardError('approval_chain.not_found', `no ApprovalChain has id ${id}`);
      return toChainView(r);
    },
    async listChains(f) {
      let q = db.k.selectFrom('approval_chains').selectAll();
      if (f.applicationId) q = q.where('application_id', '=', f.applicationId);
      if (f.entitlementId) q = q.where('entitlement_id', '=', f.entitlementId);
      return (await q.orderBy('application_id').orderBy('priority').orderBy('id').limit(1000).execute()).map(toChainView);
    },
    async deleteChain(actor, id) {
      await db.tx(async (tx) => {
        const r = await tx.deleteFrom('approval_chains').where('id', '=', id).returningAll().executeTakeFirst();
        if (!r) throw new StewardError('approval_chain.not_found', `no ApprovalChain has id ${id}`);
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'approval_chain.delete', objectType: 'approval_chain', objectId: id, before: toChainView(r), after: null }]);
      });
    },

    async request(actor, input) {
      const requesterId = actor.identityId ?? input.requesterId ?? null;
      if (actor.identityId && input.requesterId && input.requesterId !== actor.identityId) {
        throw invalid('access_request.invalid', [{ code: 'access_request.invalid', field: 'requesterId', message: 'a client that acts for an identity requests as that identity; leave requesterId out' }]);
      }
      if (!requesterId) throw new StewardError('access_request.requester_unknown', 'requesterId: this API client acts for no identity, so name the identity that asks');
      const at = now();
      if (input.endDate && input.endDate.getTime() <= at.getTime()) {
        throw invalid('access_request.invalid', [{ code: 'access_request.invalid', field: 'endDate', message: 'must be in the future' }]);
      }
      const by = actorLabel(actor);
      const { requestId, flowId } = await db.tx(async (tx) => {
        const [beneficiary, requester, app] = await Promise.all([
          tx.selectFrom('identities').select(['id', 'kind', 'department', 'title', 'status']).where('id', '=', input.beneficiaryId).executeTakeFirst(),
          tx.selectFrom('identities').select('id').where('id', '=', requesterId).executeTakeFirst(),
          tx.selectFrom('applications').select(['id']).where('id', '=', input.applicationId).executeTakeFirst(),
        ]);
        if (!beneficiary) throw new StewardError('identity.not_found', `beneficiaryId: no identity has id ${input.beneficiaryId}`);
        if (!requester) throw new StewardError('identity.not_found', `requesterId: no identity has id ${requesterId}`);
        if (!app) throw new StewardError('application.not_found', `applicationId: no application has id ${input.applicationId}`);
        let entitlement: { kind: string; risk: string | null } | null = null;
        const entitlementId = input.entitlementId ?? null;
        if (entitlementId) {
          const e = await tx.selectFrom('entitlements').select(['application_id', 'kind', 'requestable', 'attributes']).where('id', '=', entitlementId).executeTakeFirst();
          if (!e || e.application_id !== input.applicationId) throw new StewardError('entitlement.not_found', `entitlementId: application ${input.applicationId} has no entitlement ${entitlementId}`);
          if (!e.requestable) throw new StewardError('entitlement.not_requestable', `entitlementId: entitlement ${entitlementId} is not requestable`);
          const risk = (e.attributes).risk;
          entitlement = { kind: e.kind, risk: typeof risk === 'string' ? risk : null };
        }
        const pending = await tx
          .selectFrom('access_requests')
          .select('id')
          .where('beneficiary_id', '=', input.beneficiaryId)
          .where('application_id', '=', input.applicationId)
          .where((eb) => (entitlementId ? eb('entitlement_id', '=', entitlementId) : eb('entitlement_id', 'is', null)))
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (pending) throw new StewardError('access_request.duplicate', `the beneficiary already has pending request ${pending.id} for this access`);
        const chains = (await tx.selectFrom('approval_chains').selectAll().where('application_id', '=', input.applicationId).execute()).map((r) => ({ ...toChainView(r) }));
        const chain = chooseChain(chains, { beneficiary: { kind: beneficiary.kind, department: beneficiary.department, title: beneficiary.title }, entitlement, requesterIsBeneficiary: requesterId === input.beneficiaryId }, { applicationId: input.applicationId, entitlementId });
        const request = await tx
          .insertInto('access_requests')
          .values({ requester_id: requesterId, requested_by: by, beneficiary_id: input.beneficiaryId, application_id: input.applicationId, entitlement_id: entitlementId, justification: input.justification, end_date: input.endDate ?? null })
          .returning('id')
          .executeTakeFirstOrThrow();
        const snapshot: StoredChain = { id: chain.id, name: chain.name, applicationId: chain.applicationId, entitlementId: chain.entitlementId, condition: chain.condition, priority: chain.priority, isDefault: chain.isDefault, steps: chain.steps, expiresAfterDays: chain.expiresAfterDays, auditAfterDays: chain.auditAfterDays };
        const flow = await tx.insertInto('approval_flows').values({ request_id: request.id, chain_id: chain.id, chain: JSON.stringify(snapshot) }).returning('id').executeTakeFirstOrThrow();
        await appendAudit(tx, [{ actor: by, action: 'access_request.create', objectType: 'access_request', objectId: request.id, before: null, after: { beneficiaryId: input.beneficiaryId, applicationId: input.applicationId, entitlementId, chain: chain.name, justification: input.justification } }]);
        const ctx: FlowCtx = { flowId: flow.id, requestId: request.id, requesterId, beneficiaryId: input.beneficiaryId, applicationId: input.applicationId, entitlementId, steps: chain.steps };
        let made: string | null = null;
        if (chain.steps.length === 0) {
          made = await complete(tx, ctx, chain, input.endDate ?? null, 'system');
          await appendAudit(tx, [{ actor: 'system', action: 'access_request.approve', objectType: 'access_request', objectId: request.id, before: { status: 'pending' }, after: { status: 'approved', reason: 'the chain has no steps' } }]);
        } else await openStep(tx, ctx, 0);
        return { requestId: request.id, flowId: made };
      });
      if (flowId) deps.flows.wake();
      deps.queue?.wake(APPROVAL_NOTIFY_QUEUE);
      return viewRequest(db.k, requestId);
    },
    getRequest: (id) => viewRequest(db.k, id),
    async listRequests(f) {
      let q = db.k.selectFrom('access_requests').select(['id', 'created_at']);
      if (f.beneficiaryId) q = q.where('beneficiary_id', '=', f.beneficiaryId);
      if (f.requesterId) q = q.where('requester_id', '=', f.requesterId);
      if (f.status) q = q.where('status', '=', f.status);
      if (f.after) q = q.where(sql<boolean>`(created_at, id) > (${f.after[0]}::timestamptz, ${f.after[1]}::uuid)`);
      const rows = await q.orderBy('created_at').orderBy('id').limit(f.limit + 1).execute();
      const page = rows.slice(0, f.limit);
      const last = page.at(-1);
      return { items: await viewRequests(db.k, page.map((r) => r.id)), next: rows.length > f.limit && last ? pageKey(last.created_at, last.id) : null };
    },
    async cancel(actor, id) {
      await db.tx(async (tx) => {
        const r = await tx.selectFrom('access_requests').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
        if (!r) throw new StewardError('access_request.not_found', `no access request has id ${id}`);
        const mayCancel = grants(actor.privileges, 'admin') || grants(actor.privileges, 'manage-requests') || (actor.identityId && (actor.identityId === r.requester_id || actor.identityId === r.beneficiary_id));
        if (!mayCancel) throw new StewardError('auth.forbidden', 'only the requester, the beneficiary or a client with manage-requests may cancel a request');
        if (r.status !== 'pending') throw new StewardError('access_request.not_pending', `request ${id} is ${r.status}`);
        const at = now();
        await tx.updateTable('access_requests').set({ status: 'cancelled', decided_at: at, updated_at: at }).where('id', '=', id).execute();
        const flow = await tx.updateTable('approval_flows').set({ status: 'cancelled', closed_at: at }).where('request_id', '=', id).returning('id').executeTakeFirst();
        if (flow) await tx.updateTable('approval_tasks').set({ status: 'cancelled', decided_at: at }).where('flow_id', '=', flow.id).where('status', '=', 'pending').execute();
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'access_request.cancel', objectType: 'access_request', objectId: id, before: { status: 'pending' }, after: { status: 'cancelled' } }]);
      });
      return viewRequest(db.k, id);
    },
    async waitingOn(approverId, f) {
      let q = db.k
        .selectFrom('approval_tasks as t')
        .innerJoin('approval_flows as f', 'f.id', 't.flow_id')
        .selectAll('t')
        .select('f.request_id')
        .where('t.approver_id', '=', approverId)
        .where('t.status', '=', 'pending')
        .where('f.status', '=', 'open');
      if (f.after) q = q.where(sql<boolean>`(t.created_at, t.id) > (${f.after[0]}::timestamptz, ${f.after[1]}::uuid)`);
      const rows = await q.orderBy('t.created_at').orderBy('t.id').limit(f.limit + 1).execute();
      const page = rows.slice(0, f.limit);
      const requests = new Map((await viewRequests(db.k, [...new Set(page.map((r) => r.request_id))])).map((r) => [r.id, r]));
      const items = page.map((t) => {
        const request = requests.get(t.request_id)!;
        const task = request.approval!.tasks.find((x) => x.id === t.id)!;
        return { ...task, request };
      });
      const last = page.at(-1);
      return { items, next: rows.length > f.limit && last ? pageKey(last.created_at, last.id) : null };
    },
    async decide(actor, taskId, d, via) {
      const by = via ?? actorLabel(actor);
      const { requestId, flowId } = await db.tx(async (tx) => {
        const task = await tx.selectFrom('approval_tasks').selectAll().where('id', '=', taskId).forUpdate().executeTakeFirst();
        if (!task) throw new StewardError('approval.not_found', `no approval task has id ${taskId}`);
        const { ctx, flow } = await flowCtx(tx, task.flow_id);
        const admin = grants(actor.privileges, 'admin');
        if (actor.identityId && (actor.identityId === ctx.requesterId || actor.identityId === ctx.beneficiaryId)) {
          throw new StewardError('approval.not_yours', 'nobody approves their own request, nor one for themselves');
        }
        if (actor.identityId !== task.approver_id && !admin && actor.kind === 'client') {
          throw new StewardError('approval.not_yours', `this task waits on identity ${task.approver_id}`);
        }
        if (flow.status !== 'open') throw new StewardError('approval.flow_closed', `the approval of request ${ctx.requestId} has ended (${flow.status})`);
        if (task.status !== 'pending') throw new StewardError('approval.already_decided', `this task is ${task.status}`);
        const at = now();
        const status = d.decision === 'approve' ? 'approved' : 'denied';
        await tx.updateTable('approval_tasks').set({ status, comment: d.comment ?? null, decided_by: by, decided_at: at }).where('id', '=', taskId).execute();
        await appendAudit(tx, [{ actor: by, action: `approval.${d.decision}`, objectType: 'approval_task', objectId: taskId, before: { status: 'pending' }, after: { status, comment: d.comment ?? null, requestId: ctx.requestId, step: task.step, approverId: task.approver_id } }]);
        return { requestId: ctx.requestId, flowId: await evaluate(tx, task.flow_id, task.step, by) };
      });
      if (flowId) deps.flows.wake();
      deps.queue?.wake(APPROVAL_NOTIFY_QUEUE);
      return viewRequest(db.k, requestId);
    },
    async withdraw(actor, taskId) {
      const requestId = await db.tx(async (tx) => {
        const task = await tx.selectFrom('approval_tasks').selectAll().where('id', '=', taskId).forUpdate().executeTakeFirst();
        if (!task) throw new StewardError('approval.not_found', `no approval task has id ${taskId}`);
        const { ctx, flow } = await flowCtx(tx, task.flow_id);
        if (actor.identityId !== task.approver_id && !grants(actor.privileges, 'admin')) throw new StewardError('approval.not_yours', `this task waits on identity ${task.approver_id}`);
        if (flow.status !== 'open') throw new StewardError('approval.flow_closed', `the approval of request ${ctx.requestId} has ended (${flow.status}); its decisions stand`);
        if (task.status !== 'approved') throw new StewardError('approval.already_decided', `only an approval can be taken back while the flow is open; this task is ${task.status}`);
        const at = now();
        await tx.updateTable('approval_tasks').set({ status: 'pending', comment: null, decided_by: null, decided_at: null }).where('id', '=', taskId).execute();
        if (task.step < flow.current_step) {
          // The approval had moved the flow on: the later steps' tasks are void, and so are
          // the same step's tasks that the approval had closed.
          await tx.updateTable('approval_tasks').set({ status: 'cancelled', decided_at: at }).where('flow_id', '=', task.flow_id).where('step', '>', task.step).where('status', 'in', ['pending', 'approved']).execute();
          await tx.updateTable('approval_flows').set({ current_step: task.step }).where('id', '=', task.flow_id).execute();
        }
        await tx.updateTable('approval_tasks').set({ status: 'pending', decided_at: null }).where('flow_id', '=', task.flow_id).where('step', '=', task.step).where('status', '=', 'superseded').execute();
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'approval.withdraw', objectType: 'approval_task', objectId: taskId, before: { status: 'approved' }, after: { status: 'pending' } }]);
        return ctx.requestId;
      });
      return viewRequest(db.k, requestId);
    },
    async sweep() {
      const at = now();
      const result: SweepResult = { reminded: 0, escalated: 0, expired: 0, expiryNotices: 0 };
      // Escalations: each late task goes to its step's escalation targets.
      const late = await db.k
        .selectFrom('approval_tasks as t')
        .innerJoin('approval_flows as f', 'f.id', 't.flow_id')
        .select(['t.id', 't.flow_id'])
        .where('t.status', '=', 'pending')
        .where('f.status', '=', 'open')
        .where('t.due_at', '<=', at)
        .orderBy('t.due_at')
        .limit(500)
        .execute();
      for (const l of late) {
        const escalated = await db.tx(async (tx) => {
          const task = await tx.selectFrom('approval_tasks').selectAll().where('id', '=', l.id).forUpdate().executeTakeFirst();
          if (!task || task.status !== 'pending' || !task.due_at || task.due_at > at) return false;
          const { ctx } = await flowCtx(tx, task.flow_id);
          const s = ctx.steps[task.step]!;
          const taken = new Set((await tx.selectFrom('approval_tasks').select('approver_id').where('flow_id', '=', task.flow_id).where('step', '=', task.step).where('status', 'in', ['pending', 'approved']).execute()).map((r) => r.approver_id));
          const targets = await escalationTargets(tx, s.escalateTo, ctx, new Set([...excluded(ctx), ...taken]), task.approver_id);
          if (targets.length === 0) {
            // Nobody to escalate to: the task stays with its approver, and is looked at again a deadline later.
            await tx.updateTable('approval_tasks').set({ due_at: new Date(at.getTime() + s.deadlineHours * HOUR) }).where('id', '=', task.id).execute();
            await appendAudit(tx, [{ actor: 'system', action: 'approval.escalation_unavailable', objectType: 'approval_task', objectId: task.id, before: null, after: { approverId: task.approver_id } }]);
            return false;
          }
          await tx.updateTable('approval_tasks').set({ status: 'escalated', decided_at: at, decided_by: 'system' }).where('id', '=', task.id).execute();
          const rows = await tx
            .insertInto('approval_tasks')
            .values(targets.map((approver_id) => ({ flow_id: task.flow_id, step: task.step, approver_id, escalated_from: task.id, due_at: new Date(at.getTime() + s.deadlineHours * HOUR), remind_at: s.remindEveryHours > 0 && s.remindEveryHours < s.deadlineHours ? new Date(at.getTime() + s.remindEveryHours * HOUR) : null })))
            .returning('id')
            .execute();
          await appendAudit(tx, [{ actor: 'system', action: 'approval.escalate', objectType: 'approval_task', objectId: task.id, before: { approverId: task.approver_id }, after: { approverIds: targets } }]);
          await notifyLater(tx, rows.map((r) => r.id), 'approval_requested', s.notify);
          return true;
        });
        if (escalated) result.escalated++;
      }
      // Reminders.
      const due = await db.k
        .selectFrom('approval_tasks as t')
        .innerJoin('approval_flows as f', 'f.id', 't.flow_id')
        .select(['t.id', 't.step', 'f.chain', 't.remind_at'])
        .where('t.status', '=', 'pending')
        .where('f.status', '=', 'open')
        .where('t.remind_at', '<=', at)
        .limit(500)
        .execute();
      for (const d of due) {
        const s = (d.chain as StoredChain).steps[d.step];
        if (!s) continue;
        await db.tx(async (tx) => {
          await tx
            .updateTable('approval_tasks')
            .set({ reminders: sql`reminders + 1`, remind_at: s.remindEveryHours > 0 ? new Date(at.getTime() + s.remindEveryHours * HOUR) : null })
            .where('id', '=', d.id)
            .execute();
          await notifyLater(tx, [d.id], 'approval_reminder', s.notify);
        });
        result.reminded++;
      }
      // Time-bound access: notices ahead of the end, then the end itself.
      const soon = await db.k
        .updateTable('assignments')
        .set({ expiry_notified_at: at })
        .where('status', 'in', ['pending', 'active'])
        .where('valid_until', 'is not', null)
        .where('valid_until', '<=', new Date(at.getTime() + EXPIRY_NOTICE_DAYS * DAY))
        .where('valid_until', '>', at)
        .where('expiry_notified_at', 'is', null)
        .returning('id')
        .execute();
      if (soon.length && deps.queue) await deps.queue.sendMany(APPROVAL_NOTIFY_QUEUE, soon.map((s) => ({ data: { kind: 'access_expiring', assignmentId: s.id } })));
      result.expiryNotices = soon.length;
      const ended = await db.k
        .selectFrom('assignments')
        .select(['id'])
        .where('status', 'in', ['pending', 'active'])
        .where('valid_until', '<=', at)
        .where('identity_id', 'is not', null)
        .limit(1000)
        .execute();
      for (const e of ended) {
        const made = await db.tx(async (tx) => {
          const a = await tx.selectFrom('assignments').selectAll().where('id', '=', e.id).forUpdate().executeTakeFirst();
          if (!a || !['pending', 'active'].includes(a.status) || !a.valid_until || a.valid_until > at) return false;
          await ownFlowsFollow(tx);
          await tx.updateTable('assignments').set({ status: 'expired', updated_at: at }).where('id', '=', a.id).execute();
          const { chainId, scripts } = await deps.actionChains.resolve(tx, a.application_id, a.entitlement_id, 'deprovisioning');
          const flowId = await deps.flows.create(tx, { purpose: 'deprovisioning', applicationId: a.application_id, entitlementId: a.entitlement_id, identityId: a.identity_id, assignmentId: a.id, chainId, scripts, createdBy: 'system' });
          await appendAudit(tx, [{ actor: 'system', action: 'assignment.expire', objectType: 'assignment', objectId: a.id, before: { status: a.status, validUntil: a.valid_until }, after: { status: 'expired', flowId } }]);
          return true;
        });
        if (made) result.expired++;
      }
      if (result.expired) deps.flows.wake();
      if (result.reminded || result.escalated || result.expiryNotices) deps.queue?.wake(APPROVAL_NOTIFY_QUEUE);
      return result;
    },
    async work(notifier) {
      const queue = deps.queue;
      if (!queue) throw new Error('no job queue');
      await queue.declare(APPROVAL_NOTIFY_QUEUE, APPROVAL_NOTIFY_SETTINGS);
      await queue.declare(APPROVAL_SWEEP_QUEUE, APPROVAL_SWEEP_SETTINGS);
      await queue.work<Parameters<ApprovalNotifier['notify']>[0]>(APPROVAL_NOTIFY_QUEUE, { batchSize: 10, concurrency: 2, pollingIntervalSeconds: 2 }, (job) => notifier.notify(job.data));
      await queue.work(APPROVAL_SWEEP_QUEUE, { pollingIntervalSeconds: 5 }, async () => {
        await service.sweep();
      });
      await queue.boss.schedule(APPROVAL_SWEEP_QUEUE, '* * * * *', {}, { key: 'every-minute' });
    },
  };
  return service;
}
