// The identity queries the identity service runs (the table's columns come from
// identities.ts; SCIM filters arrive here already compiled to SQL).
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Executor } from './db.ts';
import type { IdentityRow } from './tables.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `s` can be a row id; anything else names no row (and must not reach a uuid cast). */
export const isUuid = (s: string): boolean => UUID.test(s);

/** One identity, locked for the rest of the transaction. */
export const lockIdentityRow = (trx: Executor, id: string): Promise<IdentityRow | undefined> =>
  isUuid(id) ? trx.selectFrom('identities').selectAll().where('id', '=', id).forUpdate().executeTakeFirst() : Promise.resolve(undefined);

/** Which of these ids are identities. */
export async function existingIdentityIds(db: Executor, ids: readonly string[]): Promise<Set<string>> {
  const valid = [...new Set(ids.filter(isUuid).map((i) => i.toLowerCase()))];
  const found = new Set<string>();
  for (let i = 0; i < valid.length; i += 5000) {
    const rows = await db.selectFrom('identities').select('id').where((eb) => eb('id', '=', eb.fn.any(eb.val(valid.slice(i, i + 5000))))).execute();
    for (const r of rows) found.add(r.id);
  }
  return found;
}

/** Whether following managers up from `managerId` reaches `selfId` (so making it the manager would loop). */
export async function managerChainReaches(db: Executor, managerId: string, selfId: string): Promise<boolean> {
  // UNION (not UNION ALL) stops on a loop that already exists instead of running forever.
  const r = await sql<{ hit: number }>`
    with recursive chain(id) as (
      select ${managerId}::uuid
      union
      select i.manager_id from identities i join chain c on i.id = c.id where i.manager_id is not null
    )
    select 1 as hit from chain where id = ${selfId}::uuid limit 1`.execute(db);
  return r.rows.length > 0;
}

/** Serialises manager changes, so that two concurrent ones cannot close a loop together. */
export async function lockManagerGraph(trx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(7347002)`.execute(trx);
}

/** The direct reports of an identity, locked. */
export const directReportRows = (trx: Executor, managerId: string): Promise<IdentityRow[]> =>
  trx.selectFrom('identities').selectAll().where('manager_id', '=', managerId).orderBy('id').forUpdate().execute();

/** The display names (else userNames) of these identities, by id. */
export async function identityNames(db: Executor, ids: readonly string[]): Promise<Map<string, string>> {
  const valid = [...new Set(ids.filter(isUuid))];
  if (valid.length === 0) return new Map();
  const rows = await db
    .selectFrom('identities')
    .select(['id', 'display_name', 'user_name'])
    .where((eb) => eb('id', '=', eb.fn.any(eb.val(valid))))
    .execute();
  return new Map(rows.map((r) => [r.id, r.display_name ?? r.user_name]));
}

export interface GroupRef {
  identityId: string;
  groupId: string;
  displayName: string;
}

/** The groups each of these identities is a direct member of, by group name. */
export async function groupsOfIdentities(db: Executor, ids: readonly string[]): Promise<GroupRef[]> {
  const valid = [...new Set(ids.filter(isUuid))];
  if (valid.length === 0) return [];
  const rows = await db
    .selectFrom('group_members as m')
    .innerJoin('groups as g', 'g.id', 'm.group_id')
    .select(['m.identity_id', 'g.id', 'g.display_name'])
    .where((eb) => eb('m.identity_id', '=', eb.fn.any(eb.val(valid))))
    .orderBy('g.display_name')
    .orderBy('g.id')
    .execute();
  return rows.map((r) => ({ identityId: r.identity_id, groupId: r.id, displayName: r.display_name }));
}

export interface RowQuery {
  where: RawBuilder<SqlBool>;
  /** The sort value, or undefined for id order. */
  orderBy?: RawBuilder<unknown>;
  descending: boolean;
  offset: number;
  limit: number;
}

/** One page of identities matching `where`, in a stable order (the sort value, then id). */
export async function pageIdentityRows(db: Executor, q: RowQuery): Promise<IdentityRow[]> {
  if (q.limit <= 0) return [];
  let query = db.selectFrom('identities').selectAll().where(q.where);
  if (q.orderBy) query = query.orderBy(sql`${q.orderBy} ${sql.raw(q.descending ? 'desc nulls last' : 'asc nulls last')}`);
  return query.orderBy('id', q.descending && !q.orderBy ? 'desc' : 'asc').offset(q.offset).limit(q.limit).execute();
}

/** How many identities match `where`. */
export async function countIdentityRows(db: Executor, where: RawBuilder<SqlBool>): Promise<number> {
  const r = await db.selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow();
  return Number(r.n);
}

export interface IdentityWithRelations {
  row: IdentityRow;
  managerName: string | undefined;
  groups: GroupRef[];
}

/**
 * Identities with their managers' names and their groups, in one round trip whatever
 * their number (the hot read path: GET /Users/{id} batches its reads through this).
 */
export async function identitiesWithRelations(db: Executor, ids: readonly string[]): Promise<Map<string, IdentityWithRelations>> {
  const valid = [...new Set(ids.filter(isUuid).map((i) => i.toLowerCase()))];
  const out = new Map<string, IdentityWithRelations>();
  if (valid.length === 0) return out;
  const r = await sql<IdentityRow & { manager_name: string | null; group_refs: { id: string; display_name: string }[] }>`
    select i.*, coalesce(m.display_name, m.user_name) as manager_name,
      coalesce((select json_agg(json_build_object('id', g.id, 'display_name', g.display_name) order by g.display_name, g.id)
                from group_members gm join groups g on g.id = gm.group_id where gm.identity_id = i.id), '[]'::json) as group_refs
    from identities i left join identities m on m.id = i.manager_id
    where i.id = any(${valid}::uuid[])`.execute(db);
  for (const found of r.rows) {
    const { manager_name, group_refs, ...row } = found;
    out.set(row.id, {
      row,
      managerName: manager_name ?? undefined,
      groups: group_refs.map((g) => ({ identityId: row.id, groupId: g.id, displayName: g.display_name })),
    });
  }
  return out;
}
