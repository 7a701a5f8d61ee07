/**
 * The reads plans need, each one set-based: a plan's applications, accounts and identities
 * in one query apiece, and a batch of identities' desired and actual access likewise, so
 * that the number of queries never grows with the number of requests or identities.
 */
import { sql } from 'kysely';
import type { Executor } from './db.ts';
import type { AccountRow, ApplicationRow, IdentityRow } from './tables.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

/** Applications by name, ignoring case (names are unique that way). */
export function applicationsByNames(db: Executor, names: readonly string[]): Promise<ApplicationRow[]> {
  if (names.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('applications')
    .selectAll()
    .where(sql<boolean>`lower(name) = any(${[...new Set(names.map((n) => n.toLowerCase()))]}::text[])`)
    .execute();
}

/** Applications by id. */
export function applicationsByIds(db: Executor, ids: readonly string[]): Promise<ApplicationRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('applications').selectAll().where(sql<boolean>`id = any(${[...new Set(ids)]}::uuid[])`).execute();
}

/** The accounts with these (application id, native identity) keys, those that exist. */
export function accountsByKeys(db: Executor, keys: readonly { applicationId: string; nativeIdentity: string }[]): Promise<AccountRow[]> {
  if (keys.length === 0) return Promise.resolve([]);
  const apps = keys.map((k) => k.applicationId);
  const natives = keys.map((k) => k.nativeIdentity);
  return db
    .selectFrom('accounts')
    .selectAll()
    .where(sql<boolean>`(application_id, native_identity) in (select * from unnest(${apps}::uuid[], ${natives}::text[]))`)
    .execute();
}

/** Identities named by id or by userName (ignoring case). */
export function identitiesByRefs(db: Executor, refs: readonly string[]): Promise<IdentityRow[]> {
  if (refs.length === 0) return Promise.resolve([]);
  const ids = refs.filter(isUuid);
  const names = refs.map((r) => r.toLowerCase());
  return db
    .selectFrom('identities')
    .selectAll()
    .where(sql<boolean>`(id = any(${ids}::uuid[]) or lower(user_name) = any(${names}::text[]))`)
    .execute();
}

/** The identity columns attribute mappings read. */
export const MAPPED_IDENTITY_COLUMNS = ['id', 'user_name', 'external_id', 'active', 'status', 'display_name', 'given_name', 'family_name', 'email', 'department', 'title', 'employee_number'] as const;
export type MappedIdentity = Pick<IdentityRow, (typeof MAPPED_IDENTITY_COLUMNS)[number]>;

/** Identities by id, the columns attribute mappings read (no timestamps or extension data to parse). */
export function identitiesByIds(db: Executor, ids: readonly string[]): Promise<MappedIdentity[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('identities').select(MAPPED_IDENTITY_COLUMNS).where(sql<boolean>`id = any(${ids}::uuid[])`).execute();
}

/** One live assignment an identity holds, directly or through a group. */
export interface LiveGrant {
  identity_id: string;
  application_id: string;
  entitlement_id: string | null;
  kind: string | null;
  native_value: string | null;
}

/**
 * The live assignments (status active, `now` within validFrom/validUntil) of these
 * identities, their own and through their groups, with each entitlement's kind and value.
 * One held both ways comes twice; callers collect into sets.
 */
export async function liveGrants(db: Executor, identityIds: readonly string[], now: Date): Promise<LiveGrant[]> {
  if (identityIds.length === 0) return [];
  const r = await sql<LiveGrant>`
    with ids as (select unnest(${identityIds}::uuid[]) as identity_id),
    held as (
      select a.identity_id, a.application_id, a.entitlement_id, a.valid_from, a.valid_until, a.status
        from assignments a join ids on ids.identity_id = a.identity_id
      union all
      select m.identity_id, a.application_id, a.entitlement_id, a.valid_from, a.valid_until, a.status
        from group_members m join ids on ids.identity_id = m.identity_id
        join assignments a on a.group_id = m.group_id
    )
    select h.identity_id, h.application_id, h.entitlement_id, e.kind, e.native_value
      from held h left join entitlements e on e.id = h.entitlement_id
     where h.status = 'active'
       and (h.valid_from is null or h.valid_from <= ${now})
       and (h.valid_until is null or h.valid_until > ${now})`.execute(db);
  return r.rows;
}

export type OwnedAccount = Pick<AccountRow, 'application_id' | 'native_identity' | 'identity_id' | 'enabled' | 'locked' | 'attributes'>;

/** The accounts these identities own (as reconciliation matched them), the columns a plan needs. */
export function accountsOfIdentities(db: Executor, identityIds: readonly string[]): Promise<OwnedAccount[]> {
  if (identityIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('accounts')
    .select(['application_id', 'native_identity', 'identity_id', 'enabled', 'locked', 'attributes'])
    .where(sql<boolean>`identity_id = any(${identityIds}::uuid[])`)
    .execute();
}

/** The catalogued entitlements among these values of these applications: what Steward manages. */
export async function catalogued(db: Executor, applicationIds: readonly string[], values: readonly string[]): Promise<{ application_id: string; kind: string; native_value: string }[]> {
  if (applicationIds.length === 0 || values.length === 0) return [];
  return db
    .selectFrom('entitlements')
    .select(['application_id', 'kind', 'native_value'])
    .where(sql<boolean>`application_id = any(${[...new Set(applicationIds)]}::uuid[])`)
    .where(sql<boolean>`native_value = any(${[...new Set(values)]}::text[])`)
    .execute();
}
