// The list side of PATCH: adding to, replacing in and removing from multi-valued attributes.
import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from './errors.ts';
import { scimProblem } from './errors.ts';
import type { BoundFilter } from './filter-bind.ts';
import { evaluateFilter } from './filter-eval.ts';
import { coerceSingle, deleteAttr, getAttr, isObject, sameJson, setAttr, withoutNulls } from './patch-values.ts';
import type { ScimAttribute } from './schema-model.ts';
import { findAttribute } from './schema-model.ts';

type Element = Record<string, unknown>;

/** The elements of a stored multi-valued attribute; a lone value is a list of one. */
export function listOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return [...(v as unknown[])];
  return v === undefined || v === null ? [] : [v];
}

const valueDefOf = (attr: ScimAttribute) => findAttribute(attr.subAttributes, 'value');

// Two complex values are the same entry when their `value`s match and their types do not
// differ: adding a member twice, or an email again with a new `display`, updates in place.
function sameEntry(attr: ScimAttribute, a: unknown, b: unknown): boolean {
  if (attr.type !== 'complex') return sameJson(a, b, attr.caseExact);
  if (!isObject(a) || !isObject(b)) return false;
  const va = getAttr(a, 'value');
  const vb = getAttr(b, 'value');
  if (va === undefined || vb === undefined) return sameJson(a, b);
  const ta = getAttr(a, 'type');
  const tb = getAttr(b, 'type');
  const typesAgree = ta === undefined || tb === undefined || sameJson(ta, tb, false);
  return typesAgree && sameJson(va, vb, valueDefOf(attr)?.caseExact ?? false);
}

/** Adds values to a list (RFC 7644 §3.5.2.1): an entry already there is updated, not repeated. */
export function addValues(attr: ScimAttribute, list: unknown[], items: unknown[], touched: Set<unknown>): unknown[] {
  const out = [...list];
  for (const item of items) {
    const i = out.findIndex((e) => sameEntry(attr, e, item));
    if (i < 0) {
      out.push(item);
      touched.add(item);
    } else if (isObject(out[i]) && isObject(item)) {
      const merged = { ...out[i], ...item };
      out[i] = merged;
      touched.add(merged);
    }
  }
  return out;
}

/** Removes the entries a `value` list names: Entra removes group members this way. */
export function removeValues(attr: ScimAttribute, list: unknown[], value: unknown, field: string): Result<unknown[], ScimProblem> {
  const items: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
  const problems: ScimProblem[] = [];
  let out = list;
  items.forEach((item, i) => {
    let probe: unknown = item;
    if (attr.type === 'complex') {
      const v: unknown = isObject(item) ? getAttr(item, 'value') : item;
      if (v === undefined || v === null || isObject(v) || Array.isArray(v)) {
        problems.push(scimProblem('invalidValue', `${field}[${i}]: to remove from '${attr.name}' give each entry's "value"`, { field: `${field}[${i}]` }));
        return;
      }
      probe = { value: v };
    }
    out = out.filter((e) => !sameEntry(attr, e, probe));
  });
  return problems.length > 0 ? fail(...problems) : ok(out);
}

/** The element a filter of `eq` tests describes (`type eq "work"` → `{ type: 'work' }`), if it describes one. */
export function seedOf(filter: BoundFilter): Element | undefined {
  switch (filter.kind) {
    case 'compare':
      if (filter.op !== 'eq' || filter.target.element !== undefined || filter.target.keys.length !== 1) return undefined;
      return { [filter.target.keys[0]!]: filter.value };
    case 'and': {
      const seed: Element = {};
      for (const f of filter.filters) {
        const s = seedOf(f);
        if (!s) return undefined;
        Object.assign(seed, s);
      }
      return seed;
    }
    case 'or':
    case 'not':
    case 'present':
    case 'valuePath':
      return undefined;
  }
}

export interface ElementTarget {
  attr: ScimAttribute;
  filter?: BoundFilter;
  /** The sub-attribute after the filter (`emails[…].value`) or without one (`emails.value`). */
  sub?: ScimAttribute;
  text: string;
}

/**
 * Applies add/replace/remove to the elements a filter selects (all, without a filter).
 * Nothing matching: remove does nothing (the state asked for already holds); add and
 * replace create the element the filter describes, since Entra sends
 * `emails[type eq "work"].value` for users that have no work email yet; a filter that
 * describes no single element is `noTarget` (RFC 7644 §3.5.2.3).
 */
export function applyToElements(op: 'add' | 'replace' | 'remove', t: ElementTarget, list: unknown[], value: unknown, field: string, touched: Set<unknown>): Result<unknown[], ScimProblem> {
  const matches = (e: unknown) => (t.filter ? isObject(e) && evaluateFilter(t.filter, e) : true);
  if (op === 'remove') {
    if (!t.sub) return ok(list.filter((e) => !matches(e)));
    const sub = t.sub;
    const out: unknown[] = [];
    for (const e of list) {
      if (!matches(e) || !isObject(e)) out.push(e);
      // An email or member without its value is nothing, so removing `value` removes the entry.
      else if (sub.name !== 'value') {
        const copy = { ...e };
        deleteAttr(copy, sub.name);
        if (Object.keys(copy).length > 0) out.push(copy);
      }
    }
    return ok(out);
  }
  const def = t.sub ?? t.attr;
  let raw = value;
  if (!t.sub && Array.isArray(raw) && raw.length === 1) raw = raw[0];
  const c = coerceSingle(def, raw, field);
  if (!c.ok) return c;
  if (c.value === null) return applyToElements('remove', t, list, undefined, field, touched);
  const hits = list.filter(matches);
  const seed = t.filter ? seedOf(t.filter) : {};
  if (hits.length === 0) {
    if (!seed) return fail(scimProblem('noTarget', `${field}: no value of '${t.attr.name}' matches '${t.text}', and the filter does not describe one to create`, { field }));
    const created = t.sub ? { ...seed, [t.sub.name]: c.value } : { ...seed, ...(withoutNulls(c.value) as Element) };
    touched.add(created);
    return ok([...list, created]);
  }
  const out: unknown[] = [];
  for (const e of list) {
    if (!matches(e) || !isObject(e)) {
      out.push(e);
      continue;
    }
    let next: Element;
    if (t.sub) {
      const current = getAttr(e, t.sub.name);
      if (t.sub.mutability === 'immutable' && current !== undefined && !sameJson(current, c.value)) {
        return fail(scimProblem('mutability', `${field}: '${t.attr.name}.${t.sub.name}' is immutable and already set`, { field }));
      }
      next = { ...e };
      setAttr(next, t.sub.name, c.value);
    } else if (op === 'add') {
      next = { ...e };
      for (const [k, v] of Object.entries(c.value as Element)) {
        if (v === null) deleteAttr(next, k);
        else setAttr(next, k, v);
      }
    } else {
      next = { ...(seed ?? {}), ...(withoutNulls(c.value) as Element) };
    }
    touched.add(next);
    out.push(next);
  }
  return ok(out);
}

/** Leaves at most one entry with `primary: true` (RFC 7643 §2.4), preferring the one last written. */
export function keepOnePrimary(list: unknown[], touched: Set<unknown>): unknown[] {
  const primaries = list.filter((e) => isObject(e) && getAttr(e, 'primary') === true);
  if (primaries.length <= 1) return list;
  const keep = [...primaries].reverse().find((e) => touched.has(e)) ?? primaries[primaries.length - 1];
  return list.map((e) => {
    if (e === keep || !primaries.includes(e)) return e;
    const copy = { ...(e as Element) };
    deleteAttr(copy, 'primary');
    return copy;
  });
}
