import { Type, type Static } from 'typebox';
import { StewardError } from '../../domain/errors.ts';
import { grants } from '../../domain/privileges.ts';
import { invalidPlan } from '../../services/index.ts';
import { sourceOf } from './plans.ts';
import { CHAIN_PURPOSES, FLOW_STATUSES, type ChainPurpose, type FlowStatus } from '../../workflows/index.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, IdParam, Nullable, Page, PageQuery, Uuid, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const Json = Type.Unknown();

const TaskWire = Type.Object({
  id: Uuid,
  requestId: Uuid,
  step: Type.Integer(),
  stepName: Type.String(),
  approverId: Uuid,
  status: Type.String({ description: 'pending | approved | denied | escalated | superseded | cancelled' }),
  comment: Nullable(Type.String()),
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(DateTime),
  dueAt: Nullable(DateTime),
  escalatedFrom: Nullable(Type.String()),
  createdAt: DateTime,
});

const RequestWire = Type.Object({
  id: Uuid,
  status: Type.String({ description: 'pending | approved | denied | cancelled' }),
  requesterId: Nullable(Type.String()),
  requestedBy: Type.String(),
  beneficiaryId: Uuid,
  applicationId: Uuid,
  entitlementId: Nullable(Type.String()),
  justification: Type.String(),
  endDate: Nullable(DateTime),
  assignmentId: Nullable(Type.String()),
  createdAt: DateTime,
  decidedAt: Nullable(DateTime),
  approval: Nullable(
    Type.Object({
      chainId: Nullable(Type.String()),
      chainName: Type.String(),
      status: Type.String({ description: 'open | approved | denied | cancelled' }),
      currentStep: Type.Integer(),
      steps: Type.Integer(),
      waitingOn: Type.Array(Type.String(), { description: 'The identities that must still decide the current step.' }),
      tasks: Type.Array(TaskWire),
    }),
  ),
});

const NewRequest = Type.Object(
  {
    beneficiaryId: Uuid,
    applicationId: Uuid,
    entitlementId: Type.Optional(Nullable(Uuid)),
    justification: Type.String({ minLength: 1, maxLength: 4000 }),
    endDate: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'When the access should end; the shortest of this and the chain\'s own limit wins.' }))),
    requesterId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

const Decision = Type.Object(
  { decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]), comment: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))) },
  { additionalProperties: false },
);

const ScriptWire = Type.Object({
  id: Uuid,
  position: Type.Integer(),
  type: Type.String(),
  metadata: Json,
  status: Type.String({ description: 'pending | running | waiting | succeeded | failed | skipped | cancelled' }),
  attempts: Type.Integer(),
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
  nextAttemptAt: Nullable(DateTime),
  output: Json,
  lastError: Json,
});

const FlowWire = Type.Object({
  id: Uuid,
  purpose: Type.String({ description: 'provisioning | deprovisioning | plan' }),
  status: Type.String({ description: FLOW_STATUSES.join(' | ') }),
  applicationId: Uuid,
  entitlementId: Nullable(Type.String()),
  identityId: Nullable(Type.String()),
  assignmentId: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  chainId: Nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
  finishedAt: Nullable(DateTime),
  scripts: Type.Optional(Type.Array(ScriptWire)),
});

