/**
 * Between SCIM User resources (nested, typed, with extensions) and Steward's flat account
 * attributes. Names: a core attribute keeps its SCIM name (`userName`, `emails`); a
 * sub-attribute of a single complex attribute is `parent.sub` (`name.givenName`); an
 * extension attribute keeps its short name (`department`) unless a core attribute has it,
 * then it is the full URN path. A multi-valued complex attribute with a `value`
 * sub-attribute (`emails`, `roles`) is a multi-valued attribute of those values.
 * `active` is the account's enabled state, `groups` and `roles` are entitlements.
 */
import type { AttributeSchema, AttributeType } from '../../domain/schema.ts';
import type { PlanValue } from '../../plan/model.ts';
import type { AccountItem, EntitlementRef } from '../contract.ts';
import type { AttributeChange } from '../changes.ts';
import { CORE_USER_SCHEMA } from './scim-schema.ts';
import type { ScimAttributeDef, ScimSchemaDef } from './scim-schema.ts';

export type Shape = 'simple' | 'sub' | 'values' | 'list';

export interface MappedAttribute {
  name: string;
  schema: string;
  top: string;
  sub?: string;
  shape: Shape;
  scimType: string;
  type: AttributeType;
  multiValued: boolean;
  required: boolean;
  readable: boolean;
  writable: boolean;
  description?: string;
}

export interface ScimMapping {
  attributes: Map<string, MappedAttribute>;
  /** Extension schema URNs of the User resource type. */
  extensions: string[];
  /** Attribute names whose values are entitlements, with their kind. */
  entitlementAttributes: Record<string, 'group' | 'role'>;
}

export type ScimResource = Record<string, unknown>;

/** Steward's type for a SCIM type: decimals travel as text, since plans have no decimal. */
function typeOf(scimType: string): AttributeType {
  switch (scimType) {
    case 'boolean':
      return 'boolean';
    case 'integer':
      return 'integer';
    case 'dateTime':
      return 'date';
    default:
      return 'string';
  }
}

function mapOne(schema: string, def: ScimAttributeDef, name: (short: string) => string): MappedAttribute[] {
  const base = { schema, top: def.name, required: def.required === true, ...(def.description ? { description: def.description } : {}) };
  const readable = def.returned !== 'never' && def.mutability !== 'writeOnly';
  const writable = def.mutability !== 'readOnly';
  if (def.type !== 'complex') {
    const multi = def.multiValued === true;
    return [{ ...base, name: name(def.name), shape: multi ? 'list' : 'simple', scimType: def.type, type: typeOf(def.type), multiValued: multi, readable, writable }];
  }
  const subs = def.subAttributes ?? [];
  if (def.multiValued === true) {
    const value = subs.find((sa) => sa.name === 'value');
    // Multi-valued complex attributes without a value (addresses) have no flat form.
    if (value === undefined) return [];
    return [{ ...base, name: name(def.name), shape: 'values', scimType: value.type, type: typeOf(value.type), multiValued: true, readable, writable }];
  }
  return subs
    .filter((sa) => sa.type !== 'complex' && sa.multiValued !== true)
    .map((sa) => ({
      ...base,
      name: name(`${def.name}.${sa.name}`),
      sub: sa.name,
      required: false,
      shape: 'sub' as const,
      scimType: sa.type,
      type: typeOf(sa.type),
      multiValued: false,
      readable: readable && sa.returned !== 'never' && sa.mutability !== 'writeOnly',
      writable: writable && sa.mutability !== 'readOnly',
      ...(sa.description ? { description: sa.description } : {}),
    }));
}

/** The mapping for a User core schema and its extensions. */
export function buildMapping(core: ScimSchemaDef, extensions: ScimSchemaDef[]): ScimMapping {
  const attributes = new Map<string, MappedAttribute>();
  const entitlementAttributes: Record<string, 'group' | 'role'> = {};
  attributes.set('externalId', { name: 'externalId', schema: CORE_USER_SCHEMA, top: 'externalId', shape: 'simple', scimType: 'string', type: 'string', multiValued: false, required: false, readable: true, writable: true });
  for (const def of core.attributes) {
    if (def.name === 'active' || def.name === 'id' || def.name === 'meta') continue;
    if (def.name === 'groups') {
      entitlementAttributes.groups = 'group';
      continue;
    }
    for (const m of mapOne(CORE_USER_SCHEMA, def, (n) => n)) attributes.set(m.name, m);
    if (def.name === 'roles' && attributes.has('roles')) entitlementAttributes.roles = 'role';
  }
  for (const ext of extensions) {
    for (const def of ext.attributes) {
      for (const m of mapOne(ext.id, def, (n) => n)) {
        const name = attributes.has(m.name) ? `${ext.id}:${m.name}` : m.name;
        attributes.set(name, { ...m, name });
      }
    }
  }
  return { attributes, extensions: extensions.map((e) => e.id), entitlementAttributes };
}

