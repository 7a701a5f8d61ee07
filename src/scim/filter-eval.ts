import type { BoundFilter, BoundTarget } from './filter-bind.ts';
import { normalizeDateTime } from './filter-bind.ts';
import type { CompareOperator } from './filter.ts';

// The in-memory twin of filter-sql.ts: the two must agree on every filter, and a
// property test runs both against a real database to hold them to it.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads canonical keys from a JSON value, own properties only. */
export function getPath(root: unknown, keys: readonly string[]): unknown {
  let v: unknown = root;
  for (const k of keys) {
    if (!isObject(v) || !Object.hasOwn(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

/** SCIM "present": assigned, and neither null nor an empty string, list or object. */
export function isPresent(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** A multi-valued attribute's elements; a lone object counts as a list of one, anything else as none. */
export function elementsOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return [v];
  return [];
}

/** Whether `resource` satisfies the bound filter, with the semantics the SQL compiler gives it. */
export function evaluateFilter(filter: BoundFilter, resource: unknown): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.filters.every((f) => evaluateFilter(f, resource));
    case 'or':
      return filter.filters.some((f) => evaluateFilter(f, resource));
    case 'not':
      return !evaluateFilter(filter.filter, resource);
    case 'valuePath':
      return elementsOf(getPath(resource, filter.keys)).some((e) => evaluateFilter(filter.filter, e));
    case 'present':
      return valuesOf(filter.target, resource).some(isPresent);
    case 'compare':
      return valuesOf(filter.target, resource).some((v) => compare(v, filter.op, filter.value, filter.target));
  }
}

function valuesOf(t: BoundTarget, root: unknown): unknown[] {
  const v = getPath(root, t.keys);
  if (t.element === undefined) return [v];
  const inner = t.element;
  return elementsOf(v).map((e) => (inner.length === 0 ? e : getPath(e, inner)));
}

// What PostgreSQL's `->>` yields for a scalar; objects and lists never equal a filter value.
function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function order(a: number | string, b: number | string, op: CompareOperator): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'co':
    case 'sw':
    case 'ew':
      return false;
  }
}

function compare(v: unknown, op: CompareOperator, value: string | number | boolean, t: BoundTarget): boolean {
  switch (t.type) {
    case 'boolean': {
      const s = asText(v);
      return op === 'ne' ? s !== String(value) : s === String(value);
    }
    case 'integer':
    case 'decimal': {
      if (typeof v !== 'number') return op === 'ne';
      return order(v, value as number, op);
    }
    case 'dateTime': {
      const iso = typeof v === 'string' ? normalizeDateTime(v) : undefined;
      if (iso === undefined) return op === 'ne';
      return order(Date.parse(iso), Date.parse(value as string), op);
    }
    case 'complex':
      return false;
    case 'string':
    case 'reference':
    case 'binary': {
      const raw = asText(v);
      if (raw === undefined) return op === 'ne';
      const a = t.caseExact ? raw : raw.toLowerCase();
      const b = t.caseExact ? (value as string) : (value as string).toLowerCase();
      switch (op) {
        case 'co':
          return a.includes(b);
        case 'sw':
          return a.startsWith(b);
        case 'ew':
          return a.endsWith(b);
        case 'eq':
        case 'ne':
        case 'gt':
        case 'ge':
        case 'lt':
        case 'le':
          return order(a, b, op);
      }
    }
  }
}
