// Group and membership queries. Memberships change by set operations on group_members,
// never by reading and rewriting a member list, so a 10,000-member group costs what the
// change costs.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Executor } from './db.ts';
import { isUuid, type RowQuery } from './identity-repo.ts';
import type { GroupRow } from './tables.ts';

// Bound parameters per statement stay far below PostgreSQL's 65,535 with one array each.
const CHUNK = 5000;

/** One group, locked for the rest of the transaction. */
export const lockGroupRow = (trx: Executor, id: string): Promise<GroupRow | undefined> =>
  isUuid(id) ? trx.selectFrom('groups').selectAll().where('id', '=', id).forUpdate().executeTakeFirst() : Promise.resolve(undefined);

/** Adds members; returns the ids that were not members already. */
export async function addMembers(trx: Executor, groupId: string, ids: readonly string[]): Promise<string[]> {
  const added: string[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const r = await sql<{ identity_id: string }>`
      insert into group_members (group_id, identity_id)
      select ${groupId}::uuid, x from unnest(${ids.slice(i, i + CHUNK)}::uuid[]) as x
      on conflict do nothing
      returning identity_id`.execute(trx);
    for (const row of r.rows) added.push(row.identity_id);
  }
  return added;
}

/** Removes these members; returns the ids that were members. */
export async function removeMembers(trx: Executor, groupId: string, ids: readonly string[]): Promise<string[]> {
  const valid = ids.filter(isUuid);
  const removed: string[] = [];
  for (let i = 0; i < valid.length; i += CHUNK) {
    const rows = await trx
      .deleteFrom('group_members')
      .where('group_id', '=', groupId)
      .where((eb) => eb('identity_id', '=', eb.fn.any(eb.val(valid.slice(i, i + CHUNK)))))
      .returning('identity_id')
      .execute();
    for (const r of rows) removed.push(r.identity_id);
  }
  return removed;
}

/** Removes every member not in `keep` (all of them when `keep` is empty); returns the ids removed. */
export async function removeMembersExcept(trx: Executor, groupId: string, keep: readonly string[]): Promise<string[]> {
  let q = trx.deleteFrom('group_members').where('group_id', '=', groupId);
  if (keep.length > 0) q = q.where(sql<SqlBool>`identity_id <> all(${[...keep]}::uuid[])`);
  return (await q.returning('identity_id').execute()).map((r) => r.identity_id);
}

/** The JSON of one member as SCIM shows it, for filters over `members`. */
export const MEMBER_JSON = sql`jsonb_build_object('value', gm.identity_id::text, 'display', coalesce(mi.display_name, mi.user_name), 'type', 'User')`;

/** Removes the members whose JSON (`MEMBER_JSON`) satisfies `where`; returns their ids. */
export async function removeMembersWhere(trx: Executor, groupId: string, where: RawBuilder<SqlBool>): Promise<string[]> {
  const r = await sql<{ identity_id: string }>`
    delete from group_members d
    using group_members gm join identities mi on mi.id = gm.identity_id
    where d.group_id = ${groupId}::uuid and gm.group_id = d.group_id and gm.identity_id = d.identity_id and ${where}
    returning d.identity_id`.execute(trx);
  return r.rows.map((x) => x.identity_id);
}

export interface MemberRef {
  groupId: string;
  identityId: string;
  display: string;
}

/** The members of these groups, each with its display name, in a stable order. */
export async function membersOfGroups(db: Executor, groupIds: readonly string[]): Promise<MemberRef[]> {
  const valid = [...new Set(groupIds.filter(isUuid))];
  if (valid.length === 0) return [];
  const rows = await db
    .selectFrom('group_members as m')
    .innerJoin('identities as i', 'i.id', 'm.identity_id')
    .select(['m.group_id', 'm.identity_id', 'i.display_name', 'i.user_name'])
    .where((eb) => eb('m.group_id', '=', eb.fn.any(eb.val(valid))))
    .orderBy('m.group_id')
    .orderBy('m.identity_id')
    .execute();
  return rows.map((r) => ({ groupId: r.group_id, identityId: r.identity_id, display: r.display_name ?? r.user_name }));
}

/** The ids of a group's members. */
export const memberIdsOfGroup = async (db: Executor, groupId: string): Promise<string[]> =>
  (await db.selectFrom('group_members').select('identity_id').where('group_id', '=', groupId).orderBy('identity_id').execute()).map((r) => r.identity_id);

/** One page of groups matching `where`, in a stable order (the sort value, then id). */
export async function pageGroupRows(db: Executor, q: RowQuery): Promise<GroupRow[]> {
  if (q.limit <= 0) return [];
  let query = db.selectFrom('groups').selectAll().where(q.where);
  if (q.orderBy) query = query.orderBy(sql`${q.orderBy} ${sql.raw(q.descending ? 'desc nulls last' : 'asc nulls last')}`);
  return query.orderBy('id', q.descending && !q.orderBy ? 'desc' : 'asc').offset(q.offset).limit(q.limit).execute();
}

/** How many groups match `where`. */
export async function countGroupRows(db: Executor, where: RawBuilder<SqlBool>): Promise<number> {
  const r = await db.selectFrom('groups').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow();
  return Number(r.n);
}
