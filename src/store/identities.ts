import { sql } from 'kysely';
import { ENTERPRISE_USER_URN, STEWARD_USER_URN, primaryEmail, type IdentityResource } from '../domain/identity.ts';
import type { Executor } from './db.ts';
import type { IdentityRow } from './tables.ts';

/** The searchable columns derived from a resource; `data` keeps the whole resource. */
export function identityColumns(r: IdentityResource, managerId: string | null) {
  return { ...identityFields(r, managerId), data: JSON.stringify(r) };
}

/** `identityColumns` without `data`: for writers that serialise the resource themselves. */
export function identityFields(r: IdentityResource, managerId: string | null) {
  const ent = r[ENTERPRISE_USER_URN];
  const st = r[STEWARD_USER_URN];
  return {
    user_name: r.userName,
    external_id: r.externalId ?? null,
    active: r.active ?? true,
    kind: st?.kind ?? 'employee',
    status: st?.lifecycleStatus ?? 'active',
    manager_id: managerId,
    display_name: r.displayName ?? null,
    given_name: r.name?.givenName ?? null,
    family_name: r.name?.familyName ?? null,
    email: primaryEmail(r) ?? null,
    department: ent?.department ?? null,
    title: r.title ?? null,
    employee_number: ent?.employeeNumber ?? null,
  };
}

export const getIdentityRow = (db: Executor, id: string): Promise<IdentityRow | undefined> =>
  db.selectFrom('identities').selectAll().where('id', '=', id).executeTakeFirst();

// The keys go in as an array the planner does not look into (`array(select unnest(...))`): given
// the array itself, it weighs each of a batch's thousands of keys, and planning took longer than
// the lookup.

/** Identities by lower-cased userName, for a batch of keys. */
export const identitiesByUserNames = (db: Executor, userNames: readonly string[]): Promise<IdentityRow[]> =>
  userNames.length === 0
    ? Promise.resolve([])
    : db
        .selectFrom('identities')
        .selectAll()
        .where(sql<boolean>`lower(user_name) = any(array(select unnest(${userNames.map((u) => u.toLowerCase())}::text[])))`)
        .execute();

/** Identities by externalId, for a batch of keys. */
export const identitiesByExternalIds = (db: Executor, ids: readonly string[]): Promise<IdentityRow[]> =>
  ids.length === 0 ? Promise.resolve([]) : db.selectFrom('identities').selectAll().where(sql<boolean>`external_id = any(array(select unnest(${[...ids]}::text[])))`).execute();
