import type { Problem } from '../domain/result.ts';
import { StewardError } from '../domain/errors.ts';
import { ENTERPRISE_USER_URN, IDENTITY_KINDS, LIFECYCLE_STATUSES, STEWARD_USER_URN, type IdentityResource } from '../domain/identity.ts';
import { isObject } from '../scim/index.ts';
import { normalizeResource, scimError } from './scim-resource.ts';
import { USER_RESOURCE_TYPE } from './scim-schema.ts';

/** Longest value of an attribute kept in an indexed column (B-tree entries have a size limit). */
export const MAX_KEY_LENGTH = 512;

export interface ValidIdentity {
  resource: IdentityResource;
  /** The manager's id as given (existence is checked against the store). */
  managerId: string | null;
}

/** What an identity is when a body does not say: for a new one, an active employee. */
export interface IdentityDefaults {
  kind: string;
  lifecycleStatus: string;
}

const NEW_IDENTITY: IdentityDefaults = { kind: 'employee', lifecycleStatus: 'active' };

const invalid = (field: string, message: string): Problem => ({ code: 'identity.invalid', field, message: `${field}: ${message}` });

/**
 * Checks a SCIM User body and returns the identity resource Steward stores, or throws
 * `identity.invalid` naming every attribute that is wrong. `password` is accepted and
 * dropped: Steward is not a password store.
 */
export function validateIdentity(body: unknown, current: IdentityDefaults = NEW_IDENTITY): ValidIdentity {
  const n = normalizeResource(body, USER_RESOURCE_TYPE, { discard: ['password'] });
  if (!n.ok) throw scimError(n.errors, n.errors[0]?.scimType === 'invalidSyntax' ? 'request.invalid' : 'identity.invalid');
  const r = n.value;
  const problems: Problem[] = [];

  const userName = r.userName;
  if (typeof userName !== 'string' || userName.trim() === '') problems.push(invalid('userName', 'is required and must be a non-empty string'));
  else if (userName.length > MAX_KEY_LENGTH) problems.push(invalid('userName', `is ${userName.length} characters long; at most ${MAX_KEY_LENGTH} are accepted`));
  if (typeof r.externalId === 'string' && r.externalId.length > MAX_KEY_LENGTH) problems.push(invalid('externalId', `is ${r.externalId.length} characters long; at most ${MAX_KEY_LENGTH} are accepted`));
  (Array.isArray(r.emails) ? r.emails : []).forEach((e, i) => {
    const v = isObject(e) ? e.value : undefined;
    if (typeof v === 'string' && v.length > MAX_KEY_LENGTH) problems.push(invalid(`emails[${i}].value`, `is ${v.length} characters long; at most ${MAX_KEY_LENGTH} are accepted`));
  });

  let managerId: string | null = null;
  const ent = r[ENTERPRISE_USER_URN];
  if (isObject(ent)) {
    const num = ent.employeeNumber;
    if (typeof num === 'string' && num.length > MAX_KEY_LENGTH) problems.push(invalid(`${ENTERPRISE_USER_URN}:employeeNumber`, `is ${num.length} characters long; at most ${MAX_KEY_LENGTH} are accepted`));
    const m = ent.manager;
    if (isObject(m)) {
      // Only the id is the client's: $ref and displayName are derived from it on the way out.
      if (typeof m.value === 'string' && m.value.trim() !== '') {
        managerId = m.value.trim();
        ent.manager = { value: managerId };
      } else {
        delete ent.manager;
      }
    }
    if (Object.keys(ent).length === 0) delete r[ENTERPRISE_USER_URN];
  }

  const st = r[STEWARD_USER_URN];
  if (isObject(st)) {
    checkEnum(st, 'kind', IDENTITY_KINDS, `${STEWARD_USER_URN}:kind`, problems);
    checkEnum(st, 'lifecycleStatus', LIFECYCLE_STATUSES, `${STEWARD_USER_URN}:lifecycleStatus`, problems);
  }

  if (problems.length > 0) {
    throw new StewardError('identity.invalid', problems.map((p) => p.message).join('; '), { problems, scimType: 'invalidValue' });
  }
  // Kind and lifecycle status a body leaves out stay what they were: a client that knows
  // nothing of them (Okta, Entra) must not turn a terminated identity back into an active
  // one. Stored explicitly, with `active`, so that echoing a resource back changes nothing.
  const stored = isObject(st) ? st : {};
  r[STEWARD_USER_URN] = { kind: stored.kind ?? current.kind, lifecycleStatus: stored.lifecycleStatus ?? current.lifecycleStatus };
  if (r.active === undefined) r.active = true;
  const schemas = (r.schemas as string[]).filter((s) => s !== ENTERPRISE_USER_URN || isObject(r[ENTERPRISE_USER_URN]));
  if (!schemas.includes(STEWARD_USER_URN)) schemas.push(STEWARD_USER_URN);
  r.schemas = schemas;
  return { resource: r as unknown as IdentityResource, managerId };
}

/** Checks a value against its canonical values, ignoring case; stores it lower-cased. */
export function checkEnum(o: Record<string, unknown>, key: string, allowed: readonly string[], field: string, problems: Problem[], code = 'identity.invalid'): void {
  const v = o[key];
  if (v === undefined) return;
  const lower = typeof v === 'string' ? v.toLowerCase() : undefined;
  if (lower === undefined || !allowed.includes(lower)) {
    problems.push({ code, field, message: `${field}: must be one of ${allowed.join(', ')}, not ${JSON.stringify(v)}` });
    return;
  }
  o[key] = lower;
}
