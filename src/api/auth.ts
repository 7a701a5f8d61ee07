import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import { grants } from '../domain/privileges.ts';
import type { ClientService } from '../services/clients.ts';

/** How long a verified token is trusted without asking the database again. */
const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;

export interface Authenticator {
  authenticate(token: string): Promise<Actor | undefined>;
  /** Forgets cached tokens (after a revocation in this process). */
  forget(): void;
}

/**
 * Verifies bearer tokens through the client service, with a short cache so that a hot
 * route does not pay a query per request. A revocation here clears the cache at once; one
 * made by another process takes effect within CACHE_MS.
 */
export function createAuthenticator(clients: ClientService, extra?: (token: string) => Actor | undefined): Authenticator {
  const cache = new Map<string, { actor: Actor; until: number }>();
  return {
    async authenticate(token) {
      const fromExtra = extra?.(token);
      if (fromExtra) return fromExtra;
      const now = Date.now();
      const hit = cache.get(token);
      if (hit && hit.until > now) return hit.actor;
      const client = await clients.authenticate(token);
      if (!client) {
        cache.delete(token);
        return undefined;
      }
      const actor: Actor = { kind: 'client', id: client.id, name: client.name, privileges: client.privileges, identityId: client.identityId };
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(token, { actor, until: now + CACHE_MS });
      return actor;
    },
    forget() {
      cache.clear();
    },
  };
}

const bearer = (req: FastifyRequest): string | undefined => {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : '';
};

/** Checks every request against the privilege its route declares. */
export function registerAuth(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('actor', undefined);
  app.addHook('onRequest', async (req) => {
    const needed = req.routeOptions.config?.privilege;
    if (needed === undefined || needed === 'public') return;
    const token = bearer(req);
    if (token === undefined) throw new StewardError('auth.missing_token', 'this route needs an Authorization: Bearer token');
    if (token === '') throw new StewardError('auth.invalid_token', 'the Authorization header must be "Bearer <token>"');
    const actor = await auth.authenticate(token);
    if (!actor) throw new StewardError('auth.invalid_token', 'the bearer token is unknown or revoked');
    if (!grants(actor.privileges, needed)) {
      throw new StewardError('auth.forbidden', `this route needs the '${needed}' privilege, which client '${actor.name}' does not have`);
    }
    req.actor = actor;
  });
}
