import { StewardError } from '../domain/errors.ts';
import type { Problem } from '../domain/result.ts';
import type { ScimProblem } from '../scim/index.ts';
import { scimProblem } from '../scim/index.ts';
import { getAttr, isObject } from '../scim/index.ts';
import { MAX_KEY_LENGTH, checkEnum } from './identity-validate.ts';
import { normalizeResource, scimError } from './scim-resource.ts';
import { GROUP_KINDS, GROUP_RESOURCE_TYPE, STEWARD_GROUP_URN, type GroupKind } from './scim-schema.ts';

export interface ValidGroup {
  /** The Group without `members`, `id` and `meta`: what `data` holds. */
  resource: Record<string, unknown>;
  displayName: string;
  externalId: string | null;
  /** Undefined when the body does not say (a replacement then keeps the current kind). */
  kind: GroupKind | undefined;
  description: string | null;
  /** Whether the body carries the Steward extension at all. */
  steward: boolean;
  /** Member identity ids, each once, in the order given. */
  members: string[];
}

/**
 * The identity ids a `members` value names: a list (or one) of `{ value }` objects, or bare
 * ids. Members are Users only; a `type` other than User is refused.
 */
export function memberIdsOf(value: unknown, field: string, problems: ScimProblem[]): string[] {
  const ids: string[] = [];
  const list: unknown[] = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  list.forEach((m, i) => {
    const f = Array.isArray(value) ? `${field}[${i}]` : field;
    if (m === null) return;
    const v = isObject(m) ? getAttr(m, 'value') : m;
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(scimProblem('invalidValue', `${f}: a member needs its identity id as a string "value"`, { field: f }));
      return;
    }
    const type = isObject(m) ? getAttr(m, 'type') : undefined;
    if (type !== undefined && type !== null && (typeof type !== 'string' || type.toLowerCase() !== 'user')) {
      problems.push(scimProblem('invalidValue', `${f}.type: members are Users; groups cannot be members of groups (got ${JSON.stringify(type)})`, { field: `${f}.type` }));
      return;
    }
    ids.push(v.trim().toLowerCase());
  });
  return [...new Set(ids)];
}

/** Checks a SCIM Group body; throws `group.invalid` naming every attribute that is wrong. */
export function validateGroup(body: unknown): ValidGroup {
  const n = normalizeResource(body, GROUP_RESOURCE_TYPE);
  if (!n.ok) throw scimError(n.errors, n.errors[0]?.scimType === 'invalidSyntax' ? 'request.invalid' : 'group.invalid');
  const r = n.value;
  const scimProblems: ScimProblem[] = [];
  const members = memberIdsOf(r.members, 'members', scimProblems);
  if (scimProblems.length > 0) throw scimError(scimProblems, 'group.invalid');
  delete r.members;

  const problems: Problem[] = [];
  const bad = (field: string, message: string) => problems.push({ code: 'group.invalid', field, message: `${field}: ${message}` });
  const displayName = r.displayName;
  if (typeof displayName !== 'string' || displayName.trim() === '') bad('displayName', 'is required and must be a non-empty string');
  else if (displayName.length > MAX_KEY_LENGTH) bad('displayName', `is ${displayName.length} characters long; at most ${MAX_KEY_LENGTH} are accepted`);
  const externalId = typeof r.externalId === 'string' ? r.externalId : null;
  if (externalId !== null && externalId.length > MAX_KEY_LENGTH) bad('externalId', `is ${externalId.length} characters long; at most ${MAX_KEY_LENGTH} are accepted`);

  let kind: GroupKind | undefined;
  let description: string | null = null;
  const st = r[STEWARD_GROUP_URN];
  if (isObject(st)) {
    checkEnum(st, 'kind', GROUP_KINDS, `${STEWARD_GROUP_URN}:kind`, problems, 'group.invalid');
    kind = st.kind as GroupKind | undefined;
    description = typeof st.description === 'string' ? st.description : null;
  }
  if (problems.length > 0) throw new StewardError('group.invalid', problems.map((p) => p.message).join('; '), { problems, scimType: 'invalidValue' });
  return { resource: r, displayName: displayName as string, externalId, kind, description, steward: isObject(st), members };
}
