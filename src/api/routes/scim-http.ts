// What the SCIM routes share: media type, ETags and If-Match, meta and location, the
// `attributes`/`excludedAttributes` projection, list responses, and the response schemas.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { scimError, type Preconditions } from '../../services/index.ts';
import { SCIM_ERROR_SCHEMA } from '../errors.ts';
import type { ScimProblem } from '../../scim/index.ts';
import { parseAttributePath } from '../../scim/index.ts';
import { isObject } from '../../scim/index.ts';
import type { ResourceSchema } from '../../scim/index.ts';
import { extensionNamedBy, resolveAttribute } from '../../scim/index.ts';

export const SCIM_MEDIA_TYPE = 'application/scim+json; charset=utf-8';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/** Where the SCIM service lives, below the server's origin. */
export const SCIM_BASE = '/v2.0';

/** The weak ETag of a version. */
export const etagOf = (version: number): string => `W/"${version}"`;

// Both weak and strong forms name a version: comparisons here are weak (RFC 7232 §2.3.2).
function versionsIn(header: string): number[] {
  const out: number[] = [];
  for (const m of header.matchAll(/(?:W\/)?"([^"]*)"/g)) if (/^\d{1,9}$/.test(m[1]!)) out.push(Number(m[1]));
  return out;
}

/** The If-Match header as the services take it; a header naming no version of ours matches nothing. */
export function preconditionsOf(req: FastifyRequest): Preconditions {
  const h = req.headers['if-match'];
  if (h === undefined) return {};
  const text = Array.isArray(h) ? h.join(',') : h;
  return text.trim() === '*' ? { ifMatch: '*' } : { ifMatch: versionsIn(text) };
}

/** Whether If-None-Match names the current version (so a GET may answer 304). */
export function notModified(req: FastifyRequest, version: number): boolean {
  const h = req.headers['if-none-match'];
  if (h === undefined) return false;
  const text = Array.isArray(h) ? h.join(',') : h;
  return text.trim() === '*' || versionsIn(text).includes(version);
}

/** The server's origin as the client reached it, for `meta.location`. */
export const originOf = (req: FastifyRequest): string => `${req.protocol}://${req.host}`;

export interface Meta {
  resourceType: string;
  created: Date;
  lastModified: Date;
  location: string;
  version: number;
}

/** A resource on the wire: schemas and id first, meta last. */
export function wireResource(resource: Record<string, unknown>, id: string, meta: Meta): Record<string, unknown> {
  const { schemas, ...rest } = resource;
  return {
    schemas,
    id,
    ...rest,
    meta: { resourceType: meta.resourceType, created: meta.created.toISOString(), lastModified: meta.lastModified.toISOString(), location: meta.location, version: etagOf(meta.version) },
  };
}

/** Sends one resource with the SCIM media type, its ETag, and (on 201) its Location. */
export function sendResource(reply: FastifyReply, status: number, body: Record<string, unknown> | string, version: number): FastifyReply {
  reply.status(status).type(SCIM_MEDIA_TYPE).header('etag', etagOf(version));
  // A string is a body serialised already (JSON.stringify of the resource): sent as it is.
  if (status === 201 && typeof body !== 'string') reply.header('location', (body.meta as { location: string }).location);
  return reply.send(body);
}

/** The query parameters every read of resources takes (RFC 7644 §3.4.2.5). */
export const ProjectionQuery = {
  attributes: Type.Optional(Type.String({ description: 'Comma-separated attribute paths to return (besides id and schemas).' })),
  excludedAttributes: Type.Optional(Type.String({ description: 'Comma-separated attribute paths to leave out (Entra sends excludedAttributes=members).' })),
};

/** The parameters of a list request (RFC 7644 §3.4.2). */
export const ListQueryString = Type.Object(
  {
    filter: Type.Optional(Type.String({ description: 'A SCIM filter (RFC 7644 §3.4.2.2), at most 4,096 characters.' })),
    startIndex: Type.Optional(Type.Integer({ description: '1-based index of the first result; below 1 reads as 1.' })),
    count: Type.Optional(Type.Integer({ description: 'Results per page; at most 1,000 (a larger count is cut), default 100.' })),
    sortBy: Type.Optional(Type.String({ description: 'An attribute path to sort by; ties and the default order are by id.' })),
    sortOrder: Type.Optional(Type.String({ description: 'ascending (default) or descending.' })),
    ...ProjectionQuery,
  },
  { additionalProperties: true },
);

type Tree = Map<string, Tree | true>;

export interface Projection {
  mode: 'all' | 'include' | 'exclude';
  tree: Tree;
  /** Whether a top-level attribute (canonical name) is part of the answer; lets services skip loading it. */
  wants(attribute: string): boolean;
}

function addPath(tree: Tree, keys: readonly string[]): void {
  const [head, ...rest] = keys;
  if (head === undefined) return;
  const cur = tree.get(head);
  if (rest.length === 0 || cur === true) {
    tree.set(head, true);
    return;
  }
  const sub: Tree = cur ?? new Map<string, Tree | true>();
  tree.set(head, sub);
  addPath(sub, rest);
}

