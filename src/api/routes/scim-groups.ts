import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { GROUP_RESOURCE_TYPE, STEWARD_GROUP_URN, type GroupRecord } from '../../services/index.ts';
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
  etagOf,
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

const GroupBody = ScimBody('A SCIM Group (RFC 7643 §4.2) with the Steward extension. Members are Users, named by id.', {
  displayName: 'string, required, unique ignoring case',
  externalId: 'string, unique',
  members: 'list of { value: identity id }',
  [STEWARD_GROUP_URN]: 'object: kind (standard, or reserved: only a client holding admin may create or change a reserved group), description',
});

const Projection = Type.Object(ProjectionQuery, { additionalProperties: true });

/** Turns a group record into a SCIM Group on the wire. */
export function groupWire(rec: GroupRecord, origin: string): Record<string, unknown> {
  const r = { ...rec.resource };
  if (Array.isArray(r.members)) r.members = (r.members as Record<string, unknown>[]).map((m) => ({ ...m, $ref: `${origin}${SCIM_BASE}/Users/${String(m.value)}` }));
  return wireResource(r, rec.id, { resourceType: 'Group', created: rec.created, lastModified: rec.lastModified, location: `${origin}${SCIM_BASE}/Groups/${rec.id}`, version: rec.version });
}

const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;
const asksFor = (q: { attributes?: string; excludedAttributes?: string }) => Boolean(q.attributes?.trim() || q.excludedAttributes?.trim());

/** SCIM 2.0 Groups (RFC 7644); reserved groups additionally need the admin privilege. */
export function scimGroupRoutes({ services }: RouteDeps): RouteSpec[] {
  const groups = services.groups;
  const base = { privilege: 'manage-users-and-groups' as const, tags: ['scim'], scim: true };
  return [
    {
      ...base,
      method: 'POST',
      url: `${SCIM_BASE}/Groups`,
      summary: 'Create a Group',
      schema: { querystring: Projection, body: GroupBody, response: { 201: ScimResource, ...scimErrors(409) } },
      handler: async (req, reply) => {
        const p = projectionOf(req.query as object, GROUP_RESOURCE_TYPE);
        const created = await groups.create(actorOf(req), req.body);
        const rec = p.wants('members') ? await groups.get(created.id, { members: true }) : created;
        return sendResource(reply, 201, project(groupWire(rec, originOf(req)), p), rec.version);
      },
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/Groups`,
      summary: 'List or search Groups; excludedAttributes=members skips loading members',
      schema: { querystring: ListQueryString, response: { 200: ListResponse(ScimResource), ...scimErrors() } },
      handler: async (req, reply) => {
        const q = req.query as { filter?: string; startIndex?: number; count?: number; sortBy?: string; sortOrder?: string; attributes?: string; excludedAttributes?: string };
        const p = projectionOf(q, GROUP_RESOURCE_TYPE);
        const page = await groups.list(q, { members: p.wants('members') });
        const origin = originOf(req);
        return reply.type(SCIM_MEDIA_TYPE).send(listResponse(page.totalResults, page.startIndex, page.items.map((r) => project(groupWire(r, origin), p))));
      },
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/Groups/:id`,
      summary: 'One Group with its members; answers 304 to an If-None-Match naming its current ETag',
      schema: { params: IdParam, querystring: Projection, response: { 200: ScimResource, ...scimErrors(404) } },
      handler: async (req, reply) => {
        const p = projectionOf(req.query as object, GROUP_RESOURCE_TYPE);
        const rec = await groups.get(idOf(req), { members: p.wants('members') });
        if (notModified(req, rec.version)) return reply.status(304).send();
        return sendResource(reply, 200, project(groupWire(rec, originOf(req)), p), rec.version);
      },
    },
    {
      ...base,
      method: 'PUT',
      url: `${SCIM_BASE}/Groups/:id`,
      summary: 'Replace a Group, members included; honours If-Match',
      schema: { params: IdParam, querystring: Projection, body: GroupBody, response: { 200: ScimResource, ...scimErrors(404, 409, 412) } },
      handler: async (req, reply) => {
        const p = projectionOf(req.query as object, GROUP_RESOURCE_TYPE);
        const updated = await groups.replace(actorOf(req), idOf(req), req.body, preconditionsOf(req));
        const rec = p.wants('members') ? await groups.get(updated.id, { members: true }) : updated;
        return sendResource(reply, 200, project(groupWire(rec, originOf(req)), p), rec.version);
      },
    },
    {
      ...base,
      method: 'PATCH',
      url: `${SCIM_BASE}/Groups/:id`,
      summary: 'Change a Group with a SCIM PatchOp; 204 unless attributes or excludedAttributes ask for the resource',
      schema: {
        description: 'Member add/remove operations become inserts and deletes, so they cost the same in a group of any size. The answer is 204 No Content with the new ETag (as Entra recommends and RFC 7644 §3.5.2 allows), or 200 with the resource when `attributes` or `excludedAttributes` is given.',
        params: IdParam,
        querystring: Projection,
        body: PatchOpBody,
        response: { 200: ScimResource, 204: Type.Null(), ...scimErrors(404, 409, 412) },
      },
      handler: async (req, reply) => {
        const q = req.query as { attributes?: string; excludedAttributes?: string };
        const p = projectionOf(q, GROUP_RESOURCE_TYPE);
        const updated = await groups.patch(actorOf(req), idOf(req), req.body, preconditionsOf(req));
        if (!asksFor(q)) return reply.status(204).header('etag', etagOf(updated.version)).send();
        const rec = p.wants('members') ? await groups.get(updated.id, { members: true }) : updated;
        return sendResource(reply, 200, project(groupWire(rec, originOf(req)), p), rec.version);
      },
    },
    {
      ...base,
      method: 'DELETE',
      url: `${SCIM_BASE}/Groups/:id`,
      summary: 'Delete a Group; its members stay',
      schema: { params: IdParam, response: { 204: Type.Null(), ...scimErrors(404, 412) } },
      handler: async (req, reply) => {
        await groups.delete(actorOf(req), idOf(req), preconditionsOf(req));
        return reply.status(204).send();
      },
    },
  ];
}
