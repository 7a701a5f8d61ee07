import type { Expression, RawBuilder, SqlBool } from 'kysely';
import { sql } from 'kysely';
import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from './errors.ts';
import { scimProblem } from './errors.ts';
import type { BoundFilter } from './filter-bind.ts';
import { bindFilter } from './filter-bind.ts';
import type { AttributePath, CompareOperator, FilterNode } from './filter.ts';
import { formatPath } from './filter.ts';
import type { ResourceSchema, ScimAttributeType } from './schema-model.ts';
import { findAttribute, resolveAttribute } from './schema-model.ts';

/** How a column holds an attribute; `uuid` columns get non-UUID values compared without a cast error. */
export type SqlColumnType = 'string' | 'boolean' | 'datetime' | 'number' | 'uuid';

/** A single-valued attribute kept in its own column. */
export interface SqlColumn {
  /** The column reference, e.g. `sql.ref('u.user_name')`. */
  sql: Expression<unknown>;
  /** Defaults to the attribute's SCIM type (string, boolean, dateTime → datetime, integer/decimal → number). */
  type?: SqlColumnType;
  /** Defaults to the attribute's `caseExact`. */
  caseExact?: boolean;
}

/** Where a resource type's attributes live in SQL. */
export interface FilterSqlMapping {
  resource: ResourceSchema;
  /** The jsonb column with the whole resource in SCIM shape (extensions under their URN key). */
  json: Expression<unknown>;
  /**
   * Attributes kept in columns, keyed by lower-cased canonical path: `id`, `username`,
   * `meta.lastmodified`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber`.
   * Every other attribute is read from `json`.
   */
  columns?: Record<string, SqlColumn>;
}

// JSON keys come from the schema definitions, never from the filter text, so they are
// written as SQL literals (which keeps expression indexes usable); every value compared
// against is a bound parameter.
const key = (k: string) => sql.lit(k);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_WITH_OFFSET = String.raw`^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)$`;
const DATE_NO_OFFSET = String.raw`^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$`;
const EMPTY_JSON = sql`('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb)`;

/** Escapes `%`, `_` and `\` so a value matches literally inside a LIKE pattern with ESCAPE '\'. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Compiles a parsed filter to a boolean SQL expression over `mapping`; values are always bound parameters. */
export function compileFilter(filter: FilterNode, mapping: FilterSqlMapping): Result<RawBuilder<SqlBool>, ScimProblem> {
  const bound = bindFilter(filter, mapping.resource);
  if (!bound.ok) return bound;
  return ok(compileBound(bound.value, mapping));
}

/** Compiles an already bound filter (see `bindFilter`). */
export function compileBound(filter: BoundFilter, mapping: FilterSqlMapping): RawBuilder<SqlBool> {
  return node(filter, { root: mapping.json, mapping });
}

interface Ctx {
  /** jsonb the target keys start from: the resource, or one element inside a value path. */
  root: Expression<unknown>;
  /** Present only at the resource level, where columns apply. */
  mapping?: FilterSqlMapping;
}

function node(f: BoundFilter, ctx: Ctx): RawBuilder<SqlBool> {
  switch (f.kind) {
    case 'and':
      return sql<SqlBool>`(${sql.join(f.filters.map((x) => node(x, ctx)), sql` AND `)})`;
    case 'or':
      return sql<SqlBool>`(${sql.join(f.filters.map((x) => node(x, ctx)), sql` OR `)})`;
    case 'not':
      return sql<SqlBool>`(NOT ${node(f.filter, ctx)})`;
    case 'valuePath':
      return exists(jsonAt(ctx.root, f.keys), (elem) => node(f.filter, { root: elem }));
    case 'present':
    case 'compare':
      return leaf(f, ctx);
  }
}

function jsonAt(root: Expression<unknown>, keys: readonly string[]): RawBuilder<unknown> {
  return keys.reduce<RawBuilder<unknown>>((acc, k) => sql`${acc}->${key(k)}`, sql`${root}`);
}

// `jsonb #>> '{}'` is the text of any jsonb scalar; for a string it is unquoted.
const textOf = (j: Expression<unknown>) => sql<string>`(${j} #>> '{}')`;

/** `EXISTS` over the elements of a multi-valued attribute; a lone object is a list of one. */
function exists(arr: RawBuilder<unknown>, where: (elem: RawBuilder<unknown>) => RawBuilder<SqlBool>): RawBuilder<SqlBool> {
  const elem = sql`scim_e.elem`;
  const list = sql`CASE jsonb_typeof(${arr}) WHEN 'array' THEN ${arr} WHEN 'object' THEN jsonb_build_array(${arr}) ELSE '[]'::jsonb END`;
  return sql<SqlBool>`EXISTS (SELECT 1 FROM jsonb_array_elements(${list}) AS scim_e(elem) WHERE ${where(elem)})`;
}

