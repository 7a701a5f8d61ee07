import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from './errors.ts';
import { scimProblem } from './errors.ts';
import { normalizeDateTime } from './filter-bind.ts';
import type { ScimAttribute } from './schema-model.ts';
import { findAttribute } from './schema-model.ts';

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The own key of `o` that names `name` ignoring case (RFC 7643 §2.1), if any. */
export function keyOf(o: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(o, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(o).find((k) => k.toLowerCase() === lower);
}

/** Reads an attribute by name ignoring case. */
export function getAttr(o: Record<string, unknown>, name: string): unknown {
  const k = keyOf(o, name);
  return k === undefined ? undefined : o[k];
}

/** Writes an attribute under its canonical name, dropping any differently-cased copy. */
export function setAttr(o: Record<string, unknown>, name: string, value: unknown): void {
  const k = keyOf(o, name);
  if (k !== undefined && k !== name) delete o[k];
  o[name] = value;
}

/** Removes an attribute, whatever the case of its key. */
export function deleteAttr(o: Record<string, unknown>, name: string): void {
  for (const k of Object.keys(o)) if (k.toLowerCase() === name.toLowerCase()) delete o[k];
}

const bad = (field: string, message: string) => fail(scimProblem('invalidValue', `${field}: ${message}`, { field }));

/**
 * Checks one value (not a list) against its attribute and gives it its canonical form:
 * booleans sent as "True"/"False" (Entra) become booleans, and a scalar given for a
 * complex attribute with a `value` sub-attribute becomes `{ value }` (Entra sends the
 * enterprise `manager` as a bare id). `null` is returned as is: it means "unassigned".
 */
export function coerceSingle(def: ScimAttribute, v: unknown, field: string): Result<unknown, ScimProblem> {
  if (v === null) return ok(null);
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      return typeof v === 'string' ? ok(v) : bad(field, `'${def.name}' takes a string, not ${describe(v)}`);
    case 'boolean':
      if (typeof v === 'boolean') return ok(v);
      if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return ok(v.trim().toLowerCase() === 'true');
      return bad(field, `'${def.name}' takes true or false, not ${describe(v)}`);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? ok(v) : bad(field, `'${def.name}' takes a whole number, not ${describe(v)}`);
    case 'decimal':
      return typeof v === 'number' && Number.isFinite(v) ? ok(v) : bad(field, `'${def.name}' takes a number, not ${describe(v)}`);
    case 'dateTime':
      return typeof v === 'string' && normalizeDateTime(v) !== undefined
        ? ok(v)
        : bad(field, `'${def.name}' takes an ISO 8601 date-time such as "2011-05-13T04:42:34Z", not ${describe(v)}`);
    case 'complex':
      return coerceComplex(def, v, field);
  }
}

function coerceComplex(def: ScimAttribute, v: unknown, field: string): Result<unknown, ScimProblem> {
  if (!isObject(v)) {
    const valueDef = findAttribute(def.subAttributes, 'value');
    if (valueDef && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return coerceComplex(def, { value: v }, field);
    return bad(field, `'${def.name}' is complex and takes an object of its sub-attributes, not ${describe(v)}`);
  }
  const out: Record<string, unknown> = {};
  const problems: ScimProblem[] = [];
  for (const [k, raw] of Object.entries(v)) {
    const sub = findAttribute(def.subAttributes, k);
    if (!sub) {
      problems.push(scimProblem('invalidValue', `${field}: unknown sub-attribute '${k}' of '${def.name}' (it has ${(def.subAttributes ?? []).map((s) => s.name).join(', ')})`, { field: `${field}.${k}` }));
      continue;
    }
    // Read-only sub-attributes (a manager's displayName) are the server's to set; clients echo them.
    if (sub.mutability === 'readOnly') continue;
    // null stays: merging `{ givenName: null }` into a name unassigns givenName.
    const c = coerceSingle(sub, raw, `${field}.${sub.name}`);
    if (!c.ok) problems.push(...c.errors);
    else out[sub.name] = c.value;
  }
  return problems.length > 0 ? fail(...problems) : ok(out);
}

/** Checks a value for a whole attribute: a list for a multi-valued one (a lone value becomes a list of one). */
export function coerceAttribute(def: ScimAttribute, v: unknown, field: string): Result<unknown, ScimProblem> {
  if (v === null || !def.multiValued) return coerceSingle(def, v, field);
  const list = Array.isArray(v) ? v : [v];
  const out: unknown[] = [];
  const problems: ScimProblem[] = [];
  list.forEach((item, i) => {
    if (item === null) return;
    const c = coerceSingle(def, item, `${field}[${i}]`);
    if (!c.ok) problems.push(...c.errors);
    else {
      const v = withoutNulls(c.value);
      if (!(isObject(v) && Object.keys(v).length === 0)) out.push(v);
    }
  });
  return problems.length > 0 ? fail(...problems) : ok(out);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'an object';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A copy of a complex value without its null (unassigned) sub-attributes; other values as they are. */
export function withoutNulls(v: unknown): unknown {
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = x;
  return out;
}

/** Structural equality of JSON values; strings compare ignoring case unless `caseExact`. */
export function sameJson(a: unknown, b: unknown, caseExact = true): boolean {
  if (typeof a === 'string' && typeof b === 'string') return caseExact ? a === b : a.toLowerCase() === b.toLowerCase();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i], caseExact));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k], caseExact));
  }
  return a === b;
}
