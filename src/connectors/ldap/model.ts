/**
 * Between LDAP entries and Steward accounts: the account schema from the server's
 * subschema, typed values (LDAP booleans, integers, GeneralizedTime), DN comparison, and the
 * enabled and locked states under the configured disable mode.
 */
import type { Entry } from 'ldapts';
import type { AttributeSchema } from '../../domain/schema.ts';
import type { PlanValue, Scalar } from '../../plan/model.ts';
import type { AccountItem } from '../contract.ts';
import type { LdapSettings } from './settings.ts';
import type { Subschema } from './subschema.ts';
import { accountAttributesOf, isBinary, parseSubschema } from './subschema.ts';
import type { LdapSession } from './session.ts';

export const PASSWORD = 'password';
export const GROUPS = 'groups';
/** ppolicy's value of pwdAccountLockedTime for an account locked until an administrator unlocks it. */
export const PERMANENTLY_LOCKED = '000001010000Z';

export interface LdapModel {
  subschema: Subschema;
  /** The account attributes by lower-cased name. */
  attributes: Map<string, AttributeSchema>;
}

/** Every name (and OID) the server may use for an account attribute, lower-cased, to its schema; binary ones left out. */
const readableCache = new WeakMap<LdapModel, Map<string, AttributeSchema>>();
function readable(model: LdapModel): Map<string, AttributeSchema> {
  let map = readableCache.get(model);
  if (map === undefined) {
    map = new Map();
    for (const a of model.attributes.values()) {
      if (isBinary(model.subschema, a.name)) continue;
      const info = model.subschema.attributes.get(a.name.toLowerCase());
      for (const n of info?.names ?? [a.name]) map.set(n.toLowerCase(), a);
    }
    readableCache.set(model, map);
  }
  return map;
}

/** Reads the server's subschema and the account attributes of the user object classes. */
export async function loadModel(session: LdapSession, settings: LdapSettings): Promise<LdapModel> {
  return session.run('reading the subschema', async (c) => {
    const root = await c.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['subschemaSubentry'] });
    const dn = String(root.searchEntries[0]?.subschemaSubentry ?? 'cn=Subschema');
    const sub = await c.search(dn, { scope: 'base', filter: '(objectClass=subschema)', attributes: ['attributeTypes', 'objectClasses'] });
    const e = sub.searchEntries[0];
    const { schema } = parseSubschema(values(e?.attributeTypes), values(e?.objectClasses));
    const attributes = new Map<string, AttributeSchema>();
    for (const a of accountAttributesOf(schema, settings.userObjectClasses)) attributes.set(a.name.toLowerCase(), a);
    return { subschema: schema, attributes };
  });
}

/** A DN in a form two spellings of the same DN share (case and spaces around separators). */
export function normDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) => rdn.trim().replace(/\s*=\s*/, '='))
    .join(',')
    .toLowerCase();
}

/** LDAP's own matching mostly ignores case and repeated spaces; values compare that way. */
export const normValue = (v: string): string => v.trim().replace(/\s+/g, ' ').toLowerCase();

/** Escapes a value for use in a DN (RFC 4514 §2.4). */
export function escapeDnValue(v: string): string {
  return v
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** Escapes a value for use in a search filter (RFC 4515 §3). */
export function escapeFilterValue(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The DN under which a parent lives: everything after the first unescaped comma. */
export const parentOf = (dn: string): string => dn.split(/(?<!\\),/).slice(1).join(',');

/** The first RDN's attribute type and value. */
export function rdnOf(dn: string): { type: string; value: string } {
  const first = dn.split(/(?<!\\),/)[0] ?? '';
  const eq = first.indexOf('=');
  return { type: first.slice(0, eq).trim(), value: first.slice(eq + 1).trim().replace(/\\(.)/g, '$1') };
}

function values(v: Entry[string] | undefined): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return [v];
  if (Buffer.isBuffer(v)) return [v.toString('utf8')];
  return (v as (string | Buffer)[]).map((x) => (typeof x === 'string' ? x : x.toString('utf8')));
}

/** An entry's values of an attribute, whatever case the server named it in. */
export function entryValues(entry: Entry, name: string): string[] {
  // The server usually spells it as asked; only then look at every key.
  if (name in entry) return values(entry[name]);
  const lower = name.toLowerCase();
  for (const key of Object.keys(entry)) if (key.toLowerCase() === lower) return values(entry[key]);
  return [];
}

/** GeneralizedTime (RFC 4517 §3.3.13) as a Date, or undefined. */
export function fromGeneralizedTime(v: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)$/.exec(v);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi = '00', s = '00', frac = '0', zone] = m;
  const ms = Math.round(Number(`0.${frac}`) * 1000);
  const offset = zone === 'Z' ? 'Z' : `${zone!.slice(0, 3)}:${zone!.slice(3) || '00'}`;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, '0')}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A Date as GeneralizedTime in UTC. */