function leaf(f: Extract<BoundFilter, { kind: 'present' | 'compare' }>, ctx: Ctx): RawBuilder<SqlBool> {
  const t = f.target;
  const columns = ctx.mapping?.columns;
  if (columns && t.element === undefined && t.columnKey !== undefined && Object.hasOwn(columns, t.columnKey)) {
    return columnLeaf(f, columns[t.columnKey]!);
  }
  const at = jsonAt(ctx.root, t.keys);
  if (t.element !== undefined) {
    const inner = t.element;
    return exists(at, (elem) => jsonLeaf(f, inner.length === 0 ? elem : jsonAt(elem, inner)));
  }
  return jsonLeaf(f, at);
}

function jsonLeaf(f: Extract<BoundFilter, { kind: 'present' | 'compare' }>, j: RawBuilder<unknown>): RawBuilder<SqlBool> {
  if (f.kind === 'present') return sql<SqlBool>`coalesce(${j} NOT IN ${EMPTY_JSON}, false)`;
  const { op, value, target } = f;
  const x = textOf(j);
  switch (target.type) {
    case 'boolean':
      return equality(x, sql`${String(value)}`, op);
    case 'integer':
    case 'decimal':
      return ordered(sql`(CASE WHEN jsonb_typeof(${j}) = 'number' THEN ${x}::numeric END)`, sql`${value}::numeric`, op);
    case 'dateTime': {
      const ts = sql`(CASE WHEN ${x} ~ ${sql.lit(DATE_WITH_OFFSET)} THEN ${x}::timestamptz WHEN ${x} ~ ${sql.lit(DATE_NO_OFFSET)} THEN ${x}::timestamp AT TIME ZONE 'UTC' END)`;
      return ordered(ts, sql`${value}::timestamptz`, op);
    }
    case 'string':
    case 'reference':
    case 'binary':
    case 'complex':
      return stringCompare(x, value as string, op, target.caseExact);
  }
}

function columnLeaf(f: Extract<BoundFilter, { kind: 'present' | 'compare' }>, column: SqlColumn): RawBuilder<SqlBool> {
  const t = f.target;
  const type = column.type ?? columnTypeOf(t.type);
  const c = sql`${column.sql}`;
  if (f.kind === 'present') {
    return type === 'string' ? sql<SqlBool>`coalesce(${c} <> '', false)` : sql<SqlBool>`(${c} IS NOT NULL)`;
  }
  const { op, value } = f;
  switch (type) {
    case 'boolean':
      return equality(c, sql`${value}::boolean`, op);
    case 'number':
      return ordered(c, sql`${value}::numeric`, op);
    case 'datetime':
      return ordered(c, sql`${value}::timestamptz`, op);
    case 'uuid': {
      const v = String(value);
      // Casting a non-UUID to uuid would fail the whole query; no row can equal one anyway.
      if ((op === 'eq' || op === 'ne') && UUID.test(v)) return equality(c, sql`${v}::uuid`, op);
      if (op === 'eq') return sql<SqlBool>`false`;
      if (op === 'ne') return sql<SqlBool>`true`;
      return stringCompare(sql`${c}::text`, v, op, false);
    }
    case 'string':
      return stringCompare(c, String(value), op, column.caseExact ?? t.caseExact);
  }
}

function columnTypeOf(t: ScimAttributeType): SqlColumnType {
  switch (t) {
    case 'boolean':
      return 'boolean';
    case 'dateTime':
      return 'datetime';
    case 'integer':
    case 'decimal':
      return 'number';
    case 'string':
    case 'reference':
    case 'binary':
    case 'complex':
      return 'string';
  }
}

// Every leaf is two-valued (never NULL), so NOT over an absent attribute behaves as SCIM expects.
// `x op v AND x IS NOT NULL` is that (v is never NULL) and, unlike coalesce(x op v, false),
// lets PostgreSQL use an index on x: a userName lookup among 20,000 users went from a
// sequential scan to an index scan.
const twoValued = (x: RawBuilder<unknown>, cmp: RawBuilder<unknown>) => sql<SqlBool>`(${cmp} AND ${x} IS NOT NULL)`;