/** The account attributes as Steward's AttributeSchema list (entitlement attributes included, marked). */
export function accountAttributes(mapping: ScimMapping): AttributeSchema[] {
  const out: AttributeSchema[] = [];
  for (const m of mapping.attributes.values()) {
    const kind = mapping.entitlementAttributes[m.name];
    out.push({
      name: m.name,
      type: m.type,
      multiValued: m.multiValued,
      ...(m.required ? { required: true } : {}),
      ...(kind === undefined ? {} : { entitlementKind: kind }),
      ...(m.description === undefined ? (m.readable ? {} : { description: 'write-only' }) : { description: m.readable ? m.description : `${m.description} (write-only)` }),
    });
  }
  if (mapping.entitlementAttributes.groups !== undefined) {
    out.push({ name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group', description: 'Group memberships, by SCIM Group id (a displayName is accepted in requests).' });
  }
  return out;
}

/** The PATCH path of an attribute (RFC 7644 §3.5.2): `emails`, `name.givenName`, or a URN-prefixed path. */
export function pathOf(m: MappedAttribute): string {
  const local = m.sub === undefined ? m.top : `${m.top}.${m.sub}`;
  return m.schema === CORE_USER_SCHEMA ? local : `${m.schema}:${local}`;
}

function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  // SCIM attribute names are case-insensitive (RFC 7643 §2.1).
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : obj[key];
}

function container(resource: ScimResource, schema: string): Record<string, unknown> | undefined {
  if (schema === CORE_USER_SCHEMA) return resource;
  const c = field(resource, schema);
  return c !== null && typeof c === 'object' ? (c as Record<string, unknown>) : undefined;
}

/** A JSON scalar as text; a stray object (a server's oddity) as its JSON rather than [object Object]. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

function readScalar(v: unknown, m: MappedAttribute): PlanValue | undefined {
  if (v === null || v === undefined) return undefined;
  switch (m.type) {
    case 'boolean':
      return typeof v === 'boolean' ? v : text(v) === 'true';
    case 'integer':
      return typeof v === 'number' ? v : Number(text(v));
    case 'date': {
      const d = new Date(text(v));
      return Number.isNaN(d.getTime()) ? text(v) : d;
    }
    case 'string':
      return text(v);
  }
}

function valuesOf(v: unknown): unknown[] {
  if (!Array.isArray(v)) return [];
  return v.map((e) => (e !== null && typeof e === 'object' ? (e as Record<string, unknown>).value : undefined)).filter((e) => e !== undefined && e !== null);
}

/** One mapped attribute's value in a resource, or undefined when the resource has none. */
export function readAttribute(resource: ScimResource, m: MappedAttribute): PlanValue | undefined {
  const c = container(resource, m.schema);
  if (c === undefined) return undefined;
  return readRaw(field(c, m.top), m);
}

/** A mapped attribute's value from the raw JSON of its top-level attribute. */
function readRaw(raw: unknown, m: MappedAttribute): PlanValue | undefined {
  switch (m.shape) {
    case 'simple':
      return readScalar(raw, m);
    case 'sub':
      return raw !== null && typeof raw === 'object' ? readScalar(field(raw as Record<string, unknown>, m.sub ?? ''), m) : undefined;
    case 'values':
    case 'list': {
      const list = (m.shape === 'values' ? valuesOf(raw) : Array.isArray(raw) ? raw : []).map((v) => readScalar(v, m));
      const vals = list.filter((v): v is Exclude<PlanValue, unknown[]> => v !== undefined && !Array.isArray(v));
      return vals.length > 0 ? vals : undefined;
    }
  }
}

interface ReadIndex {
  /** Readable, non-entitlement attributes by lower-cased top-level name, in the core schema and in each extension. */
  core: Map<string, MappedAttribute[]>;
  extensions: Map<string, Map<string, MappedAttribute[]>>;
}

const indexes = new WeakMap<ScimMapping, ReadIndex>();

/** Built once per mapping: a listing reads every resource through it. */
function readIndex(mapping: ScimMapping): ReadIndex {
  let idx = indexes.get(mapping);
  if (idx !== undefined) return idx;
  idx = { core: new Map(), extensions: new Map() };
  for (const m of mapping.attributes.values()) {
    if (!m.readable || mapping.entitlementAttributes[m.name] !== undefined) continue;
    let target = idx.core;
    if (m.schema !== CORE_USER_SCHEMA) {
      const ext = m.schema.toLowerCase();
      target = idx.extensions.get(ext) ?? new Map<string, MappedAttribute[]>();
      idx.extensions.set(ext, target);
    }
    const key = m.top.toLowerCase();
    target.set(key, [...(target.get(key) ?? []), m]);
  }
  indexes.set(mapping, idx);
  return idx;
}

function readInto(attributes: Record<string, PlanValue>, obj: Record<string, unknown>, index: Map<string, MappedAttribute[]>): void {
  for (const key in obj) {
    const ms = index.get(key.toLowerCase());
    if (ms === undefined) continue;
    for (const m of ms) {
      const v = readRaw(obj[key], m);
      if (v !== undefined) attributes[m.name] = v;
    }
  }
}

/** A SCIM User resource as an account. Listing calls this for every user: it walks the resource's own keys once. */
export function toAccount(resource: ScimResource, mapping: ScimMapping, identityAttribute: 'id' | 'userName'): AccountItem {
  const idx = readIndex(mapping);
  const attributes: Record<string, PlanValue> = {};
  readInto(attributes, resource, idx.core);
  for (const key in resource) {
    const ext = idx.extensions.get(key.toLowerCase());
    const c = resource[key];
    if (ext !== undefined && c !== null && typeof c === 'object') readInto(attributes, c as Record<string, unknown>, ext);
  }
  const entitlements: EntitlementRef[] = [];
  for (const [name, kind] of Object.entries(mapping.entitlementAttributes)) {
    const raw = name === 'groups' ? field(resource, 'groups') : undefined;
    const mapped = mapping.attributes.get(name);
    const vals = name === 'groups' ? valuesOf(raw) : mapped === undefined ? [] : [readAttribute(resource, mapped) ?? []].flat();
    for (const v of vals) entitlements.push({ kind, nativeValue: text(v) });
  }
  const active = field(resource, 'active');
  return {
    nativeIdentity: text(field(resource, identityAttribute)),
    attributes,
    enabled: active !== false && active !== 'false',
    locked: false,
    entitlements,
  };
}

/** A text value as the JSON value SCIM expects for the attribute, or an error message. */
export function writeScalar(text: string, m: MappedAttribute): { value: unknown } | { error: string } {
  switch (m.scimType) {
    case 'boolean':
      if (text === 'true' || text === 'false') return { value: text === 'true' };
      return { error: `'${text}' is not a boolean (true or false)` };
    case 'integer':
      if (/^-?\d+$/.test(text)) return { value: Number(text) };
      return { error: `'${text}' is not an integer` };
    case 'decimal':
      if (text.trim() !== '' && Number.isFinite(Number(text))) return { value: Number(text) };
      return { error: `'${text}' is not a number` };
    case 'dateTime': {
      const d = new Date(text);
      if (Number.isNaN(d.getTime())) return { error: `'${text}' is not a date` };
      return { value: d.toISOString() };
    }
    default:
      return { value: text };
  }
}

export type PatchOperation = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

/** The PATCH operations that make one attribute's change (values already converted). */
export function patchOperations(m: MappedAttribute, change: AttributeChange, convert: (t: string) => unknown): PatchOperation[] {
  const path = pathOf(m);
  switch (m.shape) {
    case 'simple':
    case 'sub':
      return change.after.length === 0 ? [{ op: 'remove', path }] : [{ op: 'replace', path, value: convert(change.after[0]!) }];
    case 'list':
      return change.after.length === 0 ? [{ op: 'remove', path }] : [{ op: 'replace', path, value: change.after.map(convert) }];
    case 'values': {
      const ops: PatchOperation[] = change.removed.map((v) => ({ op: 'remove', path: `${path}[value eq ${JSON.stringify(convert(v))}]` }));
      if (change.added.length > 0) ops.push({ op: 'add', path, value: change.added.map((v) => ({ value: convert(v) })) });
      return ops;
    }
  }
}

/** Applies one attribute's change to a whole resource in place (for PUT and for Create bodies). */
export function writeIntoResource(resource: ScimResource, m: MappedAttribute, change: AttributeChange, convert: (t: string) => unknown): void {
  let c: Record<string, unknown>;
  if (m.schema === CORE_USER_SCHEMA) {
    c = resource;
  } else {
    const existing = resource[m.schema];
    c = existing !== null && typeof existing === 'object' ? (existing as Record<string, unknown>) : {};
    resource[m.schema] = c;
    const schemas = Array.isArray(resource.schemas) ? (resource.schemas as string[]) : [];
    if (!schemas.includes(m.schema)) resource.schemas = [...schemas, m.schema];
  }
  switch (m.shape) {
    case 'simple':
      if (change.after.length === 0) delete c[m.top];
      else c[m.top] = convert(change.after[0]!);
      return;
    case 'sub': {
      const parent = c[m.top] !== null && typeof c[m.top] === 'object' ? (c[m.top] as Record<string, unknown>) : {};
      if (change.after.length === 0) delete parent[m.sub ?? ''];
      else parent[m.sub ?? ''] = convert(change.after[0]!);
      c[m.top] = parent;
      return;
    }
    case 'list':
      c[m.top] = change.after.map(convert);
      return;
    case 'values': {
      // Keep the other sub-attributes (type, primary) of values that stay.
      const old = Array.isArray(c[m.top]) ? (c[m.top] as Record<string, unknown>[]) : [];
      const removed = new Set(change.removed.map((v) => JSON.stringify(convert(v))));
      const kept = old.filter((e) => !removed.has(JSON.stringify(e.value)));
      c[m.top] = [...kept, ...change.added.map((v) => ({ value: convert(v) }))];
      return;
    }
  }
}
