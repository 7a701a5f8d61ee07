import { Type, type Static } from 'typebox';
import { ENTITLEMENT_KINDS } from '../../domain/schema.ts';
import { StewardError } from '../../domain/errors.ts';
import { decodeCursor } from '../cursor.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, IdParam, Nullable, Page, PageQuery, Uuid, errors } from '../schemas.ts';
import { wirePage } from './applications.ts';
import type { RouteDeps } from './deps.ts';

export const EntitlementWire = Type.Object({
  id: Uuid,
  applicationId: Uuid,
  kind: Type.String(),
  nativeValue: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  ownerId: Nullable(Type.String()),
  requestable: Type.Boolean(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const Kind = Type.Enum(ENTITLEMENT_KINDS, { description: ENTITLEMENT_KINDS.join(' | ') });

const EntitlementInputWire = Type.Object(
  {
    kind: Kind,
    nativeValue: Type.String({ minLength: 1, maxLength: 2000, description: "The application's own value: a group DN, a role id, a license SKU…" }),
    name: Type.String({ minLength: 1, maxLength: 500 }),
    description: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 4000 })),
    ownerId: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'uuid' })),
    requestable: Type.Optional(Type.Boolean({ description: 'Whether people may request it (default true).' })),
  },
  { additionalProperties: false },
);

const CreateEntitlements = Type.Object({ entitlements: Type.Array(EntitlementInputWire, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });

const SearchBody = Type.Object(
  {
    applicationId: Type.Optional(Uuid),
    kind: Type.Optional(Kind),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Part of the name, ignoring case.' })),
    ownerId: Type.Optional(Uuid),
    requestable: Type.Optional(Type.Boolean()),
    ...PageQuery,
  },
  { additionalProperties: false },
);

const AppId = IdParam('applicationId');

/** Runs a search whose cursor came in the body, so that a bad cursor's error names `body.cursor`. */
async function withBodyCursor<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof StewardError && e.problems[0]?.field === 'query.cursor') {
      throw new StewardError('request.invalid', 'cursor: not a cursor this search gave out', { problems: [{ code: 'request.invalid', field: 'body.cursor', message: 'is not a cursor this search gave out' }] });
    }
    throw e;
  }
}

/** Entitlements: what applications offer, listed per application and searched across all. */
export function entitlementRoutes({ services }: RouteDeps): RouteSpec[] {
  const ents = services.entitlements;
  return [
    {
      method: 'GET',
      url: '/v1.0/owner/applications/:applicationId/entitlements',
      privilege: 'manage-entitlements',
      summary: "An application's entitlements, by kind then native value",
      tags: ['entitlements'],
      schema: { params: AppId, querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: Page(EntitlementWire), ...errors(400, 404) } },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string };
        return wirePage(await ents.listForApplication((req.params as { applicationId: string }).applicationId, { after: decodeCursor(q.cursor, 2), limit: q.limit }));
      },
    },
    {
      method: 'POST',
      url: '/v1.0/owner/applications/:applicationId/entitlements',
      privilege: 'manage-entitlements',
      summary: 'Create one or more entitlements of an application: all, or none when one is refused',
      tags: ['entitlements'],
      schema: { params: AppId, body: CreateEntitlements, response: { 201: Type.Object({ items: Type.Array(EntitlementWire) }), ...errors(400, 404, 409) } },
      handler: async (req, reply) => {
        const body = req.body as Static<typeof CreateEntitlements>;
        const items = await ents.create(actorOf(req), (req.params as { applicationId: string }).applicationId, body.entitlements);
        return reply.status(201).send({ items });
      },
    },
    {
      method: 'POST',
      url: '/v1.0/entitlements/search',
      privilege: 'manage-entitlements',
      summary: 'Search entitlements across applications by application, kind, name, owner and requestable; by name',
      tags: ['entitlements'],
      schema: { body: SearchBody, response: { 200: Page(EntitlementWire), ...errors(400) } },
      handler: async (req) => {
        const b = req.body as Static<typeof SearchBody> & { limit: number };
        return withBodyCursor(async () =>
          wirePage(await ents.search({ applicationId: b.applicationId, kind: b.kind, name: b.name, ownerId: b.ownerId, requestable: b.requestable, after: decodeCursor(b.cursor, 2), limit: b.limit })),
        );
      },
    },
  ];
}
