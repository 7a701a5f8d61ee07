import { Type, type Static } from 'typebox';
import type { KeyPage } from '../../services/index.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { IdParam, Page, PageQuery, errors } from '../schemas.ts';
import { ApplicationWire, CreateApplicationWire, UpdateApplicationWire } from './application-schemas.ts';
import type { RouteDeps } from './deps.ts';

/** A service's page as the wire shows it: the next key becomes an opaque cursor. */
export const wirePage = <T>(p: KeyPage<T>): { items: T[]; nextCursor: string | null } => ({ items: p.items, nextCursor: p.nextKey ? encodeCursor(p.nextKey) : null });

const AppId = IdParam('applicationId');
type AppIdT = { applicationId: string };

/** Applications: onboarding and managing target systems, their connector, schema and policies. */
export function applicationRoutes({ services }: RouteDeps): RouteSpec[] {
  const apps = services.applications;
  return [
    {
      method: 'POST',
      url: '/v1.0/applications',
      privilege: 'manage-applications',
      summary: 'Onboard an application: connector kind and settings, secrets, account schema, capabilities and policies',
      tags: ['applications'],
      schema: { body: CreateApplicationWire, response: { 201: ApplicationWire, ...errors(400, 409) } },
      handler: async (req, reply) => reply.status(201).send(await apps.create(actorOf(req), req.body as Static<typeof CreateApplicationWire>)),
    },
    {
      method: 'GET',
      url: '/v1.0/applications',
      privilege: 'manage-applications',
      summary: 'List applications by name (case-insensitive), filtered by name prefix or connector kind',
      tags: ['applications'],
      schema: {
        querystring: Type.Object(
          {
            ...PageQuery,
            namePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Names starting with this, ignoring case.' })),
            connectorKind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(ApplicationWire), ...errors(400) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; namePrefix?: string; connectorKind?: string };
        return wirePage(await apps.list({ namePrefix: q.namePrefix, connectorKind: q.connectorKind, after: decodeCursor(q.cursor, 1), limit: q.limit }));
      },
    },
    {
      method: 'GET',
      url: '/v1.0/applications/:applicationId',
      privilege: 'manage-applications',
      summary: 'One application (secrets masked)',
      tags: ['applications'],
      schema: { params: AppId, response: { 200: ApplicationWire, ...errors(400, 404) } },
      handler: async (req) => apps.get((req.params as AppIdT).applicationId),
    },
    {
      method: 'PUT',
      url: '/v1.0/applications/:applicationId',
      privilege: 'manage-applications',
      summary: 'Replace an application definition; secrets left out or sent as ******** are kept',
      tags: ['applications'],
      schema: { params: AppId, body: UpdateApplicationWire, response: { 200: ApplicationWire, ...errors(400, 404, 409) } },
      handler: async (req) => apps.update(actorOf(req), (req.params as AppIdT).applicationId, req.body as Static<typeof UpdateApplicationWire>),
    },
    {
      method: 'DELETE',
      url: '/v1.0/applications/:applicationId',
      privilege: 'manage-applications',
      summary: 'Delete an application; one with accounts or live assignments only with force=true, which deletes those too',
      tags: ['applications'],
      schema: {
        params: AppId,
        querystring: Type.Object({ force: Type.Optional(Type.Boolean({ default: false, description: 'Also delete its accounts, entitlements and assignments.' })) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errors(400, 404, 409) },
      },
      handler: async (req, reply) => {
        await apps.remove(actorOf(req), (req.params as AppIdT).applicationId, { force: (req.query as { force: boolean }).force });
        return reply.status(204).send();
      },
    },
  ];
}
