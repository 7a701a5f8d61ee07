/** Between the target's JSON objects and Steward's accounts and entitlements, by the configured paths. */
import type { AttributeSchema } from '../../domain/schema.ts';
import type { PlanValue, Scalar } from '../../plan/model.ts';
import type { AccountItem, EntitlementItem, EntitlementRef } from '../contract.ts';
import { readPath } from './path.ts';
import type { RestSettings } from './settings.ts';

function scalar(v: unknown): Scalar | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v === null || v === undefined) return undefined;
  return JSON.stringify(v);
}

function text(v: unknown): string | undefined {
  const s = scalar(v);
  return s === undefined ? undefined : String(s);
}

/** The account schema: the declared attributes, then mapped ones as single-valued strings, then entitlement attributes. */
export function accountSchema(settings: RestSettings): AttributeSchema[] {
  const out = [...settings.attributes];
  const have = new Set(out.map((a) => a.name));
  for (const name of Object.keys(settings.accountMapping.attributes)) {
    if (!have.has(name)) out.push({ name, type: 'string', multiValued: false });
    have.add(name);
  }
  for (const [name, e] of Object.entries(settings.accountMapping.entitlements)) {
    if (!have.has(name)) out.push({ name, type: 'string', multiValued: true, entitlementKind: e.kind });
  }
  return out;
}

/** An account from one of the target's objects; undefined when it has no identity. */
export function toAccount(obj: unknown, settings: RestSettings): AccountItem | undefined {
  const m = settings.accountMapping;
  const id = text(readPath(obj, m.nativeIdentity));
  if (id === undefined || id === '') return undefined;
  const multi = new Set(settings.attributes.filter((a) => a.multiValued).map((a) => a.name));
  const attributes: Record<string, PlanValue> = {};
  for (const [name, path] of Object.entries(m.attributes)) {
    const v = readPath(obj, path);
    if (Array.isArray(v)) attributes[name] = v.map(scalar).filter((x): x is Scalar => x !== undefined);
    else {
      const s = scalar(v);
      if (s !== undefined) attributes[name] = multi.has(name) ? [s] : s;
    }
  }
  let enabled = true;
  if (m.enabled !== undefined) {
    const flag = readPath(obj, m.enabled);
    enabled = typeof flag === 'boolean' ? flag : flag === undefined || flag === null ? true : m.enabledValues.includes(text(flag) ?? '');
  }
  const entitlements: EntitlementRef[] = [];
  for (const e of Object.values(m.entitlements)) {
    const list = readPath(obj, e.path);
    for (const item of Array.isArray(list) ? list : []) {
      const value = text(e.value === undefined ? item : readPath(item, e.value));
      if (value !== undefined) entitlements.push({ kind: e.kind, nativeValue: value });
    }
  }
  return { nativeIdentity: id, attributes, enabled, locked: false, entitlements };
}

/** An entitlement from one of the target's objects; undefined when it has no native value. */
export function toEntitlement(obj: unknown, settings: RestSettings): EntitlementItem | undefined {
  const m = settings.entitlementMapping;
  const value = text(readPath(obj, m.nativeValue));
  if (value === undefined) return undefined;
  const description = m.description === undefined ? undefined : text(readPath(obj, m.description));
  return { kind: m.kind, nativeValue: value, name: text(readPath(obj, m.name)) ?? value, ...(description === undefined ? {} : { description }) };
}
