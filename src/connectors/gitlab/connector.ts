/** The `gitlab` connector kind: GitLab users and groups through the REST API v4, with @gitbeaker. */
import type { Capabilities } from '../capabilities.ts';
import type { AccountItem, Connector, ConnectorKind, ConnectorOptions, EntitlementItem, ListOptions, Page } from '../contract.ts';
import { assertEntitlementOperation } from '../entitlement-ops.ts';
import { ConnectorError, secretScrubber } from '../errors.ts';
import { createHttpClient } from '../http.ts';
import { secretSettingNames, settingsOrThrow } from '../settings.ts';
import { createGitlabApi } from './api.ts';
import type { GitlabApi, GitlabPage } from './api.ts';
import { applyGitlab } from './apply.ts';
import { GITLAB_ATTRIBUTES, toAccount } from './mapping.ts';
import { gitlabErrorText } from './requester.ts';
import { gitlabSettingsSchema, toGitlabSettings } from './settings.ts';

export const GITLAB_CAPABILITIES: Capabilities = {
  operations: ['create_user', 'disable_user', 'enable_user', 'delete_user', 'create_group', 'delete_group', 'add_user_to_group', 'remove_user_from_group', 'set_attributes', 'set_password'],
  // Block is GitLab's suspension; it has no archive.
  deprovisioning: ['Suspend', 'Deactivate', 'Delete'],
  entitlementAttributes: { groups: 'group' },
  passwordAttribute: 'password',
};

/** Reading several accounts' memberships at once, but not so many that GitLab rate-limits us. */
const MEMBERSHIP_CONCURRENCY = 4;

/** A GitLab connector: the contract's connector (groups are made and removed with createEntitlement and deleteEntitlement). */
export type GitlabConnector = Connector;

/** A group path from a name when none is given: GitLab's path characters only. */
export function groupPath(name: string): string {
  const path = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return path === '' ? 'group' : path;
}

