// A SCIM client over inject(): bodies sent as application/scim+json, as Okta and Entra send them.
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const STEWARD_USER = 'urn:ietf:params:scim:schemas:extension:steward:2.0:User';
export const STEWARD_GROUP = 'urn:ietf:params:scim:schemas:extension:steward:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A SCIM User as the API answers it, for tests. */
export interface ScimUser {
  id: string;
  userName: string;
  externalId?: string;
  active: boolean;
  title?: string;
  name?: { givenName?: string; familyName?: string };
  emails?: { value: string; type?: string; primary?: boolean }[];
  groups?: { value: string; display: string; $ref: string }[];
  meta: { resourceType: string; created: string; lastModified: string; location: string; version: string };
  schemas: string[];
  [k: string]: unknown;
}

export interface ScimClient {
  get(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  post(url: string, body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  put(url: string, body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  patch(url: string, body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  del(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

/** Calls the app as a SCIM client holding `token`. */
export function scimClient(t: TestApp, token: string, contentType = 'application/scim+json; charset=utf-8'): ScimClient {
  const send = (method: string, url: string, body: unknown, headers: Record<string, string> = {}) =>
    t.call(token, method, url, body === undefined ? undefined : JSON.stringify(body), { ...(body === undefined ? {} : { 'content-type': contentType }), accept: 'application/scim+json', ...headers });
  return {
    get: (url, h) => send('GET', url, undefined, h),
    post: (url, b, h) => send('POST', url, b, h),
    put: (url, b, h) => send('PUT', url, b, h),
    patch: (url, b, h) => send('PATCH', url, b, h),
    del: (url, h) => send('DELETE', url, undefined, h),
  };
}

/** A PatchOp message of these operations. */
export const patchOp = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH_OP], Operations });

/** A filter as a query string value. */
export const q = (filter: string) => encodeURIComponent(filter);
