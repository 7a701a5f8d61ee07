/** The settings of the `rest` connector kind: JSON Schema, and the typed form the connector uses. */
import type { AttributeSchema, EntitlementKind } from '../../domain/schema.ts';
import { ATTRIBUTE_TYPES, ENTITLEMENT_KINDS } from '../../domain/schema.ts';
import type { Operation } from '../capabilities.ts';
import type { JsonSchema } from '../contract.ts';
import type { BearerAuth } from '../oauth.ts';

/** Operations with a fixed meaning, by setting name, and the capability each gives. */
export const WRITE_OPERATIONS = {
  createUser: 'create_user',
  updateUser: 'set_attributes',
  deleteUser: 'delete_user',
  disableUser: 'disable_user',
  enableUser: 'enable_user',
  addUserToGroup: 'add_user_to_group',
  removeUserFromGroup: 'remove_user_from_group',
  addUserToRole: 'add_user_to_role',
  removeUserFromRole: 'remove_user_from_role',
  addUserToEntity: 'add_user_to_entity',
  removeUserFromEntity: 'remove_user_from_entity',
  allocateLicense: 'allocate_license',
  releaseLicense: 'release_license',
  createGroup: 'create_group',
  deleteGroup: 'delete_group',
  createRole: 'create_role',
  deleteRole: 'delete_role',
  createEntity: 'create_entity',
  deleteEntity: 'delete_entity',
} as const satisfies Record<string, Operation>;
export type WriteOperationName = keyof typeof WRITE_OPERATIONS;
export const READ_OPERATIONS = ['listAccounts', 'getAccount', 'listEntitlements'] as const;
export type ReadOperationName = (typeof READ_OPERATIONS)[number];
export type OperationName = WriteOperationName | ReadOperationName;

/** The operations that make and remove an entitlement of each kind (create, delete). */
export const ENTITLEMENT_SETTINGS: Record<'group' | 'role' | 'entity', [WriteOperationName, WriteOperationName]> = {
  group: ['createGroup', 'deleteGroup'],
  role: ['createRole', 'deleteRole'],
  entity: ['createEntity', 'deleteEntity'],
};

/** The membership operations of each entitlement kind (add, remove). */
export const MEMBERSHIP_SETTINGS: Partial<Record<EntitlementKind, [WriteOperationName, WriteOperationName]>> = {
  group: ['addUserToGroup', 'removeUserFromGroup'],
  role: ['addUserToRole', 'removeUserFromRole'],
  entity: ['addUserToEntity', 'removeUserFromEntity'],
  license: ['allocateLicense', 'releaseLicense'],
};

const operationSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['method', 'url'],
  properties: {
    method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    url: { type: 'string', pattern: '^/', description: 'A path under baseUrl, with {{…}} placeholders (each value is percent-encoded).' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra headers; values may hold placeholders.' },
    body: { description: 'A JSON template: a string that is exactly one placeholder takes its value (list, number, object).' },
    items: { type: 'string', description: 'Listings: JSON Pointer or dotted path to the items array (empty: the body is the array).' },
    nativeIdentity: { type: 'string', description: 'createUser: path to the new account’s nativeIdentity in the answer (default accountMapping.nativeIdentity).' },
    account: { type: 'string', description: 'getAccount: path to the account object in the answer (default: the body).' },
    nativeValue: { type: 'string', description: 'createGroup/Role/Entity: path to the new entitlement’s native value in the answer (default entitlementMapping.nativeValue).' },
  },
};

