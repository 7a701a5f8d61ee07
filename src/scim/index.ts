// The SCIM 2.0 protocol logic (RFC 7643/7644) the /v2.0 routes build on: filters, their
// SQL, PATCH, and the schema descriptions. Pure modules: no HTTP, no store.
export type { ScimProblem, ScimType } from './errors.ts';
export { SCIM_CODES, scimProblem } from './errors.ts';
export type { AttributePath, CompareOperator, FilterNode, FilterOptions, FilterValue, PatchPath } from './filter.ts';
export { COMPARE_OPERATORS, DEFAULT_MAX_FILTER_DEPTH, DEFAULT_MAX_FILTER_LENGTH, formatPath, parseAttributePath, parseFilter, parsePatchPath } from './filter.ts';
export type { BoundFilter, BoundTarget } from './filter-bind.ts';
export { bindFilter, bindValueFilter, normalizeDateTime } from './filter-bind.ts';
export { evaluateFilter, isPresent } from './filter-eval.ts';
export type { FilterSqlMapping, SqlColumn, SqlColumnType } from './filter-sql.ts';
export { compileBound, compileFilter, compileSortValue, escapeLike } from './filter-sql.ts';
export type { PatchOptions } from './patch.ts';
export { applyPatch } from './patch.ts';
export { coerceAttribute, getAttr, isObject } from './patch-values.ts';
export type { PatchOperation } from './patch-request.ts';
export { DEFAULT_MAX_OPERATIONS, parsePatchRequest } from './patch-request.ts';
export type { ResolvedAttribute, ResourceSchema, ScimAttribute, ScimAttributeType, ScimSchema } from './schema-model.ts';
export { COMMON_ATTRIBUTES, defineAttribute, extensionNamedBy, findAttribute, findExtension, resolveAttribute } from './schema-model.ts';
export {
  CORE_GROUP_SCHEMA,
  CORE_GROUP_SCHEMA_ID,
  CORE_USER_SCHEMA,
  CORE_USER_SCHEMA_ID,
  ENTERPRISE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA_ID,
  GROUP_RESOURCE,
  PATCH_OP_SCHEMA_ID,
  USER_RESOURCE,
} from './schemas.ts';
