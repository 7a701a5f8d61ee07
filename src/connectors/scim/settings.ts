/** The settings of the `scim` connector kind: JSON Schema, and the typed form the connector uses. */
import type { JsonSchema } from '../contract.ts';
import type { BearerAuth } from '../oauth.ts';

export const scimSettingsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl'],
  properties: {
    baseUrl: { type: 'string', pattern: '^https?://', description: 'The SCIM service root, e.g. https://example.com/scim/v2 (the part before /Users).' },
    auth: { enum: ['bearer', 'oauth2_client_credentials'], default: 'bearer', description: 'How Steward authenticates: a fixed bearer token, or OAuth 2.0 client credentials.' },
    token: { type: 'string', minLength: 1, writeOnly: true, description: 'The bearer token (auth = bearer).' },
    tokenUrl: { type: 'string', pattern: '^https?://', description: 'The OAuth 2.0 token endpoint (auth = oauth2_client_credentials).' },
    clientId: { type: 'string', minLength: 1, description: 'The OAuth 2.0 client id.' },
    clientSecret: { type: 'string', minLength: 1, writeOnly: true, description: 'The OAuth 2.0 client secret.' },
    scope: { type: 'string', description: 'The OAuth 2.0 scope to ask for, if the token endpoint needs one.' },
    clientAuth: { enum: ['basic', 'body'], default: 'basic', description: 'How the client id and secret are sent to the token endpoint: HTTP Basic, or in the form body.' },
    identityAttribute: { enum: ['id', 'userName'], default: 'id', description: 'What an account’s nativeIdentity is: the SCIM resource id (stable) or the userName.' },
    patch: { enum: ['auto', 'always', 'never'], default: 'auto', description: 'Use PATCH (auto: when /ServiceProviderConfig says it is supported), or always PUT the whole resource.' },
    pageSize: { type: 'integer', minimum: 1, maximum: 10000, default: 200, description: 'Resources asked for per page when listing (the server may send fewer).' },
    userFilter: { type: 'string', minLength: 1, description: 'A SCIM filter limiting which Users are accounts of this application, e.g. userType eq "Employee".' },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 30000, description: 'Timeout of each HTTP call, in milliseconds.' },
    retries: { type: 'integer', minimum: 0, maximum: 5, default: 2, description: 'In-call retries of 429/503/network failures before the error goes to the job queue.' },
  },
  allOf: [
    { if: { properties: { auth: { const: 'bearer' } } }, then: { required: ['token'] } },
    { if: { properties: { auth: { const: 'oauth2_client_credentials' } }, required: ['auth'] }, then: { required: ['tokenUrl', 'clientId', 'clientSecret'] } },
  ],
};

export interface ScimSettings {
  baseUrl: string;
  auth: BearerAuth;
  identityAttribute: 'id' | 'userName';
  patch: 'auto' | 'always' | 'never';
  pageSize: number;
  userFilter?: string;
  timeoutMs: number;
  retries: number;
}

/** The typed settings from settings already checked against scimSettingsSchema (defaults applied). */
export function toScimSettings(s: Record<string, unknown>): ScimSettings {
  const str = (k: string): string => s[k] as string;
  const auth: ScimSettings['auth'] =
    s.auth === 'oauth2_client_credentials'
      ? {
          type: 'oauth2_client_credentials',
          tokenUrl: str('tokenUrl'),
          clientId: str('clientId'),
          clientSecret: str('clientSecret'),
          ...(typeof s.scope === 'string' ? { scope: s.scope } : {}),
          clientAuth: s.clientAuth as 'basic' | 'body',
        }
      : { type: 'bearer', token: str('token') };
  return {
    baseUrl: str('baseUrl').replace(/\/+$/, ''),
    auth,
    identityAttribute: s.identityAttribute as 'id' | 'userName',
    patch: s.patch as 'auto' | 'always' | 'never',
    pageSize: s.pageSize as number,
    ...(typeof s.userFilter === 'string' ? { userFilter: s.userFilter } : {}),
    timeoutMs: s.timeoutMs as number,
    retries: s.retries as number,
  };
}
