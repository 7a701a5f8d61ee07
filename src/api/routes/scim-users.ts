import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ENTERPRISE_USER_URN } from '../../domain/identity.ts';
import { USER_RESOURCE_TYPE, type IdentityRecord } from '../../services/index.ts';
import { isObject } from '../../scim/index.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import type { RouteDeps } from './deps.ts';
import {
  IdParam,
  ListQueryString,
  ListResponse,
  PatchOpBody,
  ProjectionQuery,
  SCIM_BASE,
  SCIM_MEDIA_TYPE,
  ScimBody,
  ScimResource,
  listResponse,
  notModified,
  originOf,
  preconditionsOf,
  project,
  projectionOf,
  scimErrors,
  sendResource,
  wireResource,
} from './scim-http.ts';

const UserBody = ScimBody('A SCIM User (RFC 7643 §4.1), with the enterprise and Steward extensions. Attributes Steward does not know are kept as sent; `password` is accepted and never stored.', {
  userName: 'string, required, unique ignoring case',
  externalId: 'string, unique',
  active: 'boolean',
  name: 'object: formatted, familyName, givenName, middleName, honorificPrefix, honorificSuffix',
  displayName: 'string',
  emails: 'list of { value, type, primary, display }',
  [ENTERPRISE_USER_URN]: 'object: employeeNumber, costCenter, organization, division, department, manager { value: the manager identity id }',
  'urn:ietf:params:scim:schemas:extension:steward:2.0:User': 'object: kind (employee, contractor, vendor, service), lifecycleStatus (active, suspended, terminated)',
  password: 'accepted for compatibility and discarded',
});

const Projection = Type.Object(ProjectionQuery, { additionalProperties: true });

/** Turns an identity record into a SCIM User on the wire. */
export function userWire(rec: IdentityRecord, origin: string): Record<string, unknown> {
  const r = { ...rec.resource };
  if (Array.isArray(r.groups)) r.groups = (r.groups as Record<string, unknown>[]).map((g) => ({ ...g, $ref: `${origin}${SCIM_BASE}/Groups/${String(g.value)}` }));
  const ent = r[ENTERPRISE_USER_URN];
  if (isObject(ent) && isObject(ent.manager)) {
    r[ENTERPRISE_USER_URN] = { ...ent, manager: { ...ent.manager, $ref: `${origin}${SCIM_BASE}/Users/${String(ent.manager.value)}` } };
  }
  return wireResource(r, rec.id, { resourceType: 'User', created: rec.created, lastModified: rec.lastModified, location: `${origin}${SCIM_BASE}/Users/${rec.id}`, version: rec.version });
}

/** Serialised bodies of the records `get` shares between concurrent reads, by origin and projection. */
const bodiesOf = new WeakMap<IdentityRecord, Map<string, string>>();

const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;

/** SCIM 2.0 Users (RFC 7644): identities as Okta and Microsoft Entra provision them. */
export function scimUserRoutes({ services }: RouteDeps): RouteSpec[] {
  const users = services.identities;
  const base = { privilege: 'manage-users-and-groups' as const, tags: ['scim'], scim: true };
  return [
    {
      ...base,
      method: 'POST',
      url: `${SCIM_BASE}/Users`,
      summary: 'Create a User (an identity)',
      schema: { querystring: Projection, body: UserBody, response: { 201: ScimResource, ...scimErrors(409) } },
      handler: async (req, reply) => {
        const p = projectionOf(req.query as object, USER_RESOURCE_TYPE);
        const rec = await users.create(actorOf(req), req.body);
        return sendResource(reply, 201, project(userWire(rec, originOf(req)), p), rec.version);
      },
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/Users`,
      summary: 'List or search Users: filter, startIndex, count, sortBy, sortOrder, attributes',
      schema: { querystring: ListQueryString, response: { 200: ListResponse(ScimResource), ...scimErrors() } },
      handler: async (req, reply) => {
        const q = req.query as { filter?: string; startIndex?: number; count?: number; sortBy?: string; sortOrder?: string; attributes?: string; excludedAttributes?: string };
        const p = projectionOf(q, USER_RESOURCE_TYPE);
        const page = await users.list(q, { groups: p.wants('groups') });
        const origin = originOf(req);
        return reply.type(SCIM_MEDIA_TYPE).send(listResponse(page.totalResults, page.startIndex, page.items.map((r) => project(userWire(r, origin), p))));
      },
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/Users/:id`,
      summary: 'One User; answers 304 to an If-None-Match naming its current ETag',
      schema: { params: IdParam, querystring: Projection, response: { 200: ScimResource, ...scimErrors(404) } },
      handler: async (req, reply) => {
        const q = req.query as { attributes?: string; excludedAttributes?: string };
        const p = projectionOf(q, USER_RESOURCE_TYPE);
        const rec = await users.get(idOf(req), { groups: p.wants('groups') });
        if (notModified(req, rec.version)) return reply.status(304).send();
        // Concurrent reads of one User share its record: its body is serialised once for them.
        const origin = originOf(req);
        const bodies = bodiesOf.get(rec) ?? new Map<string, string>();
        bodiesOf.set(rec, bodies);
        const key = `${origin}\n${q.attributes ?? ''}\n${q.excludedAttributes ?? ''}`;
        let body = bodies.get(key);
        if (body === undefined) {
          body = JSON.stringify(project(userWire(rec, origin), p));
          bodies.set(key, body);
        }
        return sendResource(reply, 200, body, rec.version);
      },
    },
    {
      ...base,
      method: 'PUT',
      url: `${SCIM_BASE}/Users/:id`,
      summary: 'Replace a User; honours If-Match',
      schema: { params: IdParam, querystring: Projection, body: UserBody, response: { 200: ScimResource, ...scimErrors(404, 409, 412) } },
      handler: async (req, reply) => {
        const p = projectionOf(req.query as object, USER_RESOURCE_TYPE);
        const rec = await users.replace(actorOf(req), idOf(req), req.body, preconditionsOf(req));
        return sendResource(reply, 200, project(userWire(rec, originOf(req)), p), rec.version);
      },
    },
    {
      ...base,
      method: 'PATCH',
      url: `${SCIM_BASE}/Users/:id`,
      summary: 'Change a User with a SCIM PatchOp; honours If-Match',
      schema: { params: IdParam, querystring: Projection, body: PatchOpBody, response: { 200: ScimResource, ...scimErrors(404, 409, 412) } },
      handler: async (req, reply) => {
        const p = projectionOf(req.query as object, USER_RESOURCE_TYPE);
        const rec = await users.patch(actorOf(req), idOf(req), req.body, preconditionsOf(req));
        return sendResource(reply, 200, project(userWire(rec, originOf(req)), p), rec.version);
      },
    },
    {
      ...base,
      method: 'DELETE',
      url: `${SCIM_BASE}/Users/:id`,
      summary: 'Delete a User for good (RFC 7644 §3.6); to deactivate, PATCH active to false',
      schema: { params: IdParam, response: { 204: Type.Null(), ...scimErrors(404, 412) } },
      handler: async (req, reply) => {
        await users.delete(actorOf(req), idOf(req), preconditionsOf(req));
        return reply.status(204).send();
      },
    },
  ];
}
