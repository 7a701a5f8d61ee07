import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from './errors.ts';
import { scimProblem } from './errors.ts';
import type { AttributePath, CompareOperator, FilterNode, FilterValue } from './filter.ts';
import { formatPath } from './filter.ts';
import type { ResourceSchema, ScimAttribute, ScimAttributeType } from './schema-model.ts';
import { findAttribute, resolveAttribute } from './schema-model.ts';

/** What a filter leaf compares: where its values are and how they compare. */
export interface BoundTarget {
  /** The path as written, for messages. */
  text: string;
  /** Canonical JSON keys from the root (or from the element, inside a value path) to the attribute. */
  keys: string[];
  /** Set when the attribute at `keys` is multi-valued: the keys inside each element to the compared value (`[]` for simple values). */
  element?: string[];
  type: ScimAttributeType;
  caseExact: boolean;
  /** Lower-cased canonical path (`username`, `meta.lastmodified`, `urn:…:user:department`) by which callers map columns; absent inside value paths. */
  columnKey?: string;
}

/**
 * A filter checked against a resource type: every path resolved, every value of the right type.
 * On a multi-valued attribute a leaf holds when some value satisfies it (RFC 7644 §3.4.2.2),
 * `ne` included; `not (emails co "x")` asks that none does. On a single-valued one an absent
 * attribute fails every operator but `ne`.
 */
export type BoundFilter =
  | { kind: 'compare'; target: BoundTarget; op: CompareOperator; value: string | number | boolean }
  | { kind: 'present'; target: BoundTarget }
  | { kind: 'and'; filters: BoundFilter[] }
  | { kind: 'or'; filters: BoundFilter[] }
  | { kind: 'not'; filter: BoundFilter }
  /** Some element of the multi-valued attribute at `keys` satisfies `filter` (whose targets are element-relative). */
  | { kind: 'valuePath'; text: string; keys: string[]; filter: BoundFilter };

const ORDERING: readonly CompareOperator[] = ['gt', 'ge', 'lt', 'le'];
const SUBSTRING: readonly CompareOperator[] = ['co', 'sw', 'ew'];
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/**
 * Normalises an xsd:dateTime literal to ISO 8601 in UTC, or undefined if it is not one.
 * A time without an offset is read as UTC, so the database and JavaScript agree on it.
 */
export function normalizeDateTime(text: string): string | undefined {
  const m = ISO_DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  let iso = text.trim().replace(' ', 'T');
  if (m[4] === undefined) iso += 'T00:00:00';
  if (m[8] === undefined) iso += 'Z';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  // Date.parse rolls 2021-02-30 over to March; refuse dates that do not exist.
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) return undefined;
  return new Date(t).toISOString();
}

/** Resolves every path of `filter` against `rs` and checks each operator and value against the attribute's type. */
export function bindFilter(filter: FilterNode, rs: ResourceSchema): Result<BoundFilter, ScimProblem> {
  try {
    return ok(bind(filter, { rs }));
  } catch (e) {
    if (e instanceof BindError) return fail(e.problem);
    throw e;
  }
}

/** Binds the filter of a value path (`emails[type eq "work"]`): its paths are sub-attributes of `parent`. */
export function bindValueFilter(filter: FilterNode, parent: ScimAttribute, rs: ResourceSchema): Result<BoundFilter, ScimProblem> {
  try {
    return ok(bind(filter, { rs, parent }));
  } catch (e) {
    if (e instanceof BindError) return fail(e.problem);
    throw e;
  }
}

class BindError extends Error {
  readonly problem: ScimProblem;
  constructor(problem: ScimProblem) {
    super(problem.message);
    this.problem = problem;
  }
}

const problemAt = (p: AttributePath, message: string) =>
  new BindError(scimProblem('invalidFilter', `${message} (at column ${p.column})`, { field: formatPath(p), column: p.column }));

interface Scope {
  rs: ResourceSchema;
  /** Inside `attr[…]`: the multi-valued attribute whose sub-attributes the paths name. */
  parent?: ScimAttribute;
}

function bind(node: FilterNode, scope: Scope): BoundFilter {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, filters: node.filters.map((f) => bind(f, scope)) };
    case 'not':
      return { kind: 'not', filter: bind(node.filter, scope) };
    case 'present':
      return { kind: 'present', target: target(node.path, scope) };
    case 'compare':
      return bindCompare(node.path, node.op, node.value, scope);
    case 'valuePath': {
      const r = resolveAttribute(scope.rs, node.path, 'invalidFilter');
      if (!r.ok) throw new BindError(r.errors[0]!);
      const a = r.value.attribute;
      if (a.type !== 'complex') throw problemAt(node.path, `'${a.name}' is not complex, so it cannot take a value filter '[…]'`);
      // A single-valued complex attribute is filtered as a list of one (see the evaluator and SQL).
      return { kind: 'valuePath', text: formatPath(node.path), keys: r.value.keys, filter: bind(node.filter, { rs: scope.rs, parent: a }) };
    }
  }
}

