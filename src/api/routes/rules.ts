import type { FastifyReply } from 'fastify';
import { Type, type Static } from 'typebox';
import { StewardError } from '../../domain/errors.ts';
import type { Outcome, Queued } from '../../lifecycle/index.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, IdParam, Nullable, Uuid, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const AccessChangeWire = Type.Object({ applicationId: Uuid, entitlementId: Nullable(Uuid), count: Type.Integer(), sample: Type.Array(Type.String()) });

/** What a change does (or would do): who gains and loses what, per application, and whether it is held. */
export const ImpactWire = Type.Object({
  evaluated: Type.Integer({ description: 'Identities evaluated.' }),
  changed: Type.Integer({ description: 'Identities whose access changed.' }),
  plans: Type.Integer({ description: 'Provisioning plans produced.' }),
  gains: Type.Array(AccessChangeWire),
  losses: Type.Array(AccessChangeWire),
  groups: Type.Array(Type.Object({ groupId: Uuid, added: Type.Integer(), removed: Type.Integer(), sample: Type.Array(Type.String()) })),
  applications: Type.Array(
    Type.Object({ applicationId: Uuid, name: Type.String(), accounts: Type.Integer(), accountsToCreate: Type.Integer(), accountsToRemove: Type.Integer(), overThreshold: Type.Boolean() }),
  ),
  held: Type.Boolean({ description: 'More of an application’s accounts would be removed than the safety threshold allows.' }),
});

const GrantWire = Type.Object(
  { applicationId: Type.Optional(Uuid), entitlementId: Type.Optional(Uuid), roleId: Type.Optional(Uuid) },
  { additionalProperties: false, description: 'Exactly one of applicationId (an account), entitlementId or roleId.' },
);

