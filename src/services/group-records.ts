// Group rows as the group service hands them out, and where SCIM filters find each Group
// attribute in the groups table.
import { sql } from 'kysely';
import type { FilterSqlMapping } from '../scim/index.ts';
import { isObject } from '../scim/index.ts';
import type { Executor } from '../store/db.ts';
import { membersOfGroups } from '../store/group-repo.ts';
import type { GroupRow } from '../store/tables.ts';
import { GROUP_RESOURCE_TYPE, STEWARD_GROUP_URN } from './scim-schema.ts';

/** A group as services return it. */
export interface GroupRecord {
  id: string;
  version: number;
  created: Date;
  lastModified: Date;
  kind: string;
  /** The SCIM Group without `id` and `meta`; `members` only when asked for. */
  resource: Record<string, unknown>;
}

export interface GroupReadOptions {
  /** Fill `members` (one query for all the groups asked for). */
  members?: boolean;
}

/** Builds records for rows. */
export async function toGroupRecords(db: Executor, rows: readonly GroupRow[], opts: GroupReadOptions = {}): Promise<GroupRecord[]> {
  const members = opts.members ? await membersOfGroups(db, rows.map((r) => r.id)) : [];
  const byGroup = new Map<string, { value: string; display: string; type: string }[]>();
  for (const m of members) {
    const list = byGroup.get(m.groupId) ?? [];
    list.push({ value: m.identityId, display: m.display, type: 'User' });
    byGroup.set(m.groupId, list);
  }
  return rows.map((row) => {
    const r = storedGroupResource(row);
    const st: Record<string, unknown> = { kind: row.kind };
    if (row.description !== null) st.description = row.description;
    r[STEWARD_GROUP_URN] = st;
    const schemas = [GROUP_RESOURCE_TYPE.core.id, STEWARD_GROUP_URN];
    for (const [k, v] of Object.entries(r)) if (/^urn:/i.test(k) && isObject(v) && !schemas.includes(k)) schemas.push(k);
    r.schemas = schemas;
    if (opts.members) r.members = byGroup.get(row.id) ?? [];
    return { id: row.id, version: row.version, created: row.created_at, lastModified: row.updated_at, kind: row.kind, resource: r };
  });
}

/** The resource as stored (what PATCH applies to), without members. */
export const storedGroupResource = (row: GroupRow): Record<string, unknown> => structuredClone<Record<string, unknown>>(row.data);

const ST = STEWARD_GROUP_URN.toLowerCase();
const col = (c: string) => sql.ref(`groups.${c}`);

const COLUMNS: FilterSqlMapping['columns'] = {
  id: { sql: col('id'), type: 'uuid' },
  displayname: { sql: col('display_name') },
  externalid: { sql: col('external_id') },
  'meta.created': { sql: col('created_at') },
  'meta.lastmodified': { sql: col('updated_at') },
  'meta.resourcetype': { sql: sql`'Group'::text` },
  [`${ST}:kind`]: { sql: col('kind') },
  [`${ST}:description`]: { sql: col('description') },
};

// `members` lives in group_members: filters that name it (Entra asks
// `id eq "…" and members[value eq "…"]`) see it joined in.
const WITH_MEMBERS = sql`(groups.data || jsonb_build_object('members', coalesce((
  select jsonb_agg(jsonb_build_object('value', m.identity_id::text, 'display', coalesce(i.display_name, i.user_name), 'type', 'User'))
  from group_members m join identities i on i.id = m.identity_id where m.group_id = groups.id), '[]'::jsonb)))`;

/** Where a Group filter finds each attribute; `withMembers` when the filter names `members`. */
export function groupFilterMapping(withMembers: boolean): FilterSqlMapping {
  return { resource: GROUP_RESOURCE_TYPE, json: withMembers ? WITH_MEMBERS : col('data'), columns: COLUMNS };
}
