import { Type, type Static } from 'typebox';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, IdParam, Nullable, Uuid, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';
import { ConfirmQuery, HeldWire, ImpactWire, sendOutcome } from './rules.ts';

const ItemWire = Type.Object({ applicationId: Uuid, entitlementId: Nullable(Uuid) });
const RoleWire = Type.Object({ id: Uuid, name: Type.String(), description: Nullable(Type.String()), items: Type.Array(ItemWire), version: Type.Integer(), createdAt: DateTime, updatedAt: DateTime });
const RoleInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
    items: Type.Array(Type.Object({ applicationId: Type.Optional(Uuid), entitlementId: Type.Optional(Uuid) }, { additionalProperties: false }), { maxItems: 200, description: 'Applications (an account) and entitlements, across applications.' }),
  },
  { additionalProperties: false },
);
const Applied = Type.Object({ status: Type.Literal('applied'), impact: ImpactWire, flowIds: Type.Array(Type.String()) });
const RoleId = IdParam('roleId');
const MemberParams = Type.Object({ roleId: Uuid, identityId: Uuid }, { additionalProperties: false });

/** Roles: bundles of entitlements across applications, granted by rules or to identities. */
export function roleRoutes({ services }: RouteDeps): RouteSpec[] {
  const lc = services.lifecycle;
  const tags = ['lifecycle'];
  const id = (p: unknown) => (p as { roleId: string }).roleId;
  return [
    { method: 'GET', url: '/v1.0/roles', privilege: 'manage-lifecycle', summary: 'Roles, by name', tags, schema: { response: { 200: Type.Object({ items: Type.Array(RoleWire) }), ...errors() } }, handler: async () => ({ items: await lc.listRoles() }) },
    {
      method: 'POST',
      url: '/v1.0/roles',
      privilege: 'manage-lifecycle',
      summary: 'Create a role',
      tags,
      schema: { body: RoleInput, response: { 201: RoleWire, ...errors(400, 409) } },
      handler: async (req, reply) => reply.status(201).send(await lc.createRole(actorOf(req), req.body as Static<typeof RoleInput>)),
    },
    { method: 'GET', url: '/v1.0/roles/:roleId', privilege: 'manage-lifecycle', summary: 'One role', tags, schema: { params: RoleId, response: { 200: RoleWire, ...errors(404) } }, handler: async (req) => lc.getRole(id(req.params)) },
    {
      method: 'PUT',
      url: '/v1.0/roles/:roleId',
      privilege: 'manage-lifecycle',
      summary: "Replace a role's items and recompute everyone; held (202) over the safety threshold",
      tags,
      schema: { params: RoleId, querystring: ConfirmQuery, body: RoleInput, response: { 200: Type.Object({ status: Type.Literal('applied'), role: RoleWire, impact: ImpactWire, flowIds: Type.Array(Type.String()) }), 202: HeldWire, ...errors(400, 404, 409) } },
      handler: async (req, reply) => sendOutcome(reply, await lc.updateRole(actorOf(req), id(req.params), req.body as Static<typeof RoleInput>, (req.query as { confirm?: boolean }).confirm), 200, 'role'),
    },
    {
      method: 'DELETE',
      url: '/v1.0/roles/:roleId',
      privilege: 'manage-lifecycle',
      summary: 'Delete a role (refused while a rule grants it); its members lose what it gave',
      tags,
      schema: { params: RoleId, querystring: ConfirmQuery, response: { 200: Applied, 202: HeldWire, ...errors(404, 409) } },
      handler: async (req, reply) => sendOutcome(reply, await lc.deleteRole(actorOf(req), id(req.params), (req.query as { confirm?: boolean }).confirm), 200, 'role'),
    },
    {
      method: 'GET',
      url: '/v1.0/roles/:roleId/members',
      privilege: 'manage-lifecycle',
      summary: 'The identities a role is granted to directly',
      tags,
      schema: { params: RoleId, response: { 200: Type.Object({ items: Type.Array(Type.Object({ identityId: Uuid, source: Type.String(), createdAt: DateTime })) }), ...errors(404) } },
      handler: async (req) => ({ items: await lc.roleMembers(id(req.params)) }),
    },
    {
      method: 'POST',
      url: '/v1.0/roles/:roleId/members',
      privilege: 'manage-lifecycle',
      summary: 'Grant a role to an identity (as requested and approved); its access follows at once',
      tags,
      schema: { params: RoleId, body: Type.Object({ identityId: Uuid, source: Type.Optional(Type.Union([Type.Literal('request'), Type.Literal('direct')])) }, { additionalProperties: false }), response: { 200: Applied, ...errors(404) } },
      handler: async (req, reply) => {
        const b = req.body as { identityId: string; source?: 'request' | 'direct' };
        return sendOutcome(reply, await lc.grantRole(actorOf(req), id(req.params), b.identityId, b.source), 200, 'added');
      },
    },
    {
      method: 'DELETE',
      url: '/v1.0/roles/:roleId/members/:identityId',
      privilege: 'manage-lifecycle',
      summary: 'Take a role from an identity',
      tags,
      schema: { params: MemberParams, response: { 200: Applied, ...errors(404) } },
      handler: async (req, reply) => {
        const p = req.params as { roleId: string; identityId: string };
        return sendOutcome(reply, await lc.revokeRole(actorOf(req), p.roleId, p.identityId), 200, 'removed');
      },
    },
  ];
}