const ChainScriptWire = Type.Object({ type: Type.String(), metadata: Json });
const ActionChainWire = Type.Object({
  id: Uuid,
  applicationId: Uuid,
  entitlementId: Nullable(Type.String()),
  purpose: Type.String(),
  scripts: Type.Array(ChainScriptWire),
  version: Type.Integer(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const ApprovalChainWire = Type.Object({
  id: Uuid,
  name: Type.String(),
  applicationId: Uuid,
  entitlementId: Nullable(Type.String()),
  condition: Json,
  priority: Type.Integer(),
  isDefault: Type.Boolean(),
  steps: Json,
  expiresAfterDays: Nullable(Type.Integer()),
  auditAfterDays: Nullable(Type.Integer()),
  version: Type.Integer(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const ApprovalChainBody = Type.Object(
  {
    name: Type.String(),
    applicationId: Uuid,
    entitlementId: Type.Optional(Nullable(Uuid)),
    condition: Type.Optional(Json),
    priority: Type.Optional(Type.Integer()),
    default: Type.Optional(Type.Boolean()),
    steps: Type.Optional(Type.Array(Json, { description: 'Ordered steps: {name, approvers: [{type: manager|applicationOwner|entitlementOwner|identity|group, …}], rule: any|all, deadlineHours, remindEveryHours, escalateTo, notify: [email|slack]}.' })),
    expiresAfterDays: Type.Optional(Nullable(Type.Integer())),
    auditAfterDays: Type.Optional(Nullable(Type.Integer())),
  },
  { additionalProperties: false },
);

const key2 = (cursor: string | undefined): [string, string] | undefined => {
  const k = decodeCursor(cursor, 2);
  if (!k) return undefined;
  if (typeof k[0] !== 'string' || typeof k[1] !== 'string') throw new StewardError('request.invalid', 'cursor: not a cursor this list gave');
  return [k[0], k[1]];
};
const next = (n: [string, string] | null) => (n ? encodeCursor(n) : null);


/** Access requests, approvals, ApprovalChains, ActionChains, ActionFlows, and carrying out a plan. */
export function workflowRoutes({ services }: RouteDeps): RouteSpec[] {
  const w = services.workflows;
  return [
    {
      method: 'POST',
      url: '/v1.0/requests',
      privilege: 'manage-requests',
      summary: 'Request access to an application (an account) or an entitlement for oneself or someone else; the chosen ApprovalChain starts at once',
      tags: ['requests'],
      schema: { body: NewRequest, response: { 201: RequestWire, ...errors(400, 404, 409) } },
      handler: async (req, reply) => {
        const b = req.body as Static<typeof NewRequest>;
        const view = await w.approvals.request(actorOf(req), {
          beneficiaryId: b.beneficiaryId,
          applicationId: b.applicationId,
          entitlementId: b.entitlementId ?? null,
          justification: b.justification,
          endDate: b.endDate ? new Date(b.endDate) : null,
          ...(b.requesterId ? { requesterId: b.requesterId } : {}),
        });
        return reply.status(201).send(view);
      },
    },
    {
      method: 'GET',
      url: '/v1.0/requests',
      privilege: 'manage-requests',
      summary: 'Access requests, oldest first; filter by beneficiary, requester and status',
      tags: ['requests'],
      schema: {
        querystring: Type.Object({ ...PageQuery, beneficiaryId: Type.Optional(Uuid), requesterId: Type.Optional(Uuid), status: Type.Optional(Type.Union(['pending', 'approved', 'denied', 'cancelled'].map((s) => Type.Literal(s)))) }, { additionalProperties: false }),
        response: { 200: Page(RequestWire), ...errors(400) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; beneficiaryId?: string; requesterId?: string; status?: string };
        const after = key2(q.cursor);
        const page = await w.approvals.listRequests({ limit: q.limit, ...(after ? { after } : {}), ...(q.beneficiaryId ? { beneficiaryId: q.beneficiaryId } : {}), ...(q.requesterId ? { requesterId: q.requesterId } : {}), ...(q.status ? { status: q.status } : {}) });
        return { items: page.items, nextCursor: next(page.next) };
      },
    },
    {
      method: 'GET',
      url: '/v1.0/requests/:requestId',
      privilege: 'manage-requests',
      summary: 'One access request, with its approval: each step\'s tasks and who must still decide',
      tags: ['requests'],
      schema: { params: IdParam('requestId'), response: { 200: RequestWire, ...errors(404) } },
      handler: async (req) => w.approvals.getRequest((req.params as { requestId: string }).requestId),
    },
    {
      method: 'POST',
      url: '/v1.0/requests/:requestId/cancel',
      privilege: 'manage-requests',
      summary: 'Cancel a pending request (its requester, its beneficiary, or a client with manage-requests acting for no identity)',
      tags: ['requests'],
      schema: { params: IdParam('requestId'), response: { 200: RequestWire, ...errors(404, 409) } },
      handler: async (req) => w.approvals.cancel(actorOf(req), (req.params as { requestId: string }).requestId),
    },
    {
      method: 'GET',
      url: '/v1.0/approvals',
      privilege: 'approve',
      summary: 'The approval tasks waiting on the caller\'s identity (an admin may name another approver)',
      tags: ['approvals'],
      schema: {
        querystring: Type.Object({ ...PageQuery, approverId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: Page(Type.Intersect([TaskWire, Type.Object({ request: RequestWire })])), ...errors(400) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; approverId?: string };
        const actor = actorOf(req);
        const approverId = q.approverId ?? actor.identityId;
        if (!approverId) throw new StewardError('request.invalid', 'approverId: this API client acts for no identity; name the approver');
        if (q.approverId && q.approverId !== actor.identityId && !grants(actor.privileges, 'admin')) throw new StewardError('auth.forbidden', 'only an admin client may list another approver\'s tasks');
        const after = key2(q.cursor);
        const page = await w.approvals.waitingOn(approverId, { limit: q.limit, ...(after ? { after } : {}) });
        return { items: page.items, nextCursor: next(page.next) };
      },
    },
    {
      method: 'POST',
      url: '/v1.0/approvals/:approvalId/decision',
      privilege: 'approve',
      summary: 'Approve or deny an approval task; approving the last step creates the assignment and its ActionFlow',
      tags: ['approvals'],
      schema: { params: IdParam('approvalId'), body: Decision, response: { 200: RequestWire, ...errors(400, 403, 404, 409) } },
      handler: async (req) => {
        const b = req.body as Static<typeof Decision>;
        return w.approvals.decide(actorOf(req), (req.params as { approvalId: string }).approvalId, { decision: b.decision, comment: b.comment ?? null });
      },
    },
    {
      method: 'POST',
      url: '/v1.0/approvals/:approvalId/withdraw',
      privilege: 'approve',
      summary: 'Take back an approval while the ApprovalFlow is still open',
      tags: ['approvals'],
      schema: { params: IdParam('approvalId'), response: { 200: RequestWire, ...errors(403, 404, 409) } },
      handler: async (req) => w.approvals.withdraw(actorOf(req), (req.params as { approvalId: string }).approvalId),
    },
    {
      method: 'POST',
      url: '/v1.0/approvalChains',
      privilege: 'manage-applications',
      summary: 'Create an ApprovalChain for an application or one of its entitlements',
      tags: ['approval chains'],
      schema: { body: ApprovalChainBody, response: { 201: ApprovalChainWire, ...errors(400, 404) } },
      handler: async (req, reply) => reply.status(201).send(await w.approvals.createChain(actorOf(req), req.body as Record<string, unknown>)),
    },
    {
      method: 'GET',
      url: '/v1.0/approvalChains',
      privilege: 'manage-applications',
      summary: 'ApprovalChains, by application and priority',
      tags: ['approval chains'],
      schema: { querystring: Type.Object({ applicationId: Type.Optional(Uuid), entitlementId: Type.Optional(Uuid) }, { additionalProperties: false }), response: { 200: Type.Object({ items: Type.Array(ApprovalChainWire) }), ...errors(400) } },
      handler: async (req) => ({ items: await w.approvals.listChains(req.query as { applicationId?: string; entitlementId?: string }) }),
    },
    {
      method: 'GET',
      url: '/v1.0/approvalChains/:chainId',
      privilege: 'manage-applications',
      summary: 'One ApprovalChain',
      tags: ['approval chains'],
      schema: { params: IdParam('chainId'), response: { 200: ApprovalChainWire, ...errors(404) } },
      handler: async (req) => w.approvals.getChain((req.params as { chainId: string }).chainId),
    },
    {
      method: 'PUT',
      url: '/v1.0/approvalChains/:chainId',
      privilege: 'manage-applications',
      summary: 'Replace an ApprovalChain; running ApprovalFlows keep the chain they started with',
      tags: ['approval chains'],
      schema: { params: IdParam('chainId'), body: ApprovalChainBody, response: { 200: ApprovalChainWire, ...errors(400, 404) } },
      handler: async (req) => w.approvals.updateChain(actorOf(req), (req.params as { chainId: string }).chainId, req.body as Record<string, unknown>),
    },
    {
      method: 'DELETE',
      url: '/v1.0/approvalChains/:chainId',
      privilege: 'manage-applications',
      summary: 'Delete an ApprovalChain',
      tags: ['approval chains'],
      schema: { params: IdParam('chainId'), response: { 204: Type.Null(), ...errors(404) } },
      handler: async (req, reply) => {
        await w.approvals.deleteChain(actorOf(req), (req.params as { chainId: string }).chainId);
        return reply.status(204).send();
      },
    },
    {
      method: 'PUT',
      url: '/v1.0/applications/:applicationId/actionChains/:purpose',
      privilege: 'manage-applications',
      summary: 'Save the provisioning or de-provisioning ActionChain of the application (or of one of its entitlements); scripts are checked now, not when they run',
      tags: ['action chains'],
      schema: {
        params: Type.Object({ applicationId: Uuid, purpose: Type.Union(CHAIN_PURPOSES.map((p) => Type.Literal(p))) }, { additionalProperties: false }),
        body: Type.Object({ entitlementId: Type.Optional(Nullable(Uuid)), scripts: Type.Array(ChainScriptWire, { minItems: 1, maxItems: 50 }) }, { additionalProperties: false }),
        response: { 200: ActionChainWire, ...errors(400, 404) },
      },
      handler: async (req) => {
        const p = req.params as { applicationId: string; purpose: ChainPurpose };
        const b = req.body as { entitlementId?: string | null; scripts: unknown };
        return w.actionChains.put(actorOf(req), { applicationId: p.applicationId, entitlementId: b.entitlementId ?? null, purpose: p.purpose, scripts: b.scripts });
      },
    },
    {
      method: 'GET',
      url: '/v1.0/applications/:applicationId/actionChains',
      privilege: 'manage-applications',
      summary: 'The ActionChains saved for the application and its entitlements',
      tags: ['action chains'],
      schema: { params: IdParam('applicationId'), response: { 200: Type.Object({ items: Type.Array(ActionChainWire) }), ...errors(404) } },
      handler: async (req) => ({ items: await w.actionChains.list({ applicationId: (req.params as { applicationId: string }).applicationId }) }),
    },
    {
      method: 'GET',
      url: '/v1.0/applications/:applicationId/actionChains/:purpose/effective',
      privilege: 'manage-applications',
      summary: 'The scripts a flow would run: the saved chain, or the one derived from the connector\'s capabilities',
      tags: ['action chains'],
      schema: {
        params: Type.Object({ applicationId: Uuid, purpose: Type.Union(CHAIN_PURPOSES.map((p) => Type.Literal(p))) }, { additionalProperties: false }),
        querystring: Type.Object({ entitlementId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 200: Type.Object({ chainId: Nullable(Type.String()), scripts: Type.Array(ChainScriptWire) }), ...errors(404) },
      },
      handler: async (req) => {
        const p = req.params as { applicationId: string; purpose: ChainPurpose };
        const q = req.query as { entitlementId?: string };
        return w.actionChains.resolve(services.db.k, p.applicationId, q.entitlementId ?? null, p.purpose);
      },
    },
    {
      method: 'DELETE',
      url: '/v1.0/actionChains/:chainId',
      privilege: 'manage-applications',
      summary: 'Delete a saved ActionChain; flows go back to the derived one',
      tags: ['action chains'],
      schema: { params: IdParam('chainId'), response: { 204: Type.Null(), ...errors(404) } },
      handler: async (req, reply) => {
        await w.actionChains.remove(actorOf(req), (req.params as { chainId: string }).chainId);
        return reply.status(204).send();
      },
    },
    {
      method: 'GET',
      url: '/v1.0/flows',
      privilege: 'manage-requests',
      summary: 'ActionFlows, oldest first; filter by status, identity, application, assignment or request',
      tags: ['flows'],
      schema: {
        querystring: Type.Object(
          { ...PageQuery, status: Type.Optional(Type.Union(FLOW_STATUSES.map((s) => Type.Literal(s)))), identityId: Type.Optional(Uuid), applicationId: Type.Optional(Uuid), assignmentId: Type.Optional(Uuid), requestId: Type.Optional(Uuid) },
          { additionalProperties: false },
        ),
        response: { 200: Page(FlowWire), ...errors(400) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; status?: FlowStatus; identityId?: string; applicationId?: string; assignmentId?: string; requestId?: string };
        const after = key2(q.cursor);
        const page = await w.flows.list({
          limit: q.limit,
          ...(after ? { after } : {}),
          ...(q.status ? { status: q.status } : {}),
          ...(q.identityId ? { identityId: q.identityId } : {}),
          ...(q.applicationId ? { applicationId: q.applicationId } : {}),
          ...(q.assignmentId ? { assignmentId: q.assignmentId } : {}),
          ...(q.requestId ? { requestId: q.requestId } : {}),
        });
        return { items: page.items, nextCursor: next(page.next) };
      },
    },
    {
      method: 'GET',
      url: '/v1.0/flows/:flowId',
      privilege: 'manage-requests',
      summary: 'One ActionFlow with each script: status, attempts, timestamps, output and last error',
      tags: ['flows'],
      schema: { params: IdParam('flowId'), response: { 200: FlowWire, ...errors(404) } },
      handler: async (req) => w.flows.get((req.params as { flowId: string }).flowId),
    },
    {
      method: 'POST',
      url: '/v1.0/flows/:flowId/retry',
      privilege: 'manage-applications',
      summary: 'Retry a failed ActionFlow from the script that failed',
      tags: ['flows'],
      schema: { params: IdParam('flowId'), response: { 200: FlowWire, ...errors(404, 409) } },
      handler: async (req) => w.flows.retry(actorOf(req), (req.params as { flowId: string }).flowId),
    },
    {
      method: 'POST',
      url: '/v1.0/flows/:flowId/cancel',
      privilege: 'manage-applications',
      summary: 'Cancel an ActionFlow that has not ended; scripts not yet run are cancelled',
      tags: ['flows'],
      schema: { params: IdParam('flowId'), response: { 200: FlowWire, ...errors(404, 409) } },
      handler: async (req) => w.flows.cancel(actorOf(req), (req.params as { flowId: string }).flowId),
    },
    {
      method: 'POST',
      url: '/v1.0/plans/execute',
      privilege: 'manage-applications',
      summary: 'Carry out a provisioning plan: it is checked like /plans/validate, then each AccountRequest becomes one ActionFlow',
      tags: ['plans'],
      schema: {
        description: 'A ProvisioningPlan: XML (application/xml or text/xml) or JSON.',
        querystring: Type.Object({ identity: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) }, { additionalProperties: false }),
        response: { 202: Type.Object({ flowIds: Type.Array(Uuid), skipped: Type.Array(Type.Object({ index: Type.Integer(), reason: Type.String() })) }), ...errors(400, 404, 413, 415, 422) },
      },
      handler: async (req, reply) => {
        const q = req.query as { identity?: string };
        const r = await services.plans.validate(sourceOf(req), q);
        if (!r.ok) throw invalidPlan(r.errors);
        const plan = q.identity ? { ...r.value, identity: q.identity } : r.value;
        return reply.status(202).send(await w.executePlan(actorOf(req), plan));
      },
    },
  ];
}
