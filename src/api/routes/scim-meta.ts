import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { StewardError } from '../../domain/errors.ts';
import { GROUP_RESOURCE_TYPE, MAX_PAGE_SIZE, USER_RESOURCE_TYPE } from '../../services/index.ts';
import type { ResourceSchema, ScimSchema } from '../../scim/index.ts';
import type { RouteSpec } from '../route.ts';
import type { RouteDeps } from './deps.ts';
import { ListResponse, SCIM_BASE, SCIM_MEDIA_TYPE, listResponse, originOf, scimErrors } from './scim-http.ts';

const RESOURCE_TYPES: readonly ResourceSchema[] = [USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE];

// Each schema once, in the order the resource types name them.
const SCHEMAS: readonly ScimSchema[] = [...new Map(RESOURCE_TYPES.flatMap((rt) => [rt.core, ...rt.extensions.map((e) => e.schema)]).map((s) => [s.id, s])).values()];

const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

function serviceProviderConfig(origin: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A Steward API client token (stw_…) holding the manage-users-and-groups privilege, sent as "Authorization: Bearer <token>".',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${origin}${SCIM_BASE}/ServiceProviderConfig` },
  };
}

const resourceTypeOf = (rt: ResourceSchema, origin: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
  id: rt.id,
  name: rt.name,
  endpoint: rt.endpoint,
  description: rt.description,
  schema: rt.core.id,
  schemaExtensions: rt.extensions.map((e) => ({ schema: e.schema.id, required: e.required })),
  meta: { resourceType: 'ResourceType', location: `${origin}${SCIM_BASE}/ResourceTypes/${rt.id}` },
});

const schemaOf = (s: ScimSchema, origin: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
  id: s.id,
  name: s.name,
  description: s.description,
  attributes: s.attributes,
  meta: { resourceType: 'Schema', location: `${origin}${SCIM_BASE}/Schemas/${s.id}` },
});

const send = (reply: FastifyReply, body: unknown) => reply.type(SCIM_MEDIA_TYPE).send(body);
const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;

/**
 * SCIM discovery (RFC 7644 §4): what the service supports and the schemas it serves. Public:
 * they describe the service and hold no data, and RFC 7644 §4 lets a server serve them so.
 */
export function scimMetaRoutes(_deps: RouteDeps): RouteSpec[] {
  const base = { privilege: 'public' as const, tags: ['scim'], scim: true };
  return [
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/ServiceProviderConfig`,
      summary: 'The SCIM features Steward supports',
      schema: { response: { 200: AnyObject, ...scimErrors() } },
      handler: async (req, reply) => send(reply, serviceProviderConfig(originOf(req))),
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/ResourceTypes`,
      summary: 'The resource types served: User and Group',
      schema: { response: { 200: ListResponse(AnyObject), ...scimErrors() } },
      handler: async (req, reply) => {
        const items = RESOURCE_TYPES.map((rt) => resourceTypeOf(rt, originOf(req)));
        return send(reply, listResponse(items.length, 1, items));
      },
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/ResourceTypes/:id`,
      summary: 'One resource type',
      schema: { params: Type.Object({ id: Type.String() }), response: { 200: AnyObject, ...scimErrors(404) } },
      handler: async (req, reply) => {
        const rt = RESOURCE_TYPES.find((r) => r.id.toLowerCase() === idOf(req).toLowerCase());
        if (!rt) throw new StewardError('route.not_found', `no resource type ${JSON.stringify(idOf(req))}; there are ${RESOURCE_TYPES.map((r) => r.id).join(' and ')}`);
        return send(reply, resourceTypeOf(rt, originOf(req)));
      },
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/Schemas`,
      summary: 'The schemas served, with every attribute',
      schema: { response: { 200: ListResponse(AnyObject), ...scimErrors() } },
      handler: async (req, reply) => {
        const items = SCHEMAS.map((s) => schemaOf(s, originOf(req)));
        return send(reply, listResponse(items.length, 1, items));
      },
    },
    {
      ...base,
      method: 'GET',
      url: `${SCIM_BASE}/Schemas/:id`,
      summary: 'One schema, by its URN',
      schema: { params: Type.Object({ id: Type.String() }), response: { 200: AnyObject, ...scimErrors(404) } },
      handler: async (req, reply) => {
        const s = SCHEMAS.find((x) => x.id.toLowerCase() === idOf(req).toLowerCase());
        if (!s) throw new StewardError('route.not_found', `no schema ${JSON.stringify(idOf(req))}; there are ${SCHEMAS.map((x) => x.id).join(', ')}`);
        return send(reply, schemaOf(s, originOf(req)));
      },
    },
  ];
}