export function toGeneralizedTime(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.(\d{3})Z$/, (_, ms: string) => (ms === '000' ? 'Z' : `.${ms}Z`));
}

function typed(text: string, a: AttributeSchema): Scalar {
  switch (a.type) {
    case 'integer':
      return /^-?\d+$/.test(text) ? Number(text) : text;
    case 'boolean':
      return text.toUpperCase() === 'TRUE' ? true : text.toUpperCase() === 'FALSE' ? false : text;
    case 'date':
      return fromGeneralizedTime(text) ?? text;
    case 'string':
      return text;
  }
}

/** A plan value's text as LDAP wants it for the attribute, or an error message. */
export function ldapText(text: string, a: AttributeSchema): { value: string } | { error: string } {
  switch (a.type) {
    case 'integer':
      return /^-?\d+$/.test(text) ? { value: text } : { error: `'${text}' is not an integer` };
    case 'boolean':
      return /^(true|false)$/i.test(text) ? { value: text.toUpperCase() } : { error: `'${text}' is not a boolean (true or false)` };
    case 'date': {
      const d = fromGeneralizedTime(text) ?? new Date(text);
      return Number.isNaN(d.getTime()) ? { error: `'${text}' is not a date` } : { value: toGeneralizedTime(d) };
    }
    case 'string':
      return text === '' ? { error: 'an empty value cannot be stored in LDAP' } : { value: text };
  }
}

/** The attributes to ask for: the user attributes, and ppolicy's lock time (operational). */
export function searchAttributes(settings: LdapSettings): string[] {
  return [
    '*',
    ...(settings.disable.mode === 'ppolicy' ? ['pwdAccountLockedTime'] : []),
    ...(settings.groups?.lookup === 'memberOf' ? ['memberOf'] : []),
  ];
}

/** Whether an entry is disabled, and whether it is locked, under the disable mode. */
export function stateOf(entry: Entry, settings: LdapSettings): { enabled: boolean; locked: boolean } {
  switch (settings.disable.mode) {
    case 'marker': {
      const marker = normValue(settings.disable.value);
      return { enabled: !entryValues(entry, settings.disable.attribute).some((v) => normValue(v) === marker), locked: false };
    }
    case 'ppolicy': {
      const t = entryValues(entry, 'pwdAccountLockedTime')[0];
      return { enabled: t !== PERMANENTLY_LOCKED, locked: t !== undefined && t !== PERMANENTLY_LOCKED };
    }
    case 'none':
      return { enabled: true, locked: false };
  }
}

/** The current values of each account attribute of an entry, as texts (the disable marker left out). */
export function currentTexts(entry: Entry, model: LdapModel, settings: LdapSettings): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const names = readable(model);
  const markerAttr = settings.disable.mode === 'marker' ? settings.disable.attribute.toLowerCase() : undefined;
  for (const key of Object.keys(entry)) {
    if (key === 'dn') continue;
    const lower = key.toLowerCase();
    const a = names.get(lower);
    if (a === undefined) continue;
    let vals = values(entry[key]);
    if (lower === markerAttr && settings.disable.mode === 'marker') {
      const marker = normValue(settings.disable.value);
      vals = vals.filter((v) => normValue(v) !== marker);
    }
    if (vals.length > 0) out[a.name] = vals;
  }
  return out;
}

/** The schema of each attribute key as the server spells it (null: not an account attribute), remembered per model. */
const keyCache = new WeakMap<LdapModel, Map<string, AttributeSchema | null>>();

/** An entry and its group DNs as an account. Listing calls this for every entry: one pass, no intermediate copies. */
export function toAccount(entry: Entry, model: LdapModel, settings: LdapSettings, groups: string[]): AccountItem {
  let keys = keyCache.get(model);
  if (keys === undefined) keyCache.set(model, (keys = new Map<string, AttributeSchema | null>()));
  const names = readable(model);
  const marker = settings.disable.mode === 'marker' ? { attr: settings.disable.attribute.toLowerCase(), value: normValue(settings.disable.value) } : undefined;
  const attributes: Record<string, PlanValue> = {};
  for (const key in entry) {
    if (key === 'dn') continue;
    let a = keys.get(key);
    if (a === undefined) {
      a = names.get(key.toLowerCase()) ?? null;
      keys.set(key, a);
    }
    if (a === null) continue;
    let vals = values(entry[key]);
    if (marker !== undefined && key.toLowerCase() === marker.attr) vals = vals.filter((v) => normValue(v) !== marker.value);
    if (vals.length === 0) continue;
    if (a.type === 'string') attributes[a.name] = a.multiValued ? vals : vals[0]!;
    else {
      const schema = a;
      const typedVals = vals.map((t) => typed(t, schema));
      attributes[a.name] = a.multiValued ? typedVals : typedVals[0]!;
    }
  }
  return { nativeIdentity: entry.dn, attributes, ...stateOf(entry, settings), entitlements: groups.map((g) => ({ kind: 'group' as const, nativeValue: g })) };
}