export const RuleInputWire = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
    condition: Type.String({ maxLength: 4000, description: 'A condition over identity attributes, e.g. `department == "Sales" and location in ["Paris", "Lyon"]` (docs/lifecycle.md).' }),
    grants: Type.Array(GrantWire, { maxItems: 200 }),
    revokeRequestedOnMove: Type.Optional(Type.Boolean({ description: 'When someone stops matching because their attributes changed, their requested access to the granted applications ends too (default false).' })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const RuleWire = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  condition: Type.String(),
  grants: Type.Array(Type.Object({ type: Type.String(), applicationId: Type.Optional(Uuid), entitlementId: Type.Optional(Uuid), roleId: Type.Optional(Uuid) })),
  revokeRequestedOnMove: Type.Boolean(),
  enabled: Type.Boolean(),
  version: Type.Integer(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const HeldWire = Type.Object({ status: Type.Literal('held'), holdId: Uuid, impact: ImpactWire });
export const ConfirmQuery = Type.Object(
  { confirm: Type.Optional(Type.Boolean({ description: 'Apply even when the safety threshold would hold the change (an administrator confirms it; audited).' })) },
  { additionalProperties: false },
);

/** A rule saved, with the recompute of everyone queued: where to follow it. */
export const QueuedWire = <T extends Parameters<typeof Type.Object>[0]>(fields: T) =>
  Type.Object({
    status: Type.Literal('queued'),
    ...fields,
    recomputeId: Type.String({ format: 'uuid', description: 'The background recompute of everyone: GET /v1.0/lifecycle/recomputes/{recomputeId} shows its progress and outcome (applied, or held by the safety threshold).' }),
  });

export const RecomputeWire = Type.Object({
  id: Uuid,
  kind: Type.String({ description: 'rule.create | rule.update | rule.delete' }),
  ruleId: Uuid,
  status: Type.String({ description: 'queued | running | applied | held (by the safety threshold: the rule is back as it was; confirm or discard holdId) | failed' }),
  confirmed: Type.Boolean({ description: 'Saved with ?confirm=true: the safety threshold does not hold it.' }),
  processed: Type.Integer({ description: 'Identities recomputed so far (on PostgreSQL, updated while it runs).' }),
  total: Nullable(Type.Integer({ description: 'Identities to recompute; null until the job has counted them.' })),
  impact: Nullable(ImpactWire),
  flows: Nullable(Type.Integer({ description: 'ActionFlows made, once applied.' })),
  holdId: Nullable(Uuid),
  error: Nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: DateTime,
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
});

/** 200/201 with the value and its impact, 202 with the held change, or 202 with the value and its queued recompute. */
export function sendOutcome<T>(reply: FastifyReply, o: Outcome<T> | Queued<T>, okStatus: number, key: string): FastifyReply {
  if (o.status === 'queued') return reply.status(202).send({ status: 'queued', [key]: o.value, recomputeId: o.recomputeId });
  if (o.status === 'held') return reply.status(202).send({ status: 'held', holdId: o.holdId, impact: o.impact });
  return reply.status(okStatus).send({ status: 'applied', [key]: o.value, impact: o.impact, flowIds: o.flowIds });
}

const Applied = <T extends Parameters<typeof Type.Object>[0]>(fields: T) => Type.Object({ status: Type.Literal('applied'), ...fields, impact: ImpactWire, flowIds: Type.Array(Type.String()) });

const PreviewBody = Type.Object(
  {
    rule: Type.Optional(Type.Intersect([RuleInputWire, Type.Object({ id: Type.Optional(Uuid) })], { description: 'A rule to add, or with `id` to replace the saved one.' })),
    deleteRuleId: Type.Optional(Uuid),
    role: Type.Optional(Type.Object({ id: Type.Optional(Uuid), name: Type.String({ minLength: 1, maxLength: 200 }), description: Type.Optional(Nullable(Type.String())), items: Type.Array(GrantWire) })),
    groupRule: Type.Optional(Type.Object({ groupId: Uuid, condition: Nullable(Type.String({ maxLength: 4000 })) })),
  },
  { description: 'Exactly one of rule, deleteRuleId, role or groupRule.' },
);

const RuleId = IdParam('ruleId');
const GroupId = IdParam('groupId');

/** Birthright rules and rule-based groups: saved after the impact is measured; previews change nothing. */
export function ruleRoutes({ services }: RouteDeps): RouteSpec[] {
  const lc = services.lifecycle;
  const tags = ['lifecycle'];
  return [
    {
      method: 'GET',
      url: '/v1.0/rules',
      privilege: 'manage-lifecycle',
      summary: 'Birthright rules, by name',
      tags,
      schema: { response: { 200: Type.Object({ items: Type.Array(RuleWire) }), ...errors() } },
      handler: async () => ({ items: await lc.listRules() }),
    },
    {
      method: 'POST',
      url: '/v1.0/rules',
      privilege: 'manage-lifecycle',
      summary: 'Create a birthright rule (202); everyone is recomputed by a background job, held when it would remove more accounts than the safety threshold allows',
      tags,
      schema: { body: RuleInputWire, querystring: ConfirmQuery, response: { 202: QueuedWire({ rule: RuleWire }), ...errors(400, 409) } },
      handler: async (req, reply) => sendOutcome(reply, await lc.createRule(actorOf(req), req.body as Static<typeof RuleInputWire>, (req.query as { confirm?: boolean }).confirm), 202, 'rule'),
    },
    {
      method: 'POST',
      url: '/v1.0/rules/preview',
      privilege: 'manage-lifecycle',
      summary: 'Who would gain and lose which access if this rule (or role, or group rule) were saved or deleted; changes nothing',
      tags,
      schema: { body: PreviewBody, response: { 200: ImpactWire, ...errors(400, 404) } },
      handler: async (req) => {
        const b = req.body as Static<typeof PreviewBody>;
        const given = (['rule', 'deleteRuleId', 'role', 'groupRule'] as const).filter((k) => b[k] !== undefined);
        if (given.length !== 1) {
          throw new StewardError('request.invalid', 'body: give exactly one of rule, deleteRuleId, role or groupRule', { problems: [{ code: 'request.invalid', field: 'body', message: 'give exactly one of rule, deleteRuleId, role or groupRule' }] });
        }
        if (b.rule) return lc.preview({ rule: b.rule });
        if (b.deleteRuleId) return lc.preview({ deleteRuleId: b.deleteRuleId });
        if (b.role) return lc.preview({ role: { ...b.role, items: b.role.items } });
        return lc.preview({ groupRule: b.groupRule! });
      },
    },
    {
      method: 'GET',
      url: '/v1.0/rules/:ruleId',
      privilege: 'manage-lifecycle',
      summary: 'One birthright rule',
      tags,
      schema: { params: RuleId, response: { 200: RuleWire, ...errors(404) } },
      handler: async (req) => lc.getRule((req.params as { ruleId: string }).ruleId),
    },
    {
      method: 'PUT',
      url: '/v1.0/rules/:ruleId',
      privilege: 'manage-lifecycle',
      summary: 'Replace a birthright rule (202); everyone is recomputed by a background job, held over the safety threshold',
      tags,
      schema: { params: RuleId, body: RuleInputWire, querystring: ConfirmQuery, response: { 202: QueuedWire({ rule: RuleWire }), ...errors(400, 404, 409) } },
      handler: async (req, reply) =>
        sendOutcome(reply, await lc.updateRule(actorOf(req), (req.params as { ruleId: string }).ruleId, req.body as Static<typeof RuleInputWire>, (req.query as { confirm?: boolean }).confirm), 200, 'rule'),
    },
    {
      method: 'DELETE',
      url: '/v1.0/rules/:ruleId',
      privilege: 'manage-lifecycle',
      summary: 'Delete a birthright rule (202); everyone is recomputed by a background job, held over the safety threshold',
      tags,
      schema: { params: RuleId, querystring: ConfirmQuery, response: { 202: QueuedWire({ rule: RuleWire }), ...errors(404, 409) } },
      handler: async (req, reply) => sendOutcome(reply, await lc.deleteRule(actorOf(req), (req.params as { ruleId: string }).ruleId, (req.query as { confirm?: boolean }).confirm), 200, 'rule'),
    },
    {
      method: 'GET',
      url: '/v1.0/lifecycle/recomputes/:recomputeId',
      privilege: 'manage-lifecycle',
      summary: "A rule save's background recompute: queued, running (identities processed of total), applied, held or failed",
      tags,
      schema: { params: IdParam('recomputeId'), response: { 200: RecomputeWire, ...errors(404) } },
      handler: async (req) => lc.getRecompute((req.params as { recomputeId: string }).recomputeId),
    },
    {
      method: 'GET',
      url: '/v1.0/groups/:groupId/rule',
      privilege: 'manage-lifecycle',
      summary: "A group's membership rule (null for a static group)",
      tags,
      schema: { params: GroupId, response: { 200: Type.Object({ condition: Nullable(Type.String()) }), ...errors(404) } },
      handler: async (req) => ({ condition: await lc.getGroupRule((req.params as { groupId: string }).groupId) }),
    },
    {
      method: 'PUT',
      url: '/v1.0/groups/:groupId/rule',
      privilege: 'manage-lifecycle',
      summary: 'Make a group rule-based (or, with null, static again): its members are the identities in good standing that match, kept current',
      tags,
      schema: {
        params: GroupId,
        querystring: ConfirmQuery,
        body: Type.Object({ condition: Nullable(Type.String({ maxLength: 4000 })) }, { additionalProperties: false }),
        response: { 200: Applied({ group: Type.Null() }), 202: HeldWire, ...errors(400, 404) },
      },
      handler: async (req, reply) =>
        sendOutcome(reply, await lc.setGroupRule(actorOf(req), (req.params as { groupId: string }).groupId, (req.body as { condition: string | null }).condition, (req.query as { confirm?: boolean }).confirm), 200, 'group'),
    },
  ];
}
