/** The `scim` connector kind: a SCIM 2.0 client (RFC 7643/7644) for Users and Groups. */
import type { Capabilities } from '../capabilities.ts';
import type { AccountItem, Connector, ConnectorKind, ConnectorOptions, EntitlementItem, ListOptions, Page, TestResult } from '../contract.ts';
import { valueTexts } from '../changes.ts';
import { assertEntitlementOperation } from '../entitlement-ops.ts';
import { changeMarkOf, parseChangeMark } from '../cursor.ts';
import { ConnectorError, secretScrubber } from '../errors.ts';
import { createHttpClient } from '../http.ts';
import { secretSettingNames, settingsOrThrow } from '../settings.ts';
import { applyScim } from './apply.ts';
import { createTokenSource } from '../oauth.ts';
import { createScimClient, scimErrorText } from './client.ts';
import type { ScimClient } from './client.ts';
import { accountAttributes, toAccount } from './mapping.ts';
import type { ScimResource } from './mapping.ts';
import { getResource, userIdOf } from './resources.ts';
import { CORE_GROUP_SCHEMA } from './scim-schema.ts';
import { scimSettingsSchema, toScimSettings } from './settings.ts';
import type { ScimSettings } from './settings.ts';

export const SCIM_CAPABILITIES: Capabilities = {
  operations: [
    'create_user',
    'disable_user',
    'enable_user',
    'delete_user',
    'create_group',
    'delete_group',
    'add_user_to_group',
    'remove_user_from_group',
    'add_user_to_role',
    'remove_user_from_role',
    'set_attributes',
    'set_password',
  ],
  // Suspend and Deactivate are both `active: false`; SCIM has no archive.
  deprovisioning: ['Suspend', 'Deactivate', 'Delete'],
  entitlementAttributes: { groups: 'group', roles: 'role' },
  passwordAttribute: 'password',
};

/** A cursor is the startIndex of the next page (RFC 7644 §3.4.2.4). */
function startIndexOf(cursor: string | null | undefined): number {
  if (cursor === undefined || cursor === null || cursor === '') return 1;
  if (!/^[1-9]\d{0,14}$/.test(cursor)) {
    throw new ConnectorError('permanent', 'invalid_request', `cursor '${cursor}' is not a SCIM listing position (a startIndex ≥ 1)`);
  }
  return Number(cursor);
}

interface ListPage {
  resources: ScimResource[];
  next: number | null;
}

async function fetchList(client: ScimClient, type: 'Users' | 'Groups', start: number, count: number, extra: Record<string, string>): Promise<ListPage> {
  const res = await client.send('GET', `/${type}`, { query: { ...extra, startIndex: String(start), count: String(count) } });
  const body = (res.body ?? {}) as { Resources?: unknown; totalResults?: unknown };
  const resources = Array.isArray(body.Resources) ? (body.Resources as ScimResource[]) : [];
  const total = typeof body.totalResults === 'number' ? body.totalResults : undefined;
  const next = start + resources.length;
  // A server may send fewer than asked mid-list (its own maximum), so totalResults decides the end.
  const done = resources.length === 0 || (total !== undefined && next > total) || (total === undefined && resources.length < count);
  return { resources, next: done ? null : next };
}

/**
 * Pages of a SCIM listing; the next page is requested while the caller handles this one, so
 * the target's latency overlaps the caller's work.
 */
async function* pages<T>(client: ScimClient, type: 'Users' | 'Groups', cursor: string | null | undefined, count: number, extra: Record<string, string>, map: (r: ScimResource) => T): AsyncGenerator<Page<T>> {
  const start = startIndexOf(cursor);
  const fetchPage = (s: number): Promise<ListPage> => {
    const p = fetchList(client, type, s, count, extra);
    // Handled when awaited; this only keeps an abandoned prefetch from being an unhandled rejection.
    p.catch(() => undefined);
    return p;
  };
  let pending = fetchPage(start);
  for (;;) {
    const page = await pending;
    if (page.next !== null) pending = fetchPage(page.next);
    yield { items: page.resources.map(map), nextCursor: page.next === null ? null : String(page.next) };
    if (page.next === null) return;
  }
}

/** The account with its change mark: the resource's meta.lastModified (RFC 7643 §3.1), when it has one. */
function withMark(account: AccountItem, r: ScimResource): AccountItem {
  const mark = changeMarkOf((r.meta as { lastModified?: unknown } | undefined)?.lastModified);
  return mark === undefined ? account : { ...account, changeMark: mark };
}

function testFailure(e: unknown, settings: ScimSettings, scrub: (t: string) => string): TestResult {
  if (!(e instanceof ConnectorError)) return { ok: false, message: scrub(String(e)), errorKind: 'retryable' };
  let message = e.message;
  if (e.status === 404) message = `${e.message} — is baseUrl (${settings.baseUrl}) the SCIM service root, the part before /Users?`;
  if (e.status === 403) message = `${e.message} — the credentials work but may not read Users; check the client's permissions on the target`;
  return { ok: false, message, errorKind: e.kind };
}

