import { sql } from 'kysely';
import { Type } from 'typebox';
import type { RouteSpec } from '../route.ts';
import type { RouteDeps } from './deps.ts';

/** Health and metrics: public, for load balancers and Prometheus. */
export function systemRoutes({ services, metrics }: RouteDeps): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/health',
      privilege: 'public',
      summary: 'Whether the server and its database answer',
      tags: ['operations'],
      schema: {
        response: {
          200: Type.Object({ status: Type.Literal('ok'), database: Type.String() }),
          503: Type.Object({ status: Type.Literal('unavailable'), database: Type.String(), error: Type.String() }),
        },
      },
      handler: async (_req, reply) => {
        try {
          await sql`select 1`.execute(services.db.k);
          return { status: 'ok', database: services.db.kind };
        } catch (e) {
          return reply.status(503).send({ status: 'unavailable', database: services.db.kind, error: (e as Error).message });
        }
      },
    },
    {
      method: 'GET',
      url: '/metrics',
      privilege: 'public',
      summary: 'Prometheus metrics',
      tags: ['operations'],
      handler: async (_req, reply) => {
        reply.type(metrics.registry.contentType);
        return metrics.registry.metrics();
      },
    },
  ];
}