export const restSettingsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl', 'operations', 'accountMapping'],
  properties: {
    baseUrl: { type: 'string', pattern: '^https?://', description: 'The API root; every operation’s url is a path under it, and credentials go nowhere else.' },
    auth: { enum: ['none', 'bearer', 'basic', 'api_key', 'oauth2_client_credentials'], default: 'bearer', description: 'How Steward authenticates.' },
    token: { type: 'string', minLength: 1, writeOnly: true, description: 'The bearer token (auth = bearer).' },
    username: { type: 'string', minLength: 1, description: 'The user name (auth = basic).' },
    password: { type: 'string', minLength: 1, writeOnly: true, description: 'The password (auth = basic).' },
    apiKey: { type: 'string', minLength: 1, writeOnly: true, description: 'The API key (auth = api_key).' },
    apiKeyIn: { enum: ['header', 'query'], default: 'header', description: 'Where the API key goes.' },
    apiKeyName: { type: 'string', minLength: 1, default: 'X-API-Key', description: 'The header or query parameter that carries the API key.' },
    tokenUrl: { type: 'string', pattern: '^https?://', description: 'The OAuth 2.0 token endpoint (auth = oauth2_client_credentials).' },
    clientId: { type: 'string', minLength: 1, description: 'The OAuth 2.0 client id.' },
    clientSecret: { type: 'string', minLength: 1, writeOnly: true, description: 'The OAuth 2.0 client secret.' },
    scope: { type: 'string', description: 'The OAuth 2.0 scope to ask for.' },
    clientAuth: { enum: ['basic', 'body'], default: 'basic', description: 'How the client id and secret reach the token endpoint.' },
    operations: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries([...READ_OPERATIONS, ...Object.keys(WRITE_OPERATIONS)].map((n) => [n, operationSchema])),
      description: 'The operations the target offers; the connector’s capabilities are the ones given.',
    },
    endpoints: { type: 'object', additionalProperties: operationSchema, description: 'Named extra calls ({provider}_api_{endpoint}, {provider}_webhook_{endpoint}), run by callEndpoint(name, context).' },
    accountMapping: {
      type: 'object',
      additionalProperties: false,
      required: ['nativeIdentity'],
      properties: {
        nativeIdentity: { type: 'string', description: 'Path to the account’s identity in an account object.' },
        attributes: { type: 'object', additionalProperties: { type: 'string' }, description: 'Attribute name → path in an account object.' },
        enabled: { type: 'string', description: 'Path to the enabled flag; absent means always enabled.' },
        enabledValues: { type: 'array', items: { type: 'string' }, default: ['true', 'active', 'enabled'], description: 'Values of a text flag that mean enabled.' },
        entitlements: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['path', 'kind'],
            properties: { path: { type: 'string' }, kind: { enum: [...ENTITLEMENT_KINDS] }, value: { type: 'string', description: 'Path to the native value in each item, when items are objects.' } },
          },
          description: 'Entitlement attribute name (groups) → where its values are and their kind.',
        },
      },
    },
    entitlementMapping: {
      type: 'object',
      additionalProperties: false,
      properties: {
        kind: { enum: [...ENTITLEMENT_KINDS], default: 'group' },
        nativeValue: { type: 'string', default: 'id' },
        name: { type: 'string', default: 'name' },
        description: { type: 'string' },
      },
      default: {},
      description: 'How listEntitlements items become entitlements.',
    },
    attributes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: { type: 'string' }, type: { enum: [...ATTRIBUTE_TYPES], default: 'string' }, multiValued: { type: 'boolean', default: false }, required: { type: 'boolean' }, description: { type: 'string' } },
      },
      default: [],
      description: 'The account schema (REST has no discovery); mapped attributes not listed are single-valued strings.',
    },
    pagination: {
      type: 'object',
      additionalProperties: false,
      properties: {
        style: { enum: ['none', 'page', 'offset', 'cursor', 'link'], default: 'none' },
        pageParam: { type: 'string', default: 'page' },
        firstPage: { type: 'integer', minimum: 0, default: 1 },
        offsetParam: { type: 'string', default: 'offset' },
        sizeParam: { type: 'string', default: 'per_page' },
        cursorParam: { type: 'string', default: 'cursor' },
        nextCursor: { type: 'string', default: 'next_cursor', description: 'cursor style: path to the next cursor in the body (absent or null on the last page).' },
      },
      default: {},
    },
    pageSize: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 30000 },
    retries: { type: 'integer', minimum: 0, maximum: 5, default: 2 },
  },
  allOf: [
    { if: { properties: { auth: { const: 'bearer' } } }, then: { required: ['token'] } },
    { if: { properties: { auth: { const: 'basic' } }, required: ['auth'] }, then: { required: ['username', 'password'] } },
    { if: { properties: { auth: { const: 'api_key' } }, required: ['auth'] }, then: { required: ['apiKey'] } },
    { if: { properties: { auth: { const: 'oauth2_client_credentials' } }, required: ['auth'] }, then: { required: ['tokenUrl', 'clientId', 'clientSecret'] } },
  ],
};

