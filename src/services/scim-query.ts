// What a SCIM list request asks for (RFC 7644 §3.4.2), checked and compiled to SQL.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { ScimProblem } from '../scim/index.ts';
import { scimProblem } from '../scim/index.ts';
import type { FilterNode } from '../scim/index.ts';
import { parseAttributePath, parseFilter } from '../scim/index.ts';
import type { FilterSqlMapping } from '../scim/index.ts';
import { compileFilter, compileSortValue } from '../scim/index.ts';
import { scimError } from './scim-resource.ts';

/** Most resources one list page holds; a larger `count` is cut to this (RFC 7644 §3.4.2.4 allows it). */
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;

/** A list request as SCIM states it. */
export interface ListQuery {
  filter?: string;
  /** 1-based; below 1 is read as 1 (RFC 7644 §3.4.2.4). */
  startIndex?: number;
  /** Negative is read as 0; above MAX_PAGE_SIZE as MAX_PAGE_SIZE. */
  count?: number;
  sortBy?: string;
  sortOrder?: string;
}

export interface ListPage<T> {
  totalResults: number;
  startIndex: number;
  items: T[];
}

export interface CompiledQuery {
  where: RawBuilder<SqlBool>;
  orderBy?: RawBuilder<unknown>;
  descending: boolean;
  offset: number;
  limit: number;
  startIndex: number;
}

/** Whether a filter names `attribute` (of the core schema) anywhere. */
export function mentions(node: FilterNode, attribute: string): boolean {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.filters.some((f) => mentions(f, attribute));
    case 'not':
      return mentions(node.filter, attribute);
    case 'valuePath':
    case 'present':
    case 'compare':
      return node.path.attribute.toLowerCase() === attribute.toLowerCase() && (node.path.uri === undefined || node.path.uri.toLowerCase().includes(':core:'));
  }
}

// An escaped \u0000 in a filter string would reach PostgreSQL, which refuses it in text.
function nulProblem(node: FilterNode): ScimProblem | undefined {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const f of node.filters) {
        const p = nulProblem(f);
        if (p) return p;
      }
      return undefined;
    case 'not':
      return nulProblem(node.filter);
    case 'valuePath':
      return nulProblem(node.filter);
    case 'present':
      return undefined;
    case 'compare':
      return typeof node.value === 'string' && node.value.includes('\u0000')
        ? scimProblem('invalidFilter', `the value compared with '${node.path.attribute}' (column ${node.path.column}) contains a NUL character, which no stored value can hold`, { column: node.path.column })
        : undefined;
  }
}

/**
 * Compiles a list request: the filter to a WHERE clause over `mapping` (through
 * `mappingFor`, which may widen the JSON for the filter at hand), `sortBy` to a sort value,
 * and `startIndex`/`count` to an offset and limit. Throws `scim.invalid_filter` or
 * `scim.invalid_path` naming the position.
 */
export function compileListQuery(q: ListQuery, mappingFor: (filter: FilterNode | undefined) => FilterSqlMapping): CompiledQuery {
  let parsed: FilterNode | undefined;
  if (q.filter !== undefined && q.filter.trim() !== '') {
    const p = parseFilter(q.filter);
    if (!p.ok) throw scimError(p.errors);
    const nul = nulProblem(p.value);
    if (nul) throw scimError([nul]);
    parsed = p.value;
  }
  const mapping = mappingFor(parsed);
  let where: RawBuilder<SqlBool> = sql<SqlBool>`true`;
  if (parsed) {
    const c = compileFilter(parsed, mapping);
    if (!c.ok) throw scimError(c.errors);
    where = c.value;
  }
  let orderBy: RawBuilder<unknown> | undefined;
  if (q.sortBy !== undefined && q.sortBy.trim() !== '') {
    const path = parseAttributePath(q.sortBy.trim());
    if (!path.ok) throw scimError(path.errors.map((e) => ({ ...e, field: 'sortBy', message: `sortBy: ${e.message}` })));
    const s = compileSortValue(path.value, mapping);
    if (!s.ok) throw scimError(s.errors.map((e) => ({ ...e, message: `sortBy: ${e.message}` })));
    orderBy = s.value;
  }
  const order = (q.sortOrder ?? 'ascending').toLowerCase();
  if (order !== 'ascending' && order !== 'descending') {
    throw scimError([scimProblem('invalidValue', `sortOrder: must be "ascending" or "descending", not ${JSON.stringify(q.sortOrder)}`, { field: 'sortOrder' })]);
  }
  const startIndex = Math.max(1, Math.trunc(q.startIndex ?? 1));
  const limit = Math.min(MAX_PAGE_SIZE, Math.max(0, Math.trunc(q.count ?? DEFAULT_PAGE_SIZE)));
  return { where, ...(orderBy ? { orderBy } : {}), descending: order === 'descending', offset: startIndex - 1, limit, startIndex };
}