function equality(x: RawBuilder<unknown>, v: RawBuilder<unknown>, op: CompareOperator): RawBuilder<SqlBool> {
  if (op === 'ne') return sql<SqlBool>`(${x} IS DISTINCT FROM ${v})`;
  return twoValued(x, sql`${x} = ${v}`);
}

function ordered(x: RawBuilder<unknown>, v: RawBuilder<unknown>, op: CompareOperator): RawBuilder<SqlBool> {
  switch (op) {
    case 'eq':
    case 'ne':
      return equality(x, v, op);
    case 'gt':
      return twoValued(x, sql`${x} > ${v}`);
    case 'ge':
      return twoValued(x, sql`${x} >= ${v}`);
    case 'lt':
      return twoValued(x, sql`${x} < ${v}`);
    case 'le':
      return twoValued(x, sql`${x} <= ${v}`);
    case 'co':
    case 'sw':
    case 'ew':
      // bindFilter refuses substring operators on non-strings.
      return sql<SqlBool>`false`;
  }
}

function stringCompare(x: RawBuilder<unknown>, value: string, op: CompareOperator, caseExact: boolean): RawBuilder<SqlBool> {
  const lhs = caseExact ? x : sql`lower(${x})`;
  const fold = (v: RawBuilder<unknown>) => (caseExact ? v : sql`lower(${v})`);
  switch (op) {
    case 'eq':
    case 'ne':
      return equality(lhs, fold(sql`${value}`), op);
    case 'co':
      return twoValued(lhs, sql`${lhs} LIKE ${fold(sql`${`%${escapeLike(value)}%`}`)} ESCAPE '\\'`);
    case 'sw':
      return twoValued(lhs, sql`${lhs} LIKE ${fold(sql`${`${escapeLike(value)}%`}`)} ESCAPE '\\'`);
    case 'ew':
      return twoValued(lhs, sql`${lhs} LIKE ${fold(sql`${`%${escapeLike(value)}`}`)} ESCAPE '\\'`);
    // Byte order ("C" collation) so the order does not depend on the server's locale.
    case 'gt':
      return twoValued(lhs, sql`${lhs} COLLATE "C" > ${fold(sql`${value}`)}`);
    case 'ge':
      return twoValued(lhs, sql`${lhs} COLLATE "C" >= ${fold(sql`${value}`)}`);
    case 'lt':
      return twoValued(lhs, sql`${lhs} COLLATE "C" < ${fold(sql`${value}`)}`);
    case 'le':
      return twoValued(lhs, sql`${lhs} COLLATE "C" <= ${fold(sql`${value}`)}`);
  }
}

/**
 * The value to sort by for `sortBy` (RFC 7644 §3.4.2.3): the column or JSON text of a
 * single-valued attribute; for a multi-valued one, the primary (else the first) value.
 */
export function compileSortValue(path: AttributePath, mapping: FilterSqlMapping): Result<RawBuilder<unknown>, ScimProblem> {
  const r = resolveAttribute(mapping.resource, path, 'invalidPath');
  if (!r.ok) return r;
  const { attribute, sub, keys, extension } = r.value;
  const local = sub ? `${attribute.name}.${sub.name}` : attribute.name;
  const columnKey = (extension ? `${extension.id}:${local}` : local).toLowerCase();
  const columns = mapping.columns ?? {};
  if (!attribute.multiValued && Object.hasOwn(columns, columnKey)) return ok(sql`${columns[columnKey]!.sql}`);
  if (!attribute.multiValued) {
    if ((sub ?? attribute).type === 'complex') {
      return fail(scimProblem('invalidPath', `cannot sort by the complex '${formatPath(path)}'; name one of its sub-attributes`, { field: formatPath(path), column: path.column }));
    }
    return ok(textOf(jsonAt(mapping.json, keys)));
  }
  const inner = sub ?? (attribute.type === 'complex' ? findAttribute(attribute.subAttributes, 'value') : undefined);
  const arr = jsonAt(mapping.json, sub ? keys.slice(0, -1) : keys);
  const pick = inner ? sql`scim_s.elem->${key(inner.name)}` : sql`scim_s.elem`;
  const list = sql`CASE jsonb_typeof(${arr}) WHEN 'array' THEN ${arr} ELSE '[]'::jsonb END`;
  return ok(
    sql`(SELECT ${textOf(pick)} FROM jsonb_array_elements(${list}) WITH ORDINALITY AS scim_s(elem, n) ORDER BY coalesce(scim_s.elem->'primary' = 'true'::jsonb, false) DESC, scim_s.n LIMIT 1)`,
  );
}
