/** The `ldap` connector kind: LDAP v3 directories (OpenLDAP, 389-DS…): inetOrgPerson accounts, groupOfNames groups. */
import type { Entry } from 'ldapts';
import type { Capabilities, DeprovisioningAction, Operation } from '../capabilities.ts';
import type { AccountItem, Connector, ConnectorKind, ConnectorOptions, EntitlementItem, ListOptions, Page } from '../contract.ts';
import { changeMarkOf, decodeCursor, paginateBatches, parseChangeMark, resumeBatchesAfter } from '../cursor.ts';
import { assertEntitlementOperation } from '../entitlement-ops.ts';
import { ConnectorError, secretScrubber } from '../errors.ts';
import { secretSettingNames, settingsOrThrow } from '../settings.ts';
import { applyLdap, createDn } from './apply.ts';
import { allMemberships, createGroup, deleteGroup, membershipsOf } from './groups.ts';
import { GROUPS, PASSWORD, entryValues, fromGeneralizedTime, loadModel, normDn, searchAttributes, toAccount, toGeneralizedTime } from './model.ts';
import type { LdapModel } from './model.ts';
import { createLdapSession, ldapError } from './session.ts';
import type { LdapSession } from './session.ts';
import { ldapSettingsSchema, toLdapSettings } from './settings.ts';
import type { LdapSettings } from './settings.ts';

/** What an LDAP application can do depends on its disable mode and whether groups are configured. */
export function ldapCapabilities(settings: LdapSettings): Capabilities {
  const operations: Operation[] = ['create_user', 'delete_user', 'set_attributes', 'set_password'];
  const deprovisioning: DeprovisioningAction[] = ['Delete'];
  if (settings.disable.mode !== 'none') {
    operations.push('disable_user', 'enable_user');
    deprovisioning.unshift('Suspend', 'Deactivate');
  }
  if (settings.disable.mode === 'ppolicy') operations.push('unlock_user');
  if (settings.groups !== undefined) operations.push('create_group', 'delete_group', 'add_user_to_group', 'remove_user_from_group');
  return { operations, deprovisioning, entitlementAttributes: settings.groups === undefined ? {} : { [GROUPS]: 'group' }, passwordAttribute: PASSWORD };
}

/** The pages of a paged search (Simple Paged Results, RFC 2696). */
async function* search(session: LdapSession, settings: LdapSettings, base: string, filter: string, attributes: string[], pageSize: number): AsyncGenerator<Entry[]> {
  try {
    for await (const page of session.stream(`searching ${base}`, (c) => c.searchPaginated(base, { scope: 'sub', filter, attributes, paged: { pageSize } }))) {
      yield page.searchEntries;
    }
  } catch (e) {
    if (e instanceof ConnectorError && e.status === 4) {
      throw new ConnectorError('permanent', 'target_error', `${e.message} — the server's size limit for ${settings.bindDn ?? 'anonymous'} is below the number of entries; allow paged searches past it (OpenLDAP: limits … size.prtotal=unlimited)`, { status: 4 });
    }
    throw e;
  }
}