function pageNumber(cursor: string | null | undefined): number {
  if (cursor === undefined || cursor === null || cursor === '') return 1;
  if (!/^[1-9]\d{0,8}$/.test(cursor)) throw new ConnectorError('permanent', 'invalid_request', `cursor '${cursor.slice(0, 40)}' is not a GitLab page number`);
  return Number(cursor);
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function* pages<T, R>(fetchPage: (p: number) => Promise<GitlabPage<T>>, cursor: string | null | undefined, map: (items: T[]) => Promise<R[]>): AsyncGenerator<Page<R>> {
  let p = pageNumber(cursor);
  for (;;) {
    const got = await fetchPage(p);
    // x-next-page is empty on the last page (and GitLab leaves it out past 10,000 rows; a full page then asks once more).
    const next = got.next ?? (got.total === null && got.items.length > 0 ? p + 1 : null);
    yield { items: await map(got.items), nextCursor: next === null ? null : String(next) };
    if (next === null) return;
    p = next;
  }
}

/** Builds a GitLab connector from checked settings (see ConnectorKind.create). */
export function createGitlabConnector(options: ConnectorOptions): GitlabConnector {
  const settings = toGitlabSettings(settingsOrThrow(gitlabSettingsSchema, options.settings, options.secrets));
  const scrub = secretScrubber([settings.token, ...Object.values(options.secrets ?? {})]);
  const http = createHttpClient({
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    scrub,
    errorText: gitlabErrorText,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const api: GitlabApi = createGitlabApi(settings.baseUrl, settings.token, http);

  async function withLists(u: Parameters<typeof toAccount>[0]): Promise<AccountItem> {
    const [emails, groups] = await Promise.all([api.emails(String(u.id)), api.groupMemberships(String(u.id))]);
    return toAccount(u, { emails: emails.map((e) => e.email), groups: groups.map((g) => String(g.source_id)) });
  }

  async function getAccount(nativeIdentity: string): Promise<AccountItem | null> {
    if (!/^\d+$/.test(nativeIdentity)) return null;
    try {
      return await withLists(await api.user(nativeIdentity));
    } catch (e) {
      if (e instanceof ConnectorError && e.status === 404) return null;
      throw e;
    }
  }

  return {
    kind: 'gitlab',
    capabilities: GITLAB_CAPABILITIES,

    async schema() {
      return { account: { attributes: GITLAB_ATTRIBUTES.map((a) => ({ ...a })) }, entitlementKinds: ['group'] };
    },

    async test() {
      try {
        const me = await api.currentUser();
        const first = await api.users(1, 1);
        if (me.is_admin !== true) {
          return { ok: false, errorKind: 'permanent', message: `connected to ${settings.baseUrl} as @${me.username}, who is not an administrator: GitLab lets only administrators create, block and delete users — use an administrator's token` };
        }
        return { ok: true, message: `connected to ${settings.baseUrl} as @${me.username} (administrator); ${first.total === null ? 'users readable' : `${first.total} users`}; new group members get access level ${settings.accessLevel}` };
      } catch (e) {
        if (!(e instanceof ConnectorError)) return { ok: false, message: scrub(String(e)), errorKind: 'retryable' };
        let message = e.message;
        if (e.status === 401) message = `${e.message} — GitLab refused the token; check that it is valid, not expired, and has the api scope`;
        if (e.status === 403) message = `${e.message} — the token works but may not do this; it needs the api scope and an administrator`;
        if (e.status === 404) message = `${e.message} — is baseUrl (${settings.baseUrl}) the GitLab instance, the part before /api/v4?`;
        return { ok: false, message, errorKind: e.kind };
      }
    },

    async *listAccounts(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<AccountItem>> {
      const size = Math.min(opts?.pageSize ?? settings.pageSize, 100);
      yield* pages((p) => api.users(p, size), cursor, (users) => (settings.memberships ? mapLimited(users, MEMBERSHIP_CONCURRENCY, withLists) : Promise.resolve(users.map((u) => toAccount(u)))));
    },

    async *listEntitlements(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<EntitlementItem>> {
      const size = Math.min(opts?.pageSize ?? settings.pageSize, 100);
      yield* pages((p) => api.groups(p, size), cursor, async (groups) =>
        groups.map((g) => ({ kind: 'group' as const, nativeValue: String(g.id), name: g.name, ...(g.description ? { description: g.description } : {}) })),
      );
    },

    getAccount,

    apply(request) {
      return applyGitlab({ api, settings, capabilities: GITLAB_CAPABILITIES, getAccount }, request);
    },

    // Groups only (GitLab has no roles or entities to make; access levels are per membership).
    async createEntitlement(kind, entitlement) {
      assertEntitlementOperation('gitlab', GITLAB_CAPABILITIES, 'create', kind);
      const a = entitlement.attributes ?? {};
      const path = typeof a.path === 'string' && a.path !== '' ? a.path : groupPath(entitlement.name);
      const parentId = typeof a.parentId === 'number' || (typeof a.parentId === 'string' && /^\d+$/.test(a.parentId)) ? Number(a.parentId) : undefined;
      try {
        const g = await api.createGroup(entitlement.name, path, {
          ...(entitlement.description === undefined ? {} : { description: entitlement.description }),
          ...(parentId === undefined ? {} : { parentId }),
        });
        return { kind: 'group', nativeValue: String(g.id), name: g.name, ...(entitlement.description === undefined ? {} : { description: entitlement.description }) };
      } catch (e) {
        // GitLab answers a taken path with 400 "has already been taken", not 409.
        if (e instanceof ConnectorError && e.status === 400 && /already been taken/i.test(`${e.targetMessage ?? ''} ${e.message}`)) {
          throw new ConnectorError('permanent', 'conflict', `${e.message} — a group with path '${path}' exists already`, { status: 400, ...(e.targetMessage === undefined ? {} : { targetMessage: e.targetMessage }) });
        }
        throw e;
      }
    },

    async deleteEntitlement(kind, nativeValue) {
      assertEntitlementOperation('gitlab', GITLAB_CAPABILITIES, 'delete', kind);
      if (!/^\d+$/.test(nativeValue)) return 'absent';
      try {
        // GitLab may finish the deletion later (or keep the group pending deletion); it is gone from the API's view.
        await api.deleteGroup(nativeValue);
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

export const gitlabKind: ConnectorKind = {
  name: 'gitlab',
  description: 'GitLab (REST API v4): users (create, block, unblock, delete) and groups as entitlements.',
  settingsSchema: gitlabSettingsSchema,
  secretSettings: secretSettingNames(gitlabSettingsSchema),
  create: createGitlabConnector,
};