function target(p: AttributePath, scope: Scope): BoundTarget {
  const text = formatPath(p);
  if (scope.parent) {
    const sub = findAttribute(scope.parent.subAttributes, p.attribute);
    if (!sub) {
      const names = (scope.parent.subAttributes ?? []).map((s) => s.name).join(', ');
      throw problemAt(p, `unknown sub-attribute '${p.attribute}' of '${scope.parent.name}' (it has ${names})`);
    }
    return { text, keys: [sub.name], type: sub.type, caseExact: sub.caseExact };
  }
  const r = resolveAttribute(scope.rs, p, 'invalidFilter');
  if (!r.ok) throw new BindError(r.errors[0]!);
  const { attribute, sub, keys, extension } = r.value;
  const local = sub ? `${attribute.name}.${sub.name}` : attribute.name;
  const columnKey = (extension ? `${extension.id}:${local}` : local).toLowerCase();
  if (attribute.multiValued) {
    // `emails co "x"` compares each email's `value` (RFC 7644 §3.4.2.2); `schemas eq …` each string.
    const inner = sub ?? (attribute.type === 'complex' ? findAttribute(attribute.subAttributes, 'value') : attribute);
    if (!inner) throw problemAt(p, `'${attribute.name}' has no 'value' sub-attribute; name one of its sub-attributes`);
    const arrayKeys = sub ? keys.slice(0, -1) : keys;
    return { text, keys: arrayKeys, element: inner === attribute ? [] : [inner.name], type: inner.type, caseExact: inner.caseExact };
  }
  const leaf = sub ?? attribute;
  return { text, keys, type: leaf.type, caseExact: leaf.caseExact, columnKey };
}

function bindCompare(p: AttributePath, op: CompareOperator, value: FilterValue, scope: Scope): BoundFilter {
  const t = target(p, scope);
  const text = formatPath(p);
  if (value === null) {
    // `eq null` asks for an unassigned attribute (RFC 7643 §2.5 makes null and unassigned the same).
    if (op === 'eq') return { kind: 'not', filter: { kind: 'present', target: t } };
    if (op === 'ne') return { kind: 'present', target: t };
    throw problemAt(p, `'${op}' cannot compare '${text}' with null; only eq and ne accept null`);
  }
  switch (t.type) {
    case 'complex':
      throw problemAt(p, `'${text}' is complex; compare one of its sub-attributes instead`);
    case 'boolean': {
      let b = value;
      if (typeof b === 'string' && /^(true|false)$/i.test(b)) b = b.toLowerCase() === 'true';
      if (typeof b !== 'boolean') throw problemAt(p, `'${text}' is boolean, so the value must be true or false, not ${JSON.stringify(value)}`);
      if (op !== 'eq' && op !== 'ne') throw problemAt(p, `'${op}' does not apply to the boolean '${text}'; use eq or ne`);
      return { kind: 'compare', target: t, op, value: b };
    }
    case 'integer':
    case 'decimal': {
      if (typeof value !== 'number') throw problemAt(p, `'${text}' is a number, so the value must be a number, not ${JSON.stringify(value)}`);
      if (t.type === 'integer' && !Number.isInteger(value)) throw problemAt(p, `'${text}' is an integer, so the value must be a whole number, not ${value}`);
      if (SUBSTRING.includes(op)) throw problemAt(p, `'${op}' applies to strings, not to the number '${text}'`);
      return { kind: 'compare', target: t, op, value };
    }
    case 'dateTime': {
      if (typeof value !== 'string') throw problemAt(p, `'${text}' is a dateTime, so the value must be a quoted ISO 8601 date-time, not ${JSON.stringify(value)}`);
      if (SUBSTRING.includes(op)) throw problemAt(p, `'${op}' applies to strings, not to the dateTime '${text}'`);
      const iso = normalizeDateTime(value);
      if (iso === undefined) throw problemAt(p, `'${text}' is a dateTime, and ${JSON.stringify(value)} is not an ISO 8601 date-time such as "2011-05-13T04:42:34Z"`);
      return { kind: 'compare', target: t, op, value: iso };
    }
    case 'binary':
    case 'string':
    case 'reference':
      if (t.type === 'binary' && ORDERING.includes(op)) throw problemAt(p, `'${op}' does not apply to the binary '${text}'`);
      if (typeof value !== 'string') throw problemAt(p, `'${text}' is a string, so the value must be a "quoted string", not ${JSON.stringify(value)}`);
      return { kind: 'compare', target: t, op, value };
  }
}
