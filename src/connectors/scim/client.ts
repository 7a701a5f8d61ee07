/**
 * SCIM 2.0 over HTTP (RFC 7644): the service root, authentication, SCIM's media type and
 * error body, ETags, and what the target says about itself (/ServiceProviderConfig,
 * /Schemas, /ResourceTypes), each read once per connector.
 */
import { ConnectorError } from '../errors.ts';
import { plainText } from '../http.ts';
import type { HttpClient, HttpResponse } from '../http.ts';
import type { TokenSource } from '../oauth.ts';
import { buildMapping } from './mapping.ts';
import type { ScimMapping, ScimResource } from './mapping.ts';
import { CORE_USER_SCHEMA, DEFAULT_ENTERPRISE_SCHEMA, DEFAULT_USER_SCHEMA, ENTERPRISE_USER_SCHEMA } from './scim-schema.ts';
import type { ScimSchemaDef } from './scim-schema.ts';

export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** The SCIM error body's detail and scimType (RFC 7644 §3.12), as the target's own message. */
export function scimErrorText(body: unknown): string | undefined {
  if (typeof body === 'string') return plainText(body);
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const detail = typeof b.detail === 'string' ? b.detail : typeof b.message === 'string' ? b.message : undefined;
  const scimType = typeof b.scimType === 'string' ? b.scimType : undefined;
  if (detail === undefined) return scimType;
  return scimType === undefined ? detail : `${detail} (scimType ${scimType})`;
}

export interface ServiceProviderFeatures {
  patch: boolean;
  etag: boolean;
  filter: boolean;
}

export interface ScimClient {
  readonly baseUrl: string;
  /** Sends a SCIM request to a path under the service root; `ifMatch` adds If-Match. */
  send(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options?: { json?: unknown; ifMatch?: string; query?: Record<string, string> }): Promise<HttpResponse>;
  features(): Promise<ServiceProviderFeatures>;
  mapping(): Promise<ScimMapping>;
  /** Whether the mapping came from the target's /Schemas (true) or the built-in RFC 7643 definitions. */
  mappingDiscovered(): Promise<boolean>;
}

/** The version to send in If-Match: the ETag header, else meta.version (RFC 7644 §3.14). */
export function versionOf(res: HttpResponse): string | undefined {
  const header = res.headers.get('etag');
  if (header !== null && header !== '') return header;
  const meta = (res.body as ScimResource | undefined)?.meta as { version?: unknown } | undefined;
  return typeof meta?.version === 'string' ? meta.version : undefined;
}

function asBool(v: unknown): boolean {
  return v !== null && typeof v === 'object' && (v as { supported?: unknown }).supported === true;
}

function listResources(body: unknown): Record<string, unknown>[] {
  if (Array.isArray(body)) return body as Record<string, unknown>[];
  const r = (body as { Resources?: unknown } | undefined)?.Resources;
  return Array.isArray(r) ? (r as Record<string, unknown>[]) : [];
}

export function createScimClient(baseUrl: string, http: HttpClient, tokens: TokenSource): ScimClient {
  let features: Promise<ServiceProviderFeatures> | undefined;
  let mapping: Promise<{ mapping: ScimMapping; discovered: boolean }> | undefined;

  async function send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options: { json?: unknown; ifMatch?: string; query?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    const qs = options.query === undefined ? '' : `?${new URLSearchParams(options.query).toString()}`;
    const url = `${baseUrl}${path}${qs}`;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { authorization: await tokens.header() };
      if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
      try {
        return await http.request({ method, url, headers, mediaType: SCIM_MEDIA_TYPE, ...(options.json === undefined ? {} : { json: options.json }) });
      } catch (e) {
        // An OAuth token may be revoked or expire early: fetch a new one once.
        if (e instanceof ConnectorError && e.status === 401 && attempt === 0 && tokens.invalidate()) continue;
        if (e instanceof ConnectorError && e.status === 401) {
          throw new ConnectorError('permanent', 'auth_failed', `${e.message} — the token was refused; check the token (or client credentials) in the application's settings`, {
            status: 401,
            ...(e.targetMessage === undefined ? {} : { targetMessage: e.targetMessage }),
          });
        }
        throw e;
      }
    }
  }

  async function readFeatures(): Promise<ServiceProviderFeatures> {
    try {
      const res = await send('GET', '/ServiceProviderConfig');
      const b = (res.body ?? {}) as Record<string, unknown>;
      return { patch: asBool(b.patch), etag: asBool(b.etag), filter: asBool(b.filter) };
    } catch (e) {
      // A target without /ServiceProviderConfig gets the conservative reading: no PATCH, no ETags.
      if (e instanceof ConnectorError && (e.status === 404 || e.status === 501)) return { patch: false, etag: false, filter: true };
      throw e;
    }
  }

  async function discover(): Promise<{ mapping: ScimMapping; discovered: boolean }> {
    let schemas: Record<string, unknown>[];
    let types: Record<string, unknown>[];
    try {
      schemas = listResources((await send('GET', '/Schemas')).body);
      types = listResources((await send('GET', '/ResourceTypes')).body);
    } catch (e) {
      if (e instanceof ConnectorError && (e.status === 404 || e.status === 501)) {
        return { mapping: buildMapping(DEFAULT_USER_SCHEMA, [DEFAULT_ENTERPRISE_SCHEMA]), discovered: false };
      }
      throw e;
    }
    const byId = new Map(schemas.map((s) => [String(s.id), s as unknown as ScimSchemaDef]));
    const core = byId.get(CORE_USER_SCHEMA);
    if (core === undefined || !Array.isArray(core.attributes)) {
      return { mapping: buildMapping(DEFAULT_USER_SCHEMA, [DEFAULT_ENTERPRISE_SCHEMA]), discovered: false };
    }
    const userType = types.find((t) => t.schema === CORE_USER_SCHEMA || t.name === 'User');
    const extIds = Array.isArray(userType?.schemaExtensions)
      ? (userType.schemaExtensions as { schema?: unknown }[]).map((x) => String(x.schema))
      : [...byId.keys()].filter((id) => id === ENTERPRISE_USER_SCHEMA);
    const extensions = extIds.map((id) => byId.get(id)).filter((s): s is ScimSchemaDef => s !== undefined && Array.isArray(s.attributes));
    return { mapping: buildMapping(core, extensions), discovered: true };
  }

  function loadMapping(): Promise<{ mapping: ScimMapping; discovered: boolean }> {
    mapping ??= discover().catch((e: unknown) => {
      mapping = undefined;
      throw e;
    });
    return mapping;
  }

  return {
    baseUrl,
    send,
    features() {
      features ??= readFeatures().catch((e: unknown) => {
        features = undefined;
        throw e;
      });
      return features;
    },
    async mapping() {
      return (await loadMapping()).mapping;
    },
    async mappingDiscovered() {
      return (await loadMapping()).discovered;
    },
  };
}
