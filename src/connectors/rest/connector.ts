/** The `rest` connector kind: a declarative HTTP connector, configured by settings, not code. */
import type { Problem } from '../../domain/result.ts';
import type { Capabilities, DeprovisioningAction, Operation } from '../capabilities.ts';
import type { AccountItem, Connector, ConnectorKind, ConnectorOptions, EntitlementItem, ListOptions, Page } from '../contract.ts';
import { assertEntitlementOperation } from '../entitlement-ops.ts';
import { ConnectorError, refused, secretScrubber } from '../errors.ts';
import { createHttpClient } from '../http.ts';
import type { HttpResponse } from '../http.ts';
import { createTokenSource } from '../oauth.ts';
import { secretSettingNames, settingsOrThrow } from '../settings.ts';
import { applyRest } from './apply.ts';
import { createRestClient } from './client.ts';
import { accountSchema, toAccount, toEntitlement } from './mapping.ts';
import { listPages } from './pages.ts';
import { readPath } from './path.ts';
import { ENTITLEMENT_SETTINGS, WRITE_OPERATIONS, restSettingsSchema, toRestSettings } from './settings.ts';
import type { OperationName, OperationSpec, RestSettings } from './settings.ts';
import { checkTemplate } from './template.ts';
import type { PlaceholderScope } from './template.ts';

/** The placeholders each operation offers; `settings.NAME` (plain settings only) everywhere. */
const SCOPES: Record<OperationName | 'endpoint', PlaceholderScope> = {
  listAccounts: { values: [], objects: ['settings'] },
  listEntitlements: { values: [], objects: ['settings'] },
  getAccount: { values: ['nativeIdentity'], objects: ['settings'] },
  createUser: { values: ['nativeIdentity'], objects: ['attributes', 'settings'] },
  updateUser: { values: ['nativeIdentity'], objects: ['attributes', 'settings'] },
  deleteUser: { values: ['nativeIdentity'], objects: ['settings'] },
  disableUser: { values: ['nativeIdentity'], objects: ['settings'] },
  enableUser: { values: ['nativeIdentity'], objects: ['settings'] },
  addUserToGroup: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  removeUserFromGroup: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  addUserToRole: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  removeUserFromRole: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  addUserToEntity: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  removeUserFromEntity: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  allocateLicense: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  releaseLicense: { values: ['nativeIdentity', 'entitlement'], objects: ['settings'] },
  createGroup: { values: ['name', 'nativeValue', 'description'], objects: ['attributes', 'settings'] },
  deleteGroup: { values: ['nativeValue'], objects: ['settings'] },
  createRole: { values: ['name', 'nativeValue', 'description'], objects: ['attributes', 'settings'] },
  deleteRole: { values: ['nativeValue'], objects: ['settings'] },
  createEntity: { values: ['name', 'nativeValue', 'description'], objects: ['attributes', 'settings'] },
  deleteEntity: { values: ['nativeValue'], objects: ['settings'] },
  endpoint: { values: ['nativeIdentity', 'entitlement'], objects: ['attributes', 'params', 'settings'] },
};

function templateProblems(settings: RestSettings): Problem[] {
  const check = (spec: OperationSpec, scope: PlaceholderScope, at: string): Problem[] => [
    ...checkTemplate(spec.url, scope, `${at}.url`),
    ...checkTemplate(spec.headers ?? {}, scope, `${at}.headers`),
    ...checkTemplate(spec.body ?? null, scope, `${at}.body`),
  ];
  const problems: Problem[] = [];
  for (const [name, spec] of Object.entries(settings.operations) as [OperationName, OperationSpec][]) problems.push(...check(spec, SCOPES[name], `operations.${name}`));
  for (const [name, spec] of Object.entries(settings.endpoints)) problems.push(...check(spec, SCOPES.endpoint, `endpoints.${name}`));
  if (settings.pagination.style !== 'none' && settings.operations.listAccounts === undefined && settings.operations.listEntitlements === undefined) {
    problems.push({ code: 'connector.invalid_settings', field: 'pagination', message: 'is set, but neither listAccounts nor listEntitlements is configured' });
  }
  return problems.map((p) => ({ ...p, code: 'connector.invalid_settings' }));
}

/** The capabilities are the operations configured. */
export function restCapabilities(settings: RestSettings): Capabilities {
  const operations: Operation[] = [];
  for (const [name, op] of Object.entries(WRITE_OPERATIONS) as [keyof typeof WRITE_OPERATIONS, Operation][]) if (settings.operations[name] !== undefined) operations.push(op);
  const deprovisioning: DeprovisioningAction[] = [];
  if (operations.includes('disable_user')) deprovisioning.push('Suspend', 'Deactivate');
  if (operations.includes('delete_user')) deprovisioning.push('Delete');
  return { operations, deprovisioning, entitlementAttributes: Object.fromEntries(Object.entries(settings.accountMapping.entitlements).map(([n, e]) => [n, e.kind])) };
}

/** A REST connector, with `callEndpoint` for the named extra endpoints. */
export interface RestConnector extends Connector {
  /** Calls a named endpoint (`{provider}_api_{endpoint}`) with the given context; resolves with the answer. */
  callEndpoint(name: string, context?: { nativeIdentity?: string; entitlement?: string; attributes?: Record<string, unknown>; params?: Record<string, unknown> }): Promise<{ status: number; body: unknown }>;
}

