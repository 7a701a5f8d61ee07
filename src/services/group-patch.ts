// A Group PatchOp split in two: operations on `members` become set operations on
// group_members (so adding one member to a 10,000-member group reads none of the others),
// and every other operation goes through applyPatch on the group's own attributes.
import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from '../scim/index.ts';
import { scimProblem } from '../scim/index.ts';
import type { BoundFilter } from '../scim/index.ts';
import { bindValueFilter } from '../scim/index.ts';
import { parsePatchPath } from '../scim/index.ts';
import { isObject } from '../scim/index.ts';
import { parsePatchRequest } from '../scim/index.ts';
import { PATCH_OP_SCHEMA_ID } from '../scim/index.ts';
import { findAttribute } from '../scim/index.ts';
import { memberIdsOf } from './group-validate.ts';
import { GROUP_RESOURCE_TYPE } from './scim-schema.ts';

/** One change to a group's membership, in the order the request gave it. */
export type MemberOp =
  | { kind: 'add'; ids: string[]; field: string }
  | { kind: 'replace'; ids: string[]; field: string }
  | { kind: 'remove'; ids: string[] }
  | { kind: 'removeAll' }
  | { kind: 'removeWhere'; filter: BoundFilter };

export interface SplitPatch {
  members: MemberOp[];
  /** A PatchOp body with the remaining operations, or undefined when none remain. */
  rest: { schemas: string[]; Operations: Record<string, unknown>[] } | undefined;
}

const MEMBERS = findAttribute(GROUP_RESOURCE_TYPE.core.attributes, 'members')!;
const CORE = GROUP_RESOURCE_TYPE.core.id.toLowerCase();

const isMembersKey = (k: string) => k.toLowerCase() === 'members' || k.toLowerCase() === `${CORE}:members`;

/** The member ids a filter selects when it is only `value eq` tests joined by `or`. */
function idsNamedBy(f: BoundFilter): string[] | undefined {
  if (f.kind === 'compare' && f.op === 'eq' && typeof f.value === 'string' && f.target.keys.length === 1 && f.target.keys[0] === 'value' && f.target.element === undefined) {
    return [f.value.toLowerCase()];
  }
  if (f.kind !== 'or') return undefined;
  const out: string[] = [];
  for (const x of f.filters) {
    const ids = idsNamedBy(x);
    if (!ids) return undefined;
    out.push(...ids);
  }
  return out;
}

/** Splits a Group PatchOp message into membership changes and the other operations. */
export function splitGroupPatch(body: unknown): Result<SplitPatch, ScimProblem> {
  const ops = parsePatchRequest(body);
  if (!ops.ok) return ops;
  const members: MemberOp[] = [];
  const rest: Record<string, unknown>[] = [];
  const problems: ScimProblem[] = [];
  for (const op of ops.value) {
    const field = `Operations[${op.index}]`;
    const passOn = (value: unknown) => rest.push({ op: op.op, ...(op.path === undefined ? {} : { path: op.path }), ...(value === undefined ? {} : { value }) });
    if (op.path === undefined) {
      // `{ op: add, value: { members: [...], displayName } }`: the members part is taken out.
      if (!isObject(op.value)) {
        passOn(op.value);
        continue;
      }
      const others: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(op.value)) {
        if (!isMembersKey(k)) others[k] = v;
        else if (op.op === 'remove') problems.push(scimProblem('noTarget', `${field}: "remove" names its target with a "path"`, { field }));
        else members.push({ kind: op.op, ids: memberIdsOf(v, `${field}.value.${k}`, problems), field: `${field}.value.${k}` });
      }
      if (Object.keys(others).length > 0) passOn(others);
      continue;
    }
    const path = parsePatchPath(op.path);
    if (!path.ok || !isMembersKey(path.value.uri === undefined ? path.value.attribute : `${path.value.uri}:${path.value.attribute}`)) {
      passOn(op.value);
      continue;
    }
    const p = path.value;
    if (p.subAttribute !== undefined || p.valueSubAttribute !== undefined || (p.filter && op.op !== 'remove')) {
      problems.push(scimProblem('invalidPath', `${field}.path: members are added and removed whole, by their "value" (identity id); '${op.path}' names a part of a member`, { field: `${field}.path` }));
      continue;
    }
    if (p.filter) {
      const bound = bindValueFilter(p.filter, MEMBERS, GROUP_RESOURCE_TYPE);
      if (!bound.ok) problems.push(...bound.errors.map((e) => ({ ...e, code: 'scim.invalid_path', scimType: 'invalidPath' as const, field: `${field}.path`, message: `${field}.path: ${e.message}` })));
      else {
        // `members[value eq "…"]` (what Okta and Entra send) is a delete by key; other filters are evaluated over the members.
        const ids = idsNamedBy(bound.value);
        members.push(ids ? { kind: 'remove', ids } : { kind: 'removeWhere', filter: bound.value });
      }
      continue;
    }
    if (op.op === 'remove') {
      // Entra removes members by a value list; without one, remove clears the attribute.
      if (op.value === undefined || op.value === null) members.push({ kind: 'removeAll' });
      else members.push({ kind: 'remove', ids: memberIdsOf(op.value, `${field}.value`, problems) });
    } else {
      members.push({ kind: op.op, ids: memberIdsOf(op.value, `${field}.value`, problems), field: `${field}.value` });
    }
  }
  if (problems.length > 0) return fail(...problems);
  return ok({ members, rest: rest.length > 0 ? { schemas: [PATCH_OP_SCHEMA_ID], Operations: rest } : undefined });
}