export interface OperationSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  items?: string;
  nativeIdentity?: string;
  account?: string;
  nativeValue?: string;
}

export type RestAuth = { type: 'none' } | { type: 'basic'; username: string; password: string } | { type: 'api_key'; key: string; in: 'header' | 'query'; name: string } | BearerAuth;

export interface RestSettings {
  baseUrl: string;
  auth: RestAuth;
  operations: Partial<Record<OperationName, OperationSpec>>;
  endpoints: Record<string, OperationSpec>;
  accountMapping: {
    nativeIdentity: string;
    attributes: Record<string, string>;
    enabled?: string;
    enabledValues: string[];
    entitlements: Record<string, { path: string; kind: EntitlementKind; value?: string }>;
  };
  entitlementMapping: { kind: EntitlementKind; nativeValue: string; name: string; description?: string };
  attributes: AttributeSchema[];
  pagination: { style: 'none' | 'page' | 'offset' | 'cursor' | 'link'; pageParam: string; firstPage: number; offsetParam: string; sizeParam: string; cursorParam: string; nextCursor: string };
  pageSize: number;
  timeoutMs: number;
  retries: number;
  /** The settings that templates may name as {{settings.NAME}}: the plain ones, never a secret. */
  plain: Record<string, unknown>;
}

const SECRET = new Set(['token', 'password', 'apiKey', 'clientSecret']);

/** The typed settings from settings already checked against restSettingsSchema (defaults applied). */
export function toRestSettings(s: Record<string, unknown>): RestSettings {
  const str = (k: string): string => s[k] as string;
  let auth: RestAuth;
  switch (s.auth) {
    case 'none':
      auth = { type: 'none' };
      break;
    case 'basic':
      auth = { type: 'basic', username: str('username'), password: str('password') };
      break;
    case 'api_key':
      auth = { type: 'api_key', key: str('apiKey'), in: s.apiKeyIn as 'header' | 'query', name: str('apiKeyName') };
      break;
    case 'oauth2_client_credentials':
      auth = { type: 'oauth2_client_credentials', tokenUrl: str('tokenUrl'), clientId: str('clientId'), clientSecret: str('clientSecret'), ...(typeof s.scope === 'string' ? { scope: s.scope } : {}), clientAuth: s.clientAuth as 'basic' | 'body' };
      break;
    default:
      auth = { type: 'bearer', token: str('token') };
  }
  const am = s.accountMapping as RestSettings['accountMapping'];
  return {
    baseUrl: str('baseUrl').replace(/\/+$/, ''),
    auth,
    operations: s.operations as RestSettings['operations'],
    endpoints: (s.endpoints ?? {}) as Record<string, OperationSpec>,
    accountMapping: { ...am, attributes: am.attributes ?? {}, entitlements: am.entitlements ?? {} },
    entitlementMapping: s.entitlementMapping as RestSettings['entitlementMapping'],
    attributes: (s.attributes as AttributeSchema[]).map((a) => ({ ...a })),
    pagination: s.pagination as RestSettings['pagination'],
    pageSize: s.pageSize as number,
    timeoutMs: s.timeoutMs as number,
    retries: s.retries as number,
    plain: Object.fromEntries(Object.entries(s).filter(([k, v]) => !SECRET.has(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))),
  };
}
