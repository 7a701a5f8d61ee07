import { hash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import { grants, type Privilege } from '../domain/privileges.ts';
import type { ClientService } from '../services/clients.ts';

/** How long a verified token is trusted without asking the database again. */
export const TOKEN_CACHE_MS = 5_000;
const CACHE_MAX = 10_000;

export interface Authenticator {
  authenticate(token: string): Promise<Actor | undefined>;
  /** The actor of a token verified within the TTL, without waiting; undefined when it must be looked up. */
  cached(token: string): Actor | undefined;
  /** Forgets every cached token. */
  forget(): void;
}

export interface AuthenticatorOptions {
  /** How long a verified token stays cached (default TOKEN_CACHE_MS). */
  ttlMs?: number;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

const cacheKey = (token: string): string => hash('sha256', token, 'base64');

/**
 * Verifies bearer tokens through the client service, with a short cache so that a hot
 * route does not pay a query per request. The cache holds SHA-256 hashes of verified
 * tokens, never the tokens, and the actor each one is; the privileges a route needs are
 * still checked on every request. A revocation made in this process removes the client's
 * entries at once; one made by another process takes effect within the TTL.
 */
export function createAuthenticator(clients: ClientService, extra?: (token: string) => Actor | undefined, opts: AuthenticatorOptions = {}): Authenticator {
  const ttl = opts.ttlMs ?? TOKEN_CACHE_MS;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { actor: Actor; until: number }>();
  let revocations = 0;
  clients.onRevoke((clientId) => {
    revocations++;
    for (const [k, v] of cache) if (v.actor.id === clientId) cache.delete(k);
  });
  const cached = (token: string): Actor | undefined => {
    const fromExtra = extra?.(token);
    if (fromExtra) return fromExtra;
    const hit = cache.get(cacheKey(token));
    return hit && hit.until > now() ? hit.actor : undefined;
  };
  return {
    cached,
    async authenticate(token) {
      const hit = cached(token);
      if (hit) return hit;
      const key = cacheKey(token);
      // Stamped before the lookup: a revocation that commits while it runs is seen within the TTL.
      const checkedAt = now();
      const seen = revocations;
      const client = await clients.authenticate(token);
      if (!client) {
        cache.delete(key);
        return undefined;
      }
      const actor: Actor = { kind: 'client', id: client.id, name: client.name, privileges: client.privileges, identityId: client.identityId };
      // A revocation here while the lookup ran may have come after the read: do not keep its answer.
      if (seen !== revocations) return actor;
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(key, { actor, until: checkedAt + ttl });
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
  const admit = (req: FastifyRequest, actor: Actor | undefined, needed: Privilege): StewardError | undefined => {
    if (!actor) return new StewardError('auth.invalid_token', 'the bearer token is unknown or revoked');
    if (!grants(actor.privileges, needed)) {
      return new StewardError('auth.forbidden', `this route needs the '${needed}' privilege, which client '${actor.name}' does not have`);
    }
    req.actor = actor;
    return undefined;
  };
  // A callback hook: a token verified a moment ago (the usual case) is admitted without a
  // promise or a turn of the event loop; others are looked up.
  app.addHook('onRequest', (req, _reply, done) => {
    const needed = req.routeOptions.config?.privilege;
    if (needed === undefined || needed === 'public') return done();
    const token = bearer(req);
    if (token === undefined) return done(new StewardError('auth.missing_token', 'this route needs an Authorization: Bearer token'));
    if (token === '') return done(new StewardError('auth.invalid_token', 'the Authorization header must be "Bearer <token>"'));
    const hit = auth.cached(token);
    if (hit) return done(admit(req, hit, needed));
    auth.authenticate(token).then((actor) => done(admit(req, actor, needed)), (e: Error) => done(e));
  });
}
