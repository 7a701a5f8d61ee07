import { Type } from 'typebox';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, IdParam, Nullable, Uuid, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';
import { ImpactWire, QueuedWire, sendOutcome } from './rules.ts';

const DeprovisioningWire = Type.Object({
  id: Uuid,
  identityId: Nullable(Uuid),
  applicationId: Uuid,
  nativeIdentity: Type.String(),
  action: Type.String(),
  status: Type.String({ description: 'grace | completed | restored' }),
  startedAt: DateTime,
  dueAt: DateTime,
  finishedAt: Nullable(DateTime),
});
const HoldWire = Type.Object({
  id: Uuid,
  kind: Type.String(),
  impact: ImpactWire,
  status: Type.String(),
  createdBy: Type.String(),
  createdAt: DateTime,
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(DateTime),
});
const Identity = IdParam('identityId');
const HoldId = IdParam('holdId');

/** Leavers' restores, events, recomputation and the changes the safety threshold holds. */
export function lifecycleRoutes({ services }: RouteDeps): RouteSpec[] {
  const lc = services.lifecycle;
  const tags = ['lifecycle'];
  return [
    {
      method: 'POST',
      url: '/v1.0/users/:identityId/restore',
      privilege: 'manage-lifecycle',
      summary: "Reverse a leave or a de-provisioning during its grace period: the identity is active again and its accounts and access come back",
      tags,
      schema: { params: Identity, response: { 200: Type.Object({ rehired: Type.Boolean(), restored: Type.Array(DeprovisioningWire) }), ...errors(404, 409) } },
      handler: async (req) => lc.restoreIdentity(actorOf(req), (req.params as { identityId: string }).identityId),
    },
    {
      method: 'POST',
      url: '/v1.0/users/:identityId/accounts/:accountId/restore',
      privilege: 'manage-lifecycle',
      summary: 'Reverse the de-provisioning of one account during its grace period: the identity keeps that access',
      tags,
      schema: { params: Type.Object({ identityId: Uuid, accountId: Uuid }, { additionalProperties: false }), response: { 200: DeprovisioningWire, ...errors(404, 409) } },
      handler: async (req) => {
        const p = req.params as { identityId: string; accountId: string };
        return lc.restoreAccount(actorOf(req), p.identityId, p.accountId);
      },
    },
    {
      method: 'GET',
      url: '/v1.0/users/:identityId/deprovisionings',
      privilege: 'manage-lifecycle',
      summary: "An identity's de-provisionings: in their grace period, completed, restored",
      tags,
      schema: { params: Identity, response: { 200: Type.Object({ items: Type.Array(DeprovisioningWire) }), ...errors(404) } },
      handler: async (req) => ({ items: await lc.deprovisioningsOf((req.params as { identityId: string }).identityId) }),
    },
    {
      method: 'GET',
      url: '/v1.0/lifecycle/events',
      privilege: 'manage-lifecycle',
      summary: 'Recorded lifecycle events, oldest first',
      tags,
      schema: {
        querystring: Type.Object({ identityId: Type.Optional(Uuid), afterSeq: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ items: Type.Array(Type.Object({ seq: Type.Integer(), at: DateTime, kind: Type.String(), identityId: Nullable(Uuid), groupId: Nullable(Uuid), detail: Type.Unknown(), status: Type.String() })) }),
          ...errors(400),
        },
      },
      handler: async (req) => ({ items: await lc.events(req.query as { identityId?: string; afterSeq?: number; limit: number }) }),
    },
    {
      method: 'POST',
      url: '/v1.0/lifecycle/events/process',
      privilege: 'manage-lifecycle',
      summary: 'Process the recorded events now (the worker does so continuously)',
      tags,
      schema: { response: { 200: Type.Object({ events: Type.Integer(), identities: Type.Integer(), held: Type.Optional(Uuid), impact: Type.Optional(ImpactWire), flowIds: Type.Array(Type.String()) }), ...errors() } },
      handler: async () => lc.processEvents(),
    },
    {
      method: 'POST',
      url: '/v1.0/lifecycle/recompute',
      privilege: 'manage-lifecycle',
      summary: 'Recompute the desired access of every identity (or these); held (202) over the safety threshold',
      tags,
      schema: {
        body: Type.Object({ identityIds: Type.Optional(Type.Array(Uuid, { maxItems: 100_000 })), confirm: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: Type.Object({ status: Type.Literal('applied'), impact: ImpactWire, flowIds: Type.Array(Type.String()) }), 202: Type.Object({ status: Type.Literal('held'), holdId: Uuid, impact: ImpactWire }), ...errors(400) },
      },
      handler: async (req, reply) => {
        const b = (req.body ?? {}) as { identityIds?: string[]; confirm?: boolean };
        return sendOutcome(reply, await lc.recompute(actorOf(req), { ...(b.identityIds ? { ids: b.identityIds } : {}), confirmed: b.confirm }), 200, 'result');
      },
    },
    {
      method: 'GET',
      url: '/v1.0/lifecycle/holds',
      privilege: 'manage-lifecycle',
      summary: 'Changes the safety threshold held for an administrator, newest first',
      tags,
      schema: { querystring: Type.Object({ status: Type.Optional(Type.String()) }, { additionalProperties: false }), response: { 200: Type.Object({ items: Type.Array(HoldWire) }), ...errors(400) } },
      handler: async (req) => ({ items: await lc.listHolds((req.query as { status?: string }).status) }),
    },
    {
      method: 'POST',
      url: '/v1.0/lifecycle/holds/:holdId/confirm',
      privilege: 'manage-lifecycle',
      summary: 'Confirm a held change: it is applied as it stands now (a rule change is saved again and answers 202 with its queued recompute)',
      tags,
      schema: {
        params: HoldId,
        response: { 200: Type.Object({ status: Type.String(), impact: ImpactWire, flowIds: Type.Array(Type.String()) }), 202: QueuedWire({ value: Type.Unknown() }), ...errors(404, 409) },
      },
      handler: async (req, reply) => sendOutcome(reply, await lc.confirmHold(actorOf(req), (req.params as { holdId: string }).holdId), 200, 'value'),
    },
    {
      method: 'POST',
      url: '/v1.0/lifecycle/holds/:holdId/discard',
      privilege: 'manage-lifecycle',
      summary: 'Discard a held change: nothing of it is applied (held events are dropped)',
      tags,
      schema: { params: HoldId, response: { 200: HoldWire, ...errors(404, 409) } },
      handler: async (req) => lc.discardHold(actorOf(req), (req.params as { holdId: string }).holdId),
    },
  ];
}
