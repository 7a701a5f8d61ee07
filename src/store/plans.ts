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

/** An account as the compiler's de-provisioning rule reads it. */
export type OwnedAccount = Pick<AccountRow, 'application_id' | 'native_identity' | 'identity_id' | 'enabled' | 'locked' | 'attributes'>;

/** An application as the compiler reads it. */
export type PlanApplication = Pick<ApplicationRow, 'id' | 'name' | 'account_schema' | 'attribute_mappings' | 'deprovisioning_policy'>;

/** One account a batch identity owns: application id, native identity, enabled, locked, attributes. */
export type BatchAccount = [applicationId: string, nativeIdentity: string, enabled: boolean, locked: boolean, attributes: Record<string, unknown>];

/** One identity of a batch with its live grants and its accounts. */
export interface BatchIdentity {
  identity: MappedIdentity;
  /**
   * Its live assignments, its own and through its groups, as indexes into the batch's
   * `grantKeys` separated by commas (one held both ways may come twice); empty when it has
   * none. Numbers in one string cost far less, on the server and here, than a row or a JSON
   * array per assignment.
   */
  grants: string;
  accounts: BatchAccount[];
}

/** What compiling the plans of a batch of identities reads from the store. */
export interface PlanBatch {
  /** The applications the batch's grants and accounts are in. */
  applications: PlanApplication[];
  /**
   * The distinct (application, entitlement) pairs of the batch's live assignments, by the
   * index `grants` uses: application id, and the entitlement's kind and native value (both
   * null for an account-level assignment).
   */
  grantKeys: [applicationId: string, kind: string | null, nativeValue: string | null][];
  /**
   * The catalogued entitlements (application id, kind, native value) among the string values
   * the batch's accounts hold in their applications' entitlement attributes: what Steward manages.
   */
  managed: [applicationId: string, kind: string, nativeValue: string][];
  /** The identities that exist among the ids, in no particular order. */
  identities: BatchIdentity[];
}

interface BatchRow extends MappedIdentity {
  meta: string | null;
  grants: string | null;
  accounts: string | null;
}

const NIL_UUID = sql.lit('00000000-0000-0000-0000-000000000000');

/**
 * Everything the compiler reads for a batch of identities, in one query: the identities (the
 * columns attribute mappings read), their live assignments (as `liveGrants`), their accounts,
 * the applications and entitlements these name, and the catalogued entitlements among the
 * values the accounts hold. Rows are looked up with `= any(array)` (bitmap scans rather than
 * an index probe per id), and each identity comes back as one row with its grants and accounts
 * aggregated, beside one row with the batch's applications, grant keys and managed values.
 */
export async function planBatch(db: Executor, identityIds: readonly string[], now: Date): Promise<PlanBatch> {
  const batch: PlanBatch = { applications: [], grantKeys: [], managed: [], identities: [] };
  if (identityIds.length === 0) return batch;
  // The ids go over the wire once, as one parameter every part of the query reads.
  const ids = sql`(select ids from batch_ids)::uuid[]`;
  const r = await sql<BatchRow>`
    with batch_ids as materialized (select ${identityIds}::uuid[] as ids),
    held as (
      select a.identity_id, a.application_id, a.entitlement_id
        from assignments a
       where a.identity_id = any(${ids})
         and a.status = 'active' and (a.valid_from is null or a.valid_from <= ${now}) and (a.valid_until is null or a.valid_until > ${now})
      union all
      select m.identity_id, a.application_id, a.entitlement_id
        from group_members m join assignments a on a.group_id = m.group_id
       where m.identity_id = any(${ids})
         and a.status = 'active' and (a.valid_from is null or a.valid_from <= ${now}) and (a.valid_until is null or a.valid_until > ${now})
    ),
    acc as (
      select a.identity_id, a.application_id, a.native_identity, a.enabled, a.locked, a.attributes
        from accounts a where a.identity_id = any(${ids})
    ),
    apps as (
      select ap.id, ap.name, ap.account_schema, ap.attribute_mappings, ap.deprovisioning_policy
        from applications ap where ap.id in (select application_id from held union select application_id from acc)
    ),
    -- The batch's distinct (application, entitlement) pairs, numbered from 0 (the nil uuid stands for no entitlement).
    keys as (
      select k.application_id, k.entitlement_id, (row_number() over ()) - 1 as n
        from (select distinct application_id, coalesce(entitlement_id, ${NIL_UUID}) as entitlement_id from held) k
    ),
    ent_attrs as (
      select ap.id as application_id, s.attr->>'name' as name, s.attr->>'entitlementKind' as kind
        from apps ap
        cross join lateral jsonb_array_elements(case jsonb_typeof(ap.account_schema->'attributes') when 'array' then ap.account_schema->'attributes' else '[]' end) s(attr)
       where jsonb_typeof(s.attr->'entitlementKind') = 'string' and jsonb_typeof(s.attr->'name') = 'string'
    ),
    held_values as (
      select distinct a.application_id, t.kind, v.val #>> '{}' as native_value
        from acc a join ent_attrs t on t.application_id = a.application_id
        cross join lateral jsonb_array_elements(case jsonb_typeof(a.attributes->t.name) when 'array' then a.attributes->t.name else jsonb_build_array(a.attributes->t.name) end) v(val)
       where jsonb_typeof(v.val) = 'string'
    ),
    managed as (
      select e.application_id, e.kind, e.native_value
        from held_values h join entitlements e on e.application_id = h.application_id and e.kind = h.kind and e.native_value = h.native_value
    ),
    gagg as (
      select h.identity_id, string_agg(k.n::text, ',') as grants
        from held h join keys k on k.application_id = h.application_id and k.entitlement_id = coalesce(h.entitlement_id, ${NIL_UUID})
       group by h.identity_id
    ),
    aagg as (
      select identity_id, json_agg(json_build_array(application_id, native_identity, enabled, locked, attributes))::text as accounts
        from acc group by identity_id
    )
    select json_build_array(
             (select coalesce(json_agg(apps), '[]') from apps),
             (select coalesce(json_agg(json_build_array(k.application_id, e.kind, e.native_value) order by k.n), '[]')
                from keys k left join entitlements e on e.id = k.entitlement_id),
             (select coalesce(json_agg(json_build_array(application_id, kind, native_value)), '[]') from managed))::text as meta,
           ${sql.join(MAPPED_IDENTITY_COLUMNS.map((c) => sql`null::${sql.raw(c === 'id' ? 'uuid' : c === 'active' ? 'boolean' : 'text')} as ${sql.ref(c)}`))},
           null::text as grants, null::text as accounts
    union all
    select null, ${sql.join(MAPPED_IDENTITY_COLUMNS.map((c) => sql.ref(`i.${c}`)))}, g.grants, a.accounts
      from identities i left join gagg g on g.identity_id = i.id left join aagg a on a.identity_id = i.id
     where i.id = any(${ids})`.execute(db);
  for (const row of r.rows) {
    if (row.meta !== null) {
      [batch.applications, batch.grantKeys, batch.managed] = JSON.parse(row.meta) as [PlanBatch['applications'], PlanBatch['grantKeys'], PlanBatch['managed']];
      continue;
    }
    // The row is the identity (its extra columns are left on it rather than copied away).
    batch.identities.push({ identity: row, grants: row.grants ?? '', accounts: row.accounts === null ? [] : (JSON.parse(row.accounts) as BatchAccount[]) });
  }
  return batch;
}
