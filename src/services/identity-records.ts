// Identity rows as the identity service hands them out, and where SCIM filters find
// each User attribute in the identities table.
import { sql } from 'kysely';
import { ENTERPRISE_USER_URN, STEWARD_USER_URN } from '../domain/identity.ts';
import type { FilterSqlMapping } from '../scim/index.ts';
import { isObject } from '../scim/index.ts';
import type { Executor } from '../store/db.ts';
import { groupsOfIdentities, identityNames, type GroupRef } from '../store/identity-repo.ts';
import type { IdentityRow } from '../store/tables.ts';
import { USER_RESOURCE_TYPE } from './scim-schema.ts';

/** An identity as services return it. */
export interface IdentityRecord {
  id: string;
  version: number;
  created: Date;
  lastModified: Date;
  /**
   * The SCIM User without `id` and `meta`: what was stored, with what Steward derives filled
   * in (the Steward extension from its columns, the manager's display name, and `groups`
   * when asked for).
   */
  resource: Record<string, unknown>;
}

export interface ReadOptions {
  /** Fill the read-only `groups` attribute from group memberships. */
  groups?: boolean;
}

/** Builds records for rows, with two queries at most whatever their number. */
export async function toIdentityRecords(db: Executor, rows: readonly IdentityRow[], opts: ReadOptions = {}): Promise<IdentityRecord[]> {
  const managers = await identityNames(db, rows.map((r) => r.manager_id).filter((m): m is string => m !== null));
  const groups = opts.groups ? await groupsOfIdentities(db, rows.map((r) => r.id)) : [];
  return buildIdentityRecords(rows, managers, groups, opts);
}

/** Builds records from rows whose managers' names and groups were read already. */
export function buildIdentityRecords(rows: readonly IdentityRow[], managers: ReadonlyMap<string, string>, groups: readonly GroupRef[], opts: ReadOptions = {}): IdentityRecord[] {
  const byIdentity = new Map<string, { value: string; display: string; type: string }[]>();
  for (const g of groups) {
    const list = byIdentity.get(g.identityId) ?? [];
    list.push({ value: g.groupId, display: g.displayName, type: 'direct' });
    byIdentity.set(g.identityId, list);
  }
  return rows.map((row) => {
    const r = structuredClone<Record<string, unknown>>(row.data);
    r.active = row.active;
    const e = r[ENTERPRISE_USER_URN];
    const ent: Record<string, unknown> = isObject(e) ? { ...e } : {};
    if (row.manager_id) {
      const name = managers.get(row.manager_id);
      ent.manager = { value: row.manager_id, ...(name === undefined ? {} : { displayName: name }) };
    } else {
      delete ent.manager;
    }
    if (Object.keys(ent).length > 0) r[ENTERPRISE_USER_URN] = ent;
    else delete r[ENTERPRISE_USER_URN];
    r[STEWARD_USER_URN] = { kind: row.kind, lifecycleStatus: row.status };
    const schemas = [USER_RESOURCE_TYPE.core.id, ...(r[ENTERPRISE_USER_URN] ? [ENTERPRISE_USER_URN] : []), STEWARD_USER_URN];
    for (const [k, v] of Object.entries(r)) if (/^urn:/i.test(k) && isObject(v) && !schemas.includes(k)) schemas.push(k);
    r.schemas = schemas;
    const memberOf = byIdentity.get(row.id);
    if (opts.groups && memberOf) r.groups = memberOf;
    return { id: row.id, version: row.version, created: row.created_at, lastModified: row.updated_at, resource: r };
  });
}

/** The resource as stored (what PATCH applies to): `data` with the manager from its column. */
export function storedIdentityResource(row: IdentityRow): Record<string, unknown> {
  const r = structuredClone<Record<string, unknown>>(row.data);
  const e = r[ENTERPRISE_USER_URN];
  const ent = isObject(e) ? e : undefined;
  if (ent && !row.manager_id) delete ent.manager;
  if (ent && Object.keys(ent).length === 0) delete r[ENTERPRISE_USER_URN];
  return r;
}

const ENT = ENTERPRISE_USER_URN.toLowerCase();
const ST = STEWARD_USER_URN.toLowerCase();
const col = (c: string) => sql.ref(`identities.${c}`);

const COLUMNS: FilterSqlMapping['columns'] = {
  id: { sql: col('id'), type: 'uuid' },
  username: { sql: col('user_name') },
  externalid: { sql: col('external_id') },
  active: { sql: col('active') },
  displayname: { sql: col('display_name') },
  'name.givenname': { sql: col('given_name') },
  'name.familyname': { sql: col('family_name') },
  title: { sql: col('title') },
  'meta.created': { sql: col('created_at') },
  'meta.lastmodified': { sql: col('updated_at') },
  'meta.resourcetype': { sql: sql`'User'::text` },
  [`${ENT}:department`]: { sql: col('department') },
  [`${ENT}:employeenumber`]: { sql: col('employee_number') },
  [`${ENT}:manager.value`]: { sql: col('manager_id'), type: 'uuid' },
  [`${ST}:kind`]: { sql: col('kind') },
  [`${ST}:lifecyclestatus`]: { sql: col('status') },
};

// `groups` lives in group_members, not in `data`: filters that name it see it joined in.
const WITH_GROUPS = sql`(identities.data || jsonb_build_object('groups', coalesce((
  select jsonb_agg(jsonb_build_object('value', m.group_id::text, 'display', g.display_name, 'type', 'direct'))
  from group_members m join groups g on g.id = m.group_id where m.identity_id = identities.id), '[]'::jsonb)))`;

/** Where a User filter finds each attribute; `withGroups` when the filter names `groups`. */
export function identityFilterMapping(withGroups: boolean): FilterSqlMapping {
  return { resource: USER_RESOURCE_TYPE, json: withGroups ? WITH_GROUPS : col('data'), columns: COLUMNS };
}