function treeOf(text: string, rs: ResourceSchema, param: string): Tree {
  const tree: Tree = new Map();
  const problems: ScimProblem[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const p = parseAttributePath(part);
    if (!p.ok) {
      problems.push(...p.errors.map((e) => ({ ...e, field: param, message: `${param}: ${e.message} in '${part}'` })));
      continue;
    }
    const ext = extensionNamedBy(rs, p.value);
    if (ext) {
      addPath(tree, [ext.id]);
      continue;
    }
    const r = resolveAttribute(rs, p.value, 'invalidPath');
    if (!r.ok) problems.push(...r.errors.map((e) => ({ ...e, field: param, message: `${param}: ${e.message}` })));
    else addPath(tree, r.value.keys);
  }
  if (problems.length > 0) throw scimError(problems);
  return tree;
}

/** Reads `attributes` (which wins, as RFC 7644 §3.9 says) or `excludedAttributes`; throws `scim.invalid_path`. */
export function projectionOf(q: { attributes?: string; excludedAttributes?: string }, rs: ResourceSchema): Projection {
  if (q.attributes !== undefined && q.attributes.trim() !== '') {
    const tree = treeOf(q.attributes, rs, 'attributes');
    return { mode: 'include', tree, wants: (a) => tree.has(a) };
  }
  if (q.excludedAttributes !== undefined && q.excludedAttributes.trim() !== '') {
    const tree = treeOf(q.excludedAttributes, rs, 'excludedAttributes');
    return { mode: 'exclude', tree, wants: (a) => tree.get(a) !== true };
  }
  return { mode: 'all', tree: new Map(), wants: () => true };
}

const ALWAYS = new Set(['schemas', 'id']);

function pick(v: unknown, tree: Tree): unknown {
  if (Array.isArray(v)) return v.map((e) => pick(e, tree));
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of tree) if (Object.hasOwn(v, k)) out[k] = sub === true ? v[k] : pick(v[k], sub);
  return out;
}

function omit(v: unknown, tree: Tree): unknown {
  if (Array.isArray(v)) return v.map((e) => omit(e, tree));
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = { ...v };
  for (const [k, sub] of tree) {
    if (!Object.hasOwn(out, k)) continue;
    if (sub === true) delete out[k];
    else out[k] = omit(out[k], sub);
  }
  return out;
}

/** Applies a projection to a wire resource; `schemas` and `id` always stay (returned "always"). */
export function project(resource: Record<string, unknown>, p: Projection): Record<string, unknown> {
  if (p.mode === 'all') return resource;
  if (p.mode === 'exclude') {
    const out = omit(resource, p.tree) as Record<string, unknown>;
    return { schemas: resource.schemas, id: resource.id, ...out };
  }
  const picked = pick(resource, p.tree) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ALWAYS) if (Object.hasOwn(resource, k)) out[k] = resource[k];
  return { ...out, ...picked };
}

/** A ListResponse (RFC 7644 §3.4.2). */
export function listResponse(totalResults: number, startIndex: number, resources: Record<string, unknown>[]) {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
}

const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

/** A SCIM resource as routes answer it: known envelope, any attributes (unknown ones included). */
export const ScimResource = Type.Object(
  { schemas: Type.Array(Type.String()), id: Type.String(), meta: Type.Optional(AnyObject) },
  { additionalProperties: true },
);

export const ListResponse = (item: TSchema) =>
  Type.Object({
    schemas: Type.Array(Type.String()),
    totalResults: Type.Integer(),
    startIndex: Type.Integer(),
    itemsPerPage: Type.Integer(),
    Resources: Type.Array(item),
  });

/** SCIM's error body (RFC 7644 §3.12). */
export const ScimErrorBody = Type.Object({
  schemas: Type.Array(Type.String(), { default: [SCIM_ERROR_SCHEMA] }),
  status: Type.String(),
  scimType: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
});

/** Error responses of a SCIM route, by status (401 and 403 always). */
export function scimErrors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [400, 401, 403, 413, 415, ...statuses]) out[s] = ScimErrorBody;
  return out;
}

/** A body in SCIM's own terms: any object; the service checks each attribute it knows. */
export const ScimBody = (description: string, properties: Record<string, string>) =>
  Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    description,
    additionalProperties: true,
    properties: Object.fromEntries(Object.entries(properties).map(([k, d]) => [k, { description: d }])),
  });

/** The PatchOp body (RFC 7644 §3.5.2); the service checks its operations. */
export const PatchOpBody = Type.Unsafe<Record<string, unknown>>({
  type: 'object',
  description: 'A PatchOp message: { "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "add" | "replace" | "remove", "path"?: "…", "value"?: … }] }',
  additionalProperties: true,
  properties: { schemas: { description: 'Must contain urn:ietf:params:scim:api:messages:2.0:PatchOp.' }, Operations: { description: 'The operations, applied in order; all or none.' } },
});

/** The `:id` path parameter: any string, so an id that is not ours answers 404, not 400 (Okta tests this). */
export const IdParam = Type.Object({ id: Type.String() });
