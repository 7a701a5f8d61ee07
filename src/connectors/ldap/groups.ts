/** Group membership in LDAP: groupOfNames (`member`) or groupOfUniqueNames (`uniqueMember`) entries under groupBaseDn. */
import { Attribute, Change } from 'ldapts';
import type { Client } from 'ldapts';
import { ConnectorError } from '../errors.ts';
import { entryValues, escapeDnValue, escapeFilterValue, normDn } from './model.ts';
import type { LdapSession } from './session.ts';
import type { LdapSettings } from './settings.ts';

type Groups = NonNullable<LdapSettings['groups']>;

/** How many DNs go into one `(|(member=…)…)` filter. */
const CHUNK = 200;

/** The groups each of `dns` is a member of (by normalised DN): one search per 200 accounts. */
export async function membershipsOf(session: LdapSession, groups: Groups, dns: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < dns.length; i += CHUNK) {
    const chunk = dns.slice(i, i + CHUNK);
    const wanted = new Set(chunk.map(normDn));
    const filter = `(&${groups.filter}(|${chunk.map((dn) => `(${groups.memberAttribute}=${escapeFilterValue(dn)})`).join('')}))`;
    const found = await session.run(`reading the groups of ${chunk.length} accounts`, (c) =>
      c.search(groups.baseDn, { scope: 'sub', filter, attributes: [groups.memberAttribute] }),
    );
    for (const g of found.searchEntries) {
      for (const m of entryValues(g, groups.memberAttribute)) {
        const key = normDn(m);
        if (!wanted.has(key)) continue;
        const list = out.get(key);
        if (list === undefined) out.set(key, [g.dn]);
        else list.push(g.dn);
      }
    }
  }
  return out;
}

/** Every membership under the group base, read once (one paged search of the groups): member → group DNs. */
export async function allMemberships(session: LdapSession, groups: Groups, pageSize: number): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const pages = session.stream(`reading the groups under ${groups.baseDn}`, (c) =>
    c.searchPaginated(groups.baseDn, { scope: 'sub', filter: groups.filter, attributes: [groups.memberAttribute], paged: { pageSize } }),
  );
  for await (const page of pages) {
    for (const g of page.searchEntries) {
      for (const m of entryValues(g, groups.memberAttribute)) {
        if (m === '') continue;
        const key = normDn(m);
        const list = out.get(key);
        if (list === undefined) out.set(key, [g.dn]);
        else list.push(g.dn);
      }
    }
  }
  return out;
}

/** The DN of a group a plan names by DN or by cn; a permanent error naming it when there is none or several. */
export async function resolveGroup(session: LdapSession, groups: Groups, value: string): Promise<string> {
  if (value.includes('=')) {
    const r = await session
      .run(`reading group ${value}`, (c) => c.search(value, { scope: 'base', filter: groups.filter, attributes: ['1.1'] }))
      .catch((e: unknown) => {
        if (e instanceof ConnectorError && e.code === 'not_found') return { searchEntries: [] };
        throw e;
      });
    if (r.searchEntries.length === 1) return r.searchEntries[0]!.dn;
    throw new ConnectorError('permanent', 'invalid_request', `no group ${value} (a ${groups.objectClass} entry) exists`);
  }
  const r = await session.run(`looking up group '${value}'`, (c) =>
    c.search(groups.baseDn, { scope: 'sub', filter: `(&${groups.filter}(cn=${escapeFilterValue(value)}))`, attributes: ['1.1'] }),
  );
  if (r.searchEntries.length === 1) return r.searchEntries[0]!.dn;
  throw new ConnectorError('permanent', 'invalid_request', r.searchEntries.length === 0 ? `no group named '${value}' under ${groups.baseDn}` : `more than one group is named '${value}' under ${groups.baseDn}; name it by DN`);
}

const change = (operation: 'add' | 'delete' | 'replace', type: string, values: string[]): Change => new Change({ operation, modification: new Attribute({ type, values }) });

/**
 * Adds or removes one member. A groupOfNames (and a groupOfUniqueNames) must keep a member,
 * so removing the last one leaves `emptyMember` instead; adding to a group that holds only
 * that placeholder drops it.
 */
export async function changeMember(client: Client, groups: Groups, groupDn: string, memberDn: string, op: 'add' | 'remove'): Promise<void> {
  const attr = groups.memberAttribute;
  if (op === 'add') {
    try {
      await client.modify(groupDn, [change('add', attr, [memberDn])]);
    } catch (e) {
      // 20: typeOrValueExists — already a member, which is what was asked.
      if ((e as { code?: unknown }).code !== 20) throw e;
    }
    await client.modify(groupDn, [change('delete', attr, [groups.emptyMember])]).catch(() => undefined);
    return;
  }
  try {
    await client.modify(groupDn, [change('delete', attr, [memberDn])]);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // 16: noSuchAttribute — not a member, which is what was asked.
    if (code === 16) return;
    // 65: objectClassViolation — the last member (both group classes must keep one).
    if (code === 65) {
      await client.modify(groupDn, [change('delete', attr, [memberDn]), change('add', attr, [groups.emptyMember])]);
      return;
    }
    throw e;
  }
}

/** The DN a group is made at: the native value given (under the group base), else `cn=<name>` under it. */
export function newGroupDn(groups: Groups, name: string, nativeValue: string | undefined): string {
  if (nativeValue === undefined || nativeValue === '') return `cn=${escapeDnValue(name)},${groups.baseDn}`;
  const dn = normDn(nativeValue);
  const base = normDn(groups.baseDn);
  if (!nativeValue.includes('=') || !dn.endsWith(`,${base}`)) {
    throw new ConnectorError('permanent', 'invalid_request', `nativeValue '${nativeValue}' must be a DN under the group base ${groups.baseDn}`);
  }
  return nativeValue;
}

/**
 * Makes a group entry. The schema wants a member from the start, so the group holds
 * `emptyMember` (emptyGroupMember: the empty DN unless configured) until its first member
 * joins, which drops it.
 */
export async function createGroup(session: LdapSession, groups: Groups, entitlement: { name: string; nativeValue?: string; description?: string }): Promise<string> {
  const dn = newGroupDn(groups, entitlement.name, entitlement.nativeValue);
  const attrs: Record<string, string[]> = {
    objectClass: [groups.objectClass],
    cn: [entitlement.name],
    [groups.memberAttribute]: [groups.emptyMember],
    ...(entitlement.description === undefined || entitlement.description === '' ? {} : { description: [entitlement.description] }),
  };
  await session.run(`adding group ${dn}`, (c) => c.add(dn, attrs));
  return dn;
}

/** Deletes a group entry by DN (or cn under the group base): `absent` when there is no such group. */
export async function deleteGroup(session: LdapSession, groups: Groups, nativeValue: string): Promise<'deleted' | 'absent'> {
  const dn = nativeValue.includes('=') ? nativeValue : `cn=${escapeDnValue(nativeValue)},${groups.baseDn}`;
  // Only a group entry is deleted: a DN naming an account (or anything else) is not a group.
  const found = await session
    .run(`reading group ${dn}`, (c) => c.search(dn, { scope: 'base', filter: groups.filter, attributes: ['1.1'] }))
    .catch((e: unknown) => {
      if (e instanceof ConnectorError && e.code === 'not_found') return { searchEntries: [] };
      throw e;
    });
  if (found.searchEntries.length === 0) return 'absent';
  try {
    await session.run(`deleting group ${dn}`, (c) => c.del(dn));
    return 'deleted';
  } catch (e) {
    if (e instanceof ConnectorError && e.code === 'not_found') return 'absent';
    throw e;
  }
}
