import { Type, type Static } from 'typebox';
import { PRIVILEGES } from '../../domain/privileges.ts';
import type { ApiClient } from '../../services/clients.ts';
import { decodeCursor, pageOf } from '../cursor.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, IdParam, Nullable, Page, PageQuery, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const Client = Type.Object({
  id: Type.String(),
  name: Type.String(),
  privileges: Type.Array(Type.String()),
  identityId: Nullable(Type.String({ description: 'The identity the client acts for as requester or approver; null for a machine client.' })),
  tokenPrefix: Type.String(),
  createdAt: DateTime,
  revokedAt: Nullable(DateTime),
});

const CreateClient = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    privileges: Type.Array(Type.Union(PRIVILEGES.map((p) => Type.Literal(p))), { minItems: 1, maxItems: PRIVILEGES.length }),
    identityId: Type.Optional(Type.String({ format: 'uuid', description: 'Make the client act for this identity: its requests are that identity\'s, and it decides the approvals that wait on that identity.' })),
  },
  { additionalProperties: false },
);

const toWire = (c: ApiClient) => c;

/** API clients: machine callers with a token and privileges (admin only). */
export function clientRoutes({ services }: RouteDeps): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/v1.0/clients',
      privilege: 'admin',
      summary: 'Create an API client; the answer holds its token, shown this once',
      tags: ['clients'],
      schema: { body: CreateClient, response: { 201: Type.Object({ client: Client, token: Type.String() }), ...errors(400, 404, 409) } },
      handler: async (req, reply) => {
        const body = req.body as Static<typeof CreateClient>;
        const out = await services.clients.create(actorOf(req), body);
        return reply.status(201).send({ client: toWire(out.client), token: out.token });
      },
    },
    {
      method: 'GET',
      url: '/v1.0/clients',
      privilege: 'admin',
      summary: 'List API clients, by name',
      tags: ['clients'],
      schema: { querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: Page(Client), ...errors(400) } },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string };
        const after = decodeCursor(q.cursor, 1);
        const rows = await services.clients.list({ afterName: after?.[0] as string | undefined, limit: q.limit + 1 });
        return pageOf(rows, q.limit, (c) => [c.name], toWire);
      },
    },
    {
      method: 'GET',
      url: '/v1.0/clients/:clientId',
      privilege: 'admin',
      summary: 'One API client',
      tags: ['clients'],
      schema: { params: IdParam('clientId'), response: { 200: Client, ...errors(404) } },
      handler: async (req) => toWire(await services.clients.get((req.params as { clientId: string }).clientId)),
    },
    {
      method: 'DELETE',
      url: '/v1.0/clients/:clientId',
      privilege: 'admin',
      summary: 'Revoke an API client; its token stops working',
      tags: ['clients'],
      schema: { params: IdParam('clientId'), response: { 200: Client, ...errors(404) } },
      handler: async (req) => {
        // The authenticator drops the client's cached tokens as soon as the revocation commits.
        return toWire(await services.clients.revoke(actorOf(req), (req.params as { clientId: string }).clientId));
      },
    },
  ];
}
