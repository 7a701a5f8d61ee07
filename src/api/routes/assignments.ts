import { Type, type Static } from 'typebox';
import { StewardError } from '../../domain/errors.ts';
import { ASSIGNMENT_STATUSES, type AssignmentStatus, type Validity } from '../../services/assignments.ts';
import { decodeCursor } from '../cursor.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, IdParam, Nullable, Page, PageQuery, Uuid, errors } from '../schemas.ts';
import { wirePage } from './applications.ts';
import type { RouteDeps } from './deps.ts';
import { EntitlementWire } from './entitlements.ts';

export const AssignmentWire = Type.Object({
  id: Uuid,
  identityId: Nullable(Type.String()),
  groupId: Nullable(Type.String()),
  applicationId: Uuid,
  entitlementId: Nullable(Type.String()),
  source: Type.String(),
  status: Type.String(),
  validFrom: Nullable(DateTime),
  validUntil: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const HeldEntitlementWire = Type.Object({
  assignmentId: Uuid,
  viaGroupId: Nullable(Type.String()),
  source: Type.String(),
  status: Type.String(),
  validFrom: Nullable(DateTime),
  validUntil: Nullable(DateTime),
  inEffect: Type.Boolean(),
  entitlement: Type.Omit(EntitlementWire, ['createdAt', 'updatedAt']),
});

const instant = (description: string) => Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date-time', description }));
const validityFields = {
  validFrom: instant('When the assignment starts to be in effect; now when left out.'),
  validUntil: instant('When it ends; after validFrom and in the future. Never when left out.'),
};

const AssignEntitlements = Type.Object(
  { entitlements: Type.Array(Type.Object({ id: Uuid, ...validityFields }, { additionalProperties: false }), { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

const AssignApplication = Type.Object({ identityId: Type.Optional(Uuid), groupId: Type.Optional(Uuid), ...validityFields }, { additionalProperties: false });

const Status = Type.Optional(Type.Enum(ASSIGNMENT_STATUSES, { description: ASSIGNMENT_STATUSES.join(' | ') }));

const validity = (v: { validFrom?: string | null; validUntil?: string | null }): Validity => ({
  validFrom: v.validFrom ? new Date(v.validFrom) : null,
  validUntil: v.validUntil ? new Date(v.validUntil) : null,
});

/** Assignments: entitlements given to identities and groups, and applications given to them (an account). */
export function assignmentRoutes({ services }: RouteDeps): RouteSpec[] {
  const asg = services.assignments;
  return [
    {
      method: 'POST',
      url: '/v1.0/entitlements/user/:identityId',
      privilege: 'manage-entitlements',
      summary: 'Assign one or more entitlements to an identity directly: all, or none when one is refused',
      tags: ['assignments'],
      schema: { params: IdParam('identityId'), body: AssignEntitlements, response: { 201: Type.Object({ items: Type.Array(AssignmentWire) }), ...errors(400, 404, 409) } },
      handler: async (req, reply) => {
        const body = req.body as Static<typeof AssignEntitlements>;
        const items = await asg.assignEntitlements(actorOf(req), { identityId: (req.params as { identityId: string }).identityId }, body.entitlements.map((e) => ({ entitlementId: e.id, ...validity(e) })));
        return reply.status(201).send({ items });
      },
    },
    {
      method: 'POST',
      url: '/v1.0/entitlements/group/:groupId',
      privilege: 'manage-entitlements',
      summary: "Assign one or more entitlements to a group: its members hold them through it",
      tags: ['assignments'],
      schema: { params: IdParam('groupId'), body: AssignEntitlements, response: { 201: Type.Object({ items: Type.Array(AssignmentWire) }), ...errors(400, 404, 409) } },
      handler: async (req, reply) => {
        const body = req.body as Static<typeof AssignEntitlements>;
        const items = await asg.assignEntitlements(actorOf(req), { groupId: (req.params as { groupId: string }).groupId }, body.entitlements.map((e) => ({ entitlementId: e.id, ...validity(e) })));
        return reply.status(201).send({ items });
      },
    },
    {
      method: 'GET',
      url: '/v1.0/users/:identityId/entitlements',
      privilege: 'manage-entitlements',
      summary: "An identity's entitlements, assigned directly and through its groups, each with its source, status and validity",
      tags: ['assignments'],
      schema: {
        params: IdParam('identityId'),
        querystring: Type.Object({ ...PageQuery, status: Status }, { additionalProperties: false }),
        response: { 200: Page(HeldEntitlementWire), ...errors(400, 404) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; status?: AssignmentStatus };
        return wirePage(await asg.entitlementsOf((req.params as { identityId: string }).identityId, { status: q.status, after: decodeCursor(q.cursor, 1), limit: q.limit }));
      },
    },
    {
      method: 'POST',
      url: '/v1.0/applications/:applicationId/assignments',
      privilege: 'manage-entitlements',
      summary: 'Assign the application itself (an account, no entitlement) to an identity or a group',
      tags: ['assignments'],
      schema: { params: IdParam('applicationId'), body: AssignApplication, response: { 201: AssignmentWire, ...errors(400, 404, 409) } },
      handler: async (req, reply) => {
        const b = req.body as Static<typeof AssignApplication>;
        if ((b.identityId === undefined) === (b.groupId === undefined)) {
          throw new StewardError('assignment.invalid', 'identityId, groupId: name exactly one of them', {
            problems: [{ code: 'assignment.invalid', field: 'body.identityId', message: 'name exactly one of identityId and groupId' }],
          });
        }
        const holder = b.identityId !== undefined ? { identityId: b.identityId } : { groupId: b.groupId! };
        return reply.status(201).send(await asg.assignApplication(actorOf(req), (req.params as { applicationId: string }).applicationId, holder, validity(b)));
      },
    },
    {
      method: 'GET',
      url: '/v1.0/applications/:applicationId/assignments',
      privilege: 'manage-entitlements',
      summary: "An application's assignments by id: application-level ones, or its entitlements' too",
      tags: ['assignments'],
      schema: {
        params: IdParam('applicationId'),
        querystring: Type.Object(
          {
            ...PageQuery,
            identityId: Type.Optional(Uuid),
            groupId: Type.Optional(Uuid),
            status: Status,
            includeEntitlements: Type.Optional(Type.Boolean({ default: false, description: "Also list assignments of the application's entitlements." })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AssignmentWire), ...errors(400, 404) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; identityId?: string; groupId?: string; status?: AssignmentStatus; includeEntitlements: boolean };
        return wirePage(
          await asg.listForApplication((req.params as { applicationId: string }).applicationId, {
            identityId: q.identityId,
            groupId: q.groupId,
            status: q.status,
            applicationLevelOnly: !q.includeEntitlements,
            after: decodeCursor(q.cursor, 1),
            limit: q.limit,
          }),
        );
      },
    },
  ];
}