/** Builds a REST connector from checked settings (see ConnectorKind.create). */
export function createRestConnector(options: ConnectorOptions): RestConnector {
  const settings = toRestSettings(settingsOrThrow(restSettingsSchema, options.settings, options.secrets));
  const problems = templateProblems(settings);
  if (problems.length > 0) throw refused('invalid_settings', problems);
  const scrub = secretScrubber(Object.values(options.secrets ?? {}));
  const http = createHttpClient({
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    scrub,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const tokens = settings.auth.type === 'bearer' || settings.auth.type === 'oauth2_client_credentials' ? createTokenSource(settings.auth, http) : undefined;
  const client = createRestClient(settings.baseUrl, settings.auth, http, tokens);
  const capabilities = restCapabilities(settings);
  const ops = settings.operations;

  function needed(name: OperationName): OperationSpec {
    const spec = ops[name];
    if (spec === undefined) throw new ConnectorError('permanent', 'unsupported', `the rest connector has no ${name} operation configured`);
    return spec;
  }

  async function getAccount(nativeIdentity: string): Promise<AccountItem | null> {
    const spec = needed('getAccount');
    let res: HttpResponse;
    try {
      res = await client.call(spec, { nativeIdentity, settings: settings.plain });
    } catch (e) {
      if (e instanceof ConnectorError && e.status === 404) return null;
      throw e;
    }
    return toAccount(readPath(res.body, spec.account ?? ''), settings) ?? null;
  }

  return {
    kind: 'rest',
    capabilities,

    async schema() {
      const kinds = new Set(Object.values(settings.accountMapping.entitlements).map((e) => e.kind));
      if (ops.listEntitlements !== undefined) kinds.add(settings.entitlementMapping.kind);
      return { account: { attributes: accountSchema(settings) }, entitlementKinds: [...kinds] };
    },

    async test() {
      const spec = ops.listAccounts ?? ops.listEntitlements;
      if (spec === undefined) return { ok: true, message: `settings are valid; no listAccounts or listEntitlements operation to call ${settings.baseUrl} with` };
      try {
        const name = ops.listAccounts ? 'listAccounts' : 'listEntitlements';
        const first = await listPages(client, settings, spec, name, null, 1, (x) => x).next();
        const n = first.done === true ? 0 : first.value.items.length;
        return { ok: true, message: `connected to ${settings.baseUrl}: ${name} answered (${n === 0 ? 'no items' : 'items readable'}); ${capabilities.operations.length} operations configured` };
      } catch (e) {
        if (!(e instanceof ConnectorError)) return { ok: false, message: scrub(String(e)), errorKind: 'retryable' };
        const hint = e.status === 404 ? ` — is baseUrl (${settings.baseUrl}) the API root, and the operation's url right?` : e.status === 403 ? ' — the credentials work but may not list; check their permissions on the target' : '';
        return { ok: false, message: `${e.message}${hint}`, errorKind: e.kind };
      }
    },

    async *listAccounts(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<AccountItem>> {
      yield* listPages(client, settings, needed('listAccounts'), 'listAccounts', cursor, opts?.pageSize ?? settings.pageSize, (x) => toAccount(x, settings));
    },

    async *listEntitlements(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<EntitlementItem>> {
      yield* listPages(client, settings, needed('listEntitlements'), 'listEntitlements', cursor, opts?.pageSize ?? settings.pageSize, (x) => toEntitlement(x, settings));
    },

    getAccount,

    apply(request) {
      return applyRest({ client, settings, capabilities, getAccount }, request);
    },

    // Whatever createGroup/Role/Entity and deleteGroup/Role/Entity are configured (each gives its capability).
    async createEntitlement(kind, entitlement) {
      assertEntitlementOperation('rest', capabilities, 'create', kind);
      const spec = needed(ENTITLEMENT_SETTINGS[kind][0]);
      const res = await client.call(spec, {
        name: entitlement.name,
        nativeValue: entitlement.nativeValue ?? null,
        description: entitlement.description ?? null,
        attributes: entitlement.attributes ?? {},
        settings: settings.plain,
      });
      const path = spec.nativeValue ?? settings.entitlementMapping.nativeValue;
      const got = readPath(res.body, path);
      const nativeValue = typeof got === 'string' || typeof got === 'number' ? String(got) : entitlement.nativeValue;
      if (nativeValue === undefined || nativeValue === '') throw new ConnectorError('permanent', 'target_error', `${ENTITLEMENT_SETTINGS[kind][0]}: the answer has no native value at '${path}'`);
      return { kind, nativeValue, name: entitlement.name, ...(entitlement.description === undefined ? {} : { description: entitlement.description }) };
    },

    async deleteEntitlement(kind, nativeValue) {
      assertEntitlementOperation('rest', capabilities, 'delete', kind);
      try {
        await client.call(needed(ENTITLEMENT_SETTINGS[kind][1]), { nativeValue, settings: settings.plain });
        return 'deleted';
      } catch (e) {
        if (e instanceof ConnectorError && e.status === 404) return 'absent';
        throw e;
      }
    },

    async callEndpoint(name, context = {}) {
      const spec = settings.endpoints[name];
      if (spec === undefined) {
        const known = Object.keys(settings.endpoints);
        throw new ConnectorError('permanent', 'unsupported', `no endpoint named '${name}' is configured${known.length > 0 ? ` (there are ${known.join(', ')})` : ''}`);
      }
      const res = await client.call(spec, { ...context, settings: settings.plain });
      return { status: res.status, body: res.body };
    },

    async close() {
      // Node's fetch pools its connections globally; nothing of ours to release.
    },
  };
}

export const restKind: ConnectorKind = {
  name: 'rest',
  description: 'Any HTTP JSON API, described by settings: one method, URL template, body template and response mapping per operation.',
  settingsSchema: restSettingsSchema,
  secretSettings: secretSettingNames(restSettingsSchema),
  create: createRestConnector,
};
