import type { FastifyReply, FastifyRequest, FastifySchema, HTTPMethods, RouteOptions } from 'fastify';
import type { Actor } from '../domain/actor.ts';
import type { Privilege } from '../domain/privileges.ts';

/**
 * One route, declared with its schemas and the privilege it needs, in one object that
 * feeds validation, response shaping, OpenAPI and the privilege check alike.
 */
export interface RouteSpec {
  method: HTTPMethods;
  url: string;
  /** `public` routes (health, docs) need no token; every other route names its privilege. */
  privilege: Privilege | 'public';
  summary: string;
  tags: string[];
  schema?: Omit<FastifySchema, 'summary' | 'tags'>;
  /** SCIM routes answer errors in SCIM's format and accept application/scim+json. */
  scim?: boolean;
  bodyLimit?: number;
  handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    privilege?: Privilege | 'public';
    scim?: boolean;
  }
  interface FastifyRequest {
    actor: Actor | undefined;
  }
}

/** Turns a declaration into Fastify's route options. */
export function toRouteOptions(r: RouteSpec): RouteOptions {
  return {
    method: r.method,
    url: r.url,
    schema: {
      ...r.schema,
      summary: r.summary,
      tags: r.tags,
      ...(r.privilege === 'public' ? {} : { security: [{ bearer: [] }], description: `${(r.schema)?.description ?? ''}\n\nNeeds the \`${r.privilege}\` privilege.`.trim() }),
    },
    config: { privilege: r.privilege, scim: r.scim ?? false },
    ...(r.bodyLimit ? { bodyLimit: r.bodyLimit } : {}),
    handler: r.handler,
  };
}

/** The authenticated actor of a request; the auth hook guarantees one on non-public routes. */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new Error('no actor on an authenticated route');
  return req.actor;
}
