/**
 * A bearer Authorization header for HTTP kinds (scim, rest): a fixed token, or an OAuth 2.0
 * client credentials token (RFC 6749 §4.4) fetched once and reused until shortly before it
 * expires.
 */
import { ConnectorError } from './errors.ts';
import type { HttpClient } from './http.ts';

/** Where a bearer token comes from. */
export type BearerAuth =
  | { type: 'bearer'; token: string }
  | { type: 'oauth2_client_credentials'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string; clientAuth: 'basic' | 'body' };

/** Refresh this long before the token's stated expiry, so a call never races it. */
const EXPIRY_SKEW_MS = 30_000;
/** When the token endpoint states no lifetime, reuse the token this long. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;

export interface TokenSource {
  /** The header value to send (`Bearer …`). */
  header(): Promise<string>;
  /** Forget a token the target refused, so the next call fetches a new one; false when there is nothing to refresh. */
  invalidate(): boolean;
}

/** A TokenSource for the settings' auth; OAuth tokens come through `http` (with its timeout and classification). */
export function createTokenSource(auth: BearerAuth, http: HttpClient, now: () => number = Date.now): TokenSource {
  if (auth.type === 'bearer') {
    const header = `Bearer ${auth.token}`;
    return { header: async () => header, invalidate: () => false };
  }
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    if (auth.type !== 'oauth2_client_credentials') throw new Error('unreachable');
    const form: Record<string, string> = { grant_type: 'client_credentials' };
    if (auth.scope !== undefined) form.scope = auth.scope;
    const headers: Record<string, string> = {};
    if (auth.clientAuth === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
      const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64');
      headers.authorization = `Basic ${basic}`;
    } else {
      form.client_id = auth.clientId;
      form.client_secret = auth.clientSecret;
    }
    let res;
    try {
      res = await http.request({ method: 'POST', url: auth.tokenUrl, form, headers });
    } catch (e) {
      if (e instanceof ConnectorError && (e.status === 400 || e.status === 401)) {
        throw new ConnectorError('permanent', 'auth_failed', `the token endpoint refused client '${auth.clientId}': ${e.targetMessage ?? e.message} — check clientId and clientSecret`, {
          status: e.status,
          ...(e.targetMessage === undefined ? {} : { targetMessage: e.targetMessage }),
        });
      }
      throw e;
    }
    const body = res.body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof body?.access_token !== 'string' || body.access_token === '') {
      throw new ConnectorError('permanent', 'auth_failed', `the token endpoint ${new URL(auth.tokenUrl).origin} answered without an access_token`);
    }
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in * 1000 : DEFAULT_LIFETIME_MS;
    cached = { token: body.access_token, expiresAt: now() + Math.max(0, lifetime - EXPIRY_SKEW_MS) };
    return body.access_token;
  }

  return {
    async header() {
      if (cached !== undefined && now() < cached.expiresAt) return `Bearer ${cached.token}`;
      // Concurrent calls share one token request.
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return `Bearer ${await pending}`;
    },
    invalidate() {
      cached = undefined;
      return true;
    },
  };
}