/** Builds a SCIM connector from checked settings (see ConnectorKind.create). */
export function createScimConnector(options: ConnectorOptions): Connector {
  const settings = toScimSettings(settingsOrThrow(scimSettingsSchema, options.settings, options.secrets));
  const scrub = secretScrubber([
    settings.auth.type === 'bearer' ? settings.auth.token : settings.auth.clientSecret,
    ...Object.values(options.secrets ?? {}),
  ]);
  const http = createHttpClient({
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    scrub,
    errorText: scimErrorText,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const client = createScimClient(settings.baseUrl, http, createTokenSource(settings.auth, http));
  const userQuery: Record<string, string> = settings.userFilter === undefined ? {} : { filter: settings.userFilter };

  return {
    kind: 'scim',
    capabilities: SCIM_CAPABILITIES,

    async schema() {
      const mapping = await client.mapping();
      return { account: { attributes: accountAttributes(mapping) }, entitlementKinds: ['group', ...(mapping.entitlementAttributes.roles ? (['role'] as const) : [])] };
    },

    async test() {
      try {
        const features = await client.features();
        const res = await client.send('GET', '/Users', { query: { ...userQuery, startIndex: '1', count: '1' } });
        const total = (res.body as { totalResults?: unknown } | undefined)?.totalResults;
        const discovered = await client.mappingDiscovered();
        const notes = [
          typeof total === 'number' ? `${total} users visible` : 'users readable',
          features.patch ? 'PATCH supported' : 'no PATCH: changes are sent with PUT',
          features.etag ? 'ETags honoured' : 'no ETags',
          discovered ? 'schema read from /Schemas' : 'no /Schemas: using the RFC 7643 User schema',
        ];
        return { ok: true, message: `connected to ${settings.baseUrl}: ${notes.join('; ')}` };
      } catch (e) {
        return testFailure(e, settings, scrub);
      }
    },

    async *listAccounts(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<AccountItem>> {
      const mapping = await client.mapping();
      yield* pages(client, 'Users', cursor, opts?.pageSize ?? settings.pageSize, userQuery, (r) => withMark(toAccount(r, mapping, settings.identityAttribute), r));
    },

    // RFC 7644 §3.4.2.2: `ge`, so a change in the same instant as the mark is read again, not missed.
    async *listAccountsChangedSince(since: string, cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<AccountItem>> {
      const mark = parseChangeMark(since).toISOString();
      const changed = `meta.lastModified ge "${mark}"`;
      const filter = settings.userFilter === undefined ? changed : `(${settings.userFilter}) and ${changed}`;
      const mapping = await client.mapping();
      yield* pages(client, 'Users', cursor, opts?.pageSize ?? settings.pageSize, { filter }, (r) => withMark(toAccount(r, mapping, settings.identityAttribute), r));
    },

    async *listEntitlements(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<EntitlementItem>> {
      // Members are left out: a group's member list can be far larger than the page.
      yield* pages(client, 'Groups', cursor, opts?.pageSize ?? settings.pageSize, { attributes: 'displayName' }, (r): EntitlementItem => ({
        kind: 'group',
        nativeValue: String(r.id as string),
        name: typeof r.displayName === 'string' ? r.displayName : String(r.id as string),
      }));
    },

    async getAccount(nativeIdentity) {
      const mapping = await client.mapping();
      const id = await userIdOf(client, nativeIdentity, settings.identityAttribute);
      if (id === null) return null;
      const found = await getResource(client, 'Users', id);
      return found === null ? null : toAccount(found.resource, mapping, settings.identityAttribute);
    },

    apply(request) {
      return applyScim({ client, settings, capabilities: SCIM_CAPABILITIES, scrub }, request);
    },

    async findAccount(request) {
      const userName = request.nativeIdentity ?? valueTexts(request.attributeRequests.find((a) => a.name === 'userName' && a.op !== 'Remove')?.value)[0];
      if (userName === undefined) return null;
      if (settings.identityAttribute === 'userName' || request.op !== 'Create') return this.getAccount(userName);
      const mapping = await client.mapping();
      const id = await userIdOf(client, userName, 'userName');
      if (id === null) return null;
      const found = await getResource(client, 'Users', id);
      return found === null ? null : toAccount(found.resource, mapping, settings.identityAttribute);
    },

    // Groups are SCIM Group resources; roles are values of a User's `roles`, with no resource to make.
    async createEntitlement(kind, entitlement) {
      assertEntitlementOperation('scim', SCIM_CAPABILITIES, 'create', kind);
      // The service provider assigns the id (the native value); extra attributes (externalId…) go in as given.
      const extra = Object.fromEntries(Object.entries(entitlement.attributes ?? {}).filter(([k]) => !['schemas', 'id', 'meta', 'members', 'displayName'].includes(k)));
      const res = await client.send('POST', '/Groups', { json: { schemas: [CORE_GROUP_SCHEMA], ...extra, displayName: entitlement.name, members: [] } });
      const made = (res.body ?? {}) as ScimResource;
      if (typeof made.id !== 'string' || made.id === '') throw new ConnectorError('permanent', 'target_error', `POST /Groups answered ${res.status} without the new Group's id`);
      return { kind: 'group', nativeValue: made.id, name: typeof made.displayName === 'string' ? made.displayName : entitlement.name };
    },

    async deleteEntitlement(kind, nativeValue) {
      assertEntitlementOperation('scim', SCIM_CAPABILITIES, 'delete', kind);
      try {
        await client.send('DELETE', `/Groups/${encodeURIComponent(nativeValue)}`);
        return 'deleted';
      } catch (e) {
        if (e instanceof ConnectorError && e.status === 404) return 'absent';
        throw e;
      }
    },

    async close() {
      // Node's fetch pools its connections globally; nothing of ours to release.
    },
  };
}

export const scimKind: ConnectorKind = {
  name: 'scim',
  description: 'A SCIM 2.0 service provider (RFC 7643/7644): Users and Groups.',
  settingsSchema: scimSettingsSchema,
  secretSettings: secretSettingNames(scimSettingsSchema),
  create: createScimConnector,
};
