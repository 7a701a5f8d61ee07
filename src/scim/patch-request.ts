import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from './errors.ts';
import { scimProblem } from './errors.ts';
import { PATCH_OP_SCHEMA_ID } from './schemas.ts';

/** One validated PATCH operation; `op` lower-cased, since Entra sends `Replace` and `Add`. */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace';
  path?: string;
  /** `undefined` when the operation had no `value` member. */
  value: unknown;
  /** The operation's position in `Operations`, for error fields. */
  index: number;
}

export const DEFAULT_MAX_OPERATIONS = 1000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// Member names are matched ignoring case: RFC 7643 §2.1 makes attribute names case-insensitive.
function member(o: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : o[key];
}

/** Checks a PatchOp message (RFC 7644 §3.5.2) and returns its operations, or every problem found. */
export function parsePatchRequest(body: unknown, maxOperations = DEFAULT_MAX_OPERATIONS): Result<PatchOperation[], ScimProblem> {
  if (!isObject(body)) return fail(scimProblem('invalidSyntax', 'the PATCH body must be a JSON object with "schemas" and "Operations"'));
  const schemas = member(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA_ID.toLowerCase())) {
    return fail(scimProblem('invalidSyntax', `"schemas" must be a list containing "${PATCH_OP_SCHEMA_ID}"`, { field: 'schemas' }));
  }
  const operations = member(body, 'Operations');
  if (!Array.isArray(operations)) return fail(scimProblem('invalidSyntax', '"Operations" must be a list of operations', { field: 'Operations' }));
  if (operations.length === 0) return fail(scimProblem('invalidSyntax', '"Operations" must hold at least one operation', { field: 'Operations' }));
  if (operations.length > maxOperations) {
    return fail(scimProblem('tooMany', `"Operations" holds ${operations.length} operations; at most ${maxOperations} are accepted in one request`, { field: 'Operations' }));
  }
  const problems: ScimProblem[] = [];
  const result: PatchOperation[] = [];
  operations.forEach((raw, index) => {
    const field = `Operations[${index}]`;
    if (!isObject(raw)) {
      problems.push(scimProblem('invalidSyntax', `${field} must be an object with "op", and "path" or "value"`, { field }));
      return;
    }
    const op = member(raw, 'op');
    const name = typeof op === 'string' ? op.toLowerCase() : undefined;
    if (name !== 'add' && name !== 'remove' && name !== 'replace') {
      problems.push(scimProblem('invalidSyntax', `${field}.op must be "add", "remove" or "replace", not ${JSON.stringify(op) ?? 'missing'}`, { field: `${field}.op` }));
      return;
    }
    const path = member(raw, 'path');
    if (path !== undefined && typeof path !== 'string') {
      problems.push(scimProblem('invalidPath', `${field}.path must be a string`, { field: `${field}.path` }));
      return;
    }
    const value = member(raw, 'value');
    if (name !== 'remove' && value === undefined) {
      problems.push(scimProblem('invalidValue', `${field}: "${name}" needs a "value"`, { field: `${field}.value` }));
      return;
    }
    if (name === 'remove' && (path === undefined || path.trim() === '')) {
      problems.push(scimProblem('noTarget', `${field}: "remove" needs a "path" naming what to remove`, { field: `${field}.path` }));
      return;
    }
    const parsed: PatchOperation = { op: name, value, index };
    if (typeof path === 'string' && path.trim() !== '') parsed.path = path;
    result.push(parsed);
  });
  return problems.length > 0 ? fail(...problems) : ok(result);
}