/** Builds an LDAP connector from checked settings (see ConnectorKind.create). */
export function createLdapConnector(options: ConnectorOptions): Connector {
  const settings = toLdapSettings(settingsOrThrow(ldapSettingsSchema, options.settings, options.secrets));
  const scrub = secretScrubber([settings.bindPassword, ...Object.values(options.secrets ?? {})]);
  const session = createLdapSession(settings, scrub);
  const capabilities = ldapCapabilities(settings);
  let model: Promise<LdapModel> | undefined;
  const getModel = (): Promise<LdapModel> => {
    model ??= loadModel(session, settings).catch((e: unknown) => {
      model = undefined;
      throw e;
    });
    return model;
  };
  const pageSizeOf = (o?: ListOptions): number => o?.pageSize ?? settings.pageSize;

  /** Accounts of entries; memberships from `known` (a preloaded map), the entries' memberOf, or a search. */
  async function accountsOf(entries: Entry[], m: LdapModel, known?: Map<string, string[]>): Promise<AccountItem[]> {
    const g = settings.groups;
    if (g === undefined) return entries.map((e) => toAccount(e, m, settings, []));
    if (g.lookup === 'memberOf') return entries.map((e) => toAccount(e, m, settings, entryValues(e, 'memberOf')));
    const groups = known ?? (await membershipsOf(session, g, entries.map((e) => e.dn)));
    return entries.map((e) => toAccount(e, m, settings, groups.get(normDn(e.dn)) ?? []));
  }

  /** Listed accounts with their change marks: the entries' modifyTimestamp (an operational attribute, asked for by name). */
  async function markedAccountsOf(entries: Entry[], m: LdapModel, known?: Map<string, string[]>): Promise<AccountItem[]> {
    const accounts = await accountsOf(entries, m, known);
    return accounts.map((a, i) => {
      const stamp = entryValues(entries[i]!, 'modifyTimestamp')[0];
      const mark = stamp === undefined ? undefined : changeMarkOf(fromGeneralizedTime(stamp));
      return mark === undefined ? a : { ...a, changeMark: mark };
    });
  }

  /** Pages of the accounts `filter` selects, resumable from a page's cursor, each with its change marks. */
  async function* accountPages(filter: string, cursor: string | null | undefined, opts: ListOptions | undefined): AsyncGenerator<Page<AccountItem>> {
    const c = cursor === undefined || cursor === null ? null : decodeCursor(cursor);
    const m = await getModel();
    const size = pageSizeOf(opts);
    const g = settings.groups;
    const known = g?.lookup === 'preload' ? await allMemberships(session, g, size) : undefined;
    const attributes = [...searchAttributes(settings), 'modifyTimestamp'];
    const batches = resumeBatchesAfter(() => search(session, settings, settings.baseDn, filter, attributes, size), (e) => e.dn, c);
    for await (const page of paginateBatches(batches, size, (e) => e.dn, c?.n ?? 0)) {
      yield { items: await markedAccountsOf(page.items, m, known), nextCursor: page.nextCursor };
    }
  }

  return {
    kind: 'ldap',
    capabilities,

    async schema() {
      const m = await getModel();
      const attributes = [...m.attributes.values()];
      attributes.push({ name: PASSWORD, type: 'string', multiValued: false, description: 'write-only: set with the Password Modify operation or as userPassword' });
      if (settings.groups !== undefined) attributes.push({ name: GROUPS, type: 'string', multiValued: true, entitlementKind: 'group', description: `Membership of ${settings.groups.objectClass} entries under ${settings.groups.baseDn}, by DN (a cn is accepted in requests).` });
      return { account: { attributes }, entitlementKinds: settings.groups === undefined ? [] : ['group'] };
    },

    async test() {
      try {
        const found = await session.run(`reading ${settings.baseDn}`, (c) => c.search(settings.baseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }));
        if (found.searchEntries.length === 0) throw new ConnectorError('permanent', 'not_found', `${settings.baseDn} is not visible to ${settings.bindDn ?? 'an anonymous client'}`);
        if (settings.groups !== undefined) {
          await session.run(`reading ${settings.groups.baseDn}`, (c) => c.search(settings.groups!.baseDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }));
        }
        const m = await getModel();
        const tls = settings.url.startsWith('ldaps:') ? 'LDAPS' : settings.startTls ? 'StartTLS' : 'no TLS';
        return { ok: true, message: `connected to ${settings.url} (${tls}) as ${settings.bindDn ?? 'anonymous'}; ${settings.baseDn} found; ${m.attributes.size} account attributes from the subschema` };
      } catch (e) {
        const err = e instanceof ConnectorError ? e : ldapError(e, settings, 'testing', scrub);
        const hint = err.code === 'not_found' ? ` — is baseDn (${settings.baseDn}) or groupBaseDn right?` : '';
        return { ok: false, message: err.message + hint, errorKind: err.kind };
      }
    },

    listAccounts(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<AccountItem>> {
      return accountPages(settings.userFilter, cursor, opts);
    },

    // modifyTimestamp has whole seconds: `>=` the mark's second reads a change made in the same second again rather than missing it.
    listAccountsChangedSince(since: string, cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<AccountItem>> {
      const second = new Date(Math.floor(parseChangeMark(since).getTime() / 1000) * 1000);
      const base = settings.userFilter.startsWith('(') ? settings.userFilter : `(${settings.userFilter})`;
      return accountPages(`(&${base}(modifyTimestamp>=${toGeneralizedTime(second)}))`, cursor, opts);
    },

    async *listEntitlements(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<EntitlementItem>> {
      const groups = settings.groups;
      if (groups === undefined) {
        yield { items: [], nextCursor: null };
        return;
      }
      const c = cursor === undefined || cursor === null ? null : decodeCursor(cursor);
      const size = pageSizeOf(opts);
      const batches = resumeBatchesAfter(() => search(session, settings, groups.baseDn, groups.filter, ['cn', 'description'], size), (e) => e.dn, c);
      for await (const page of paginateBatches(batches, size, (e) => e.dn, c?.n ?? 0)) {
        yield {
          items: page.items.map((e): EntitlementItem => {
            const description = entryValues(e, 'description')[0];
            return { kind: 'group', nativeValue: e.dn, name: entryValues(e, 'cn')[0] ?? e.dn, ...(description === undefined ? {} : { description }) };
          }),
          nextCursor: page.nextCursor,
        };
      }
    },

    async getAccount(nativeIdentity) {
      if (!nativeIdentity.includes('=')) return null;
      const m = await getModel();
      let entry: Entry | undefined;
      try {
        const r = await session.run(`reading ${nativeIdentity}`, (cl) => cl.search(nativeIdentity, { scope: 'base', filter: settings.userFilter, attributes: searchAttributes(settings) }));
        entry = r.searchEntries[0];
      } catch (e) {
        if (e instanceof ConnectorError && e.code === 'not_found') return null;
        throw e;
      }
      return entry === undefined ? null : (await accountsOf([entry], m))[0]!;
    },

    apply(request) {
      return applyLdap({ session, settings, capabilities, model: getModel }, request);
    },

    findAccount(request) {
      const dn = request.op === 'Create' ? createDn(request, settings) : request.nativeIdentity;
      return dn === undefined ? Promise.resolve(null) : this.getAccount(dn);
    },

    // Groups only: roles and entities have no entry class here.
    async createEntitlement(kind, entitlement) {
      assertEntitlementOperation('ldap', capabilities, 'create', kind);
      const dn = await createGroup(session, settings.groups!, entitlement);
      return { kind: 'group', nativeValue: dn, name: entitlement.name, ...(entitlement.description === undefined ? {} : { description: entitlement.description }) };
    },

    async deleteEntitlement(kind, nativeValue) {
      assertEntitlementOperation('ldap', capabilities, 'delete', kind);
      return deleteGroup(session, settings.groups!, nativeValue);
    },

    close() {
      return session.close();
    },
  };
}

export const ldapKind: ConnectorKind = {
  name: 'ldap',
  description: 'An LDAP v3 directory: inetOrgPerson accounts, groupOfNames or groupOfUniqueNames groups, paged searches.',
  settingsSchema: ldapSettingsSchema,
  secretSettings: secretSettingNames(ldapSettingsSchema),
  create: createLdapConnector,
};
