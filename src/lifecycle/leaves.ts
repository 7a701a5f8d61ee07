/**
 * Leavers and re-hires. A leave takes away what recomputation does not own: the
 * identity's requested and direct assignments and its static group memberships, noted on
 * the leave so that a re-hire (or a restore) before `restore_until` — the longest grace
 * period among the identity's applications — gives every one of them back.
 */
import { sql } from 'kysely';
import { parseGracePeriod, type DeprovisioningPolicy } from '../domain/policies.ts';
import { appendAudit, type AuditInput } from '../store/audit.ts';
import type { Executor } from '../store/db.ts';

/** Starts a leave for each of these identities that has none open. */
export async function startLeaves(trx: Executor, identityIds: readonly string[], now: Date, actor: string): Promise<void> {
  if (identityIds.length === 0) return;
  const ids = sql`${identityIds}::uuid[]`;
  const alreadyOpen = new Set((await trx.selectFrom('lifecycle_leaves').select('identity_id').where('status', '=', 'open').where(sql<boolean>`identity_id = any(${ids})`).execute()).map((r) => r.identity_id));
  const leaving = identityIds.filter((id) => !alreadyOpen.has(id));
  if (leaving.length === 0) return;
  const lids = sql`${leaving}::uuid[]`;
  const held = await trx
    .selectFrom('assignments')
    .select(['id', 'identity_id', 'application_id'])
    .where(sql<boolean>`identity_id = any(${lids}) and status = 'active' and source not in ('birthright', 'role')`)
    .execute();
  const memberships = await trx
    .selectFrom('group_members')
    .select(['group_id', 'identity_id'])
    .where(sql<boolean>`identity_id = any(${lids}) and group_id not in (select group_id from dynamic_groups)`)
    .execute();
  // The longest grace period among the applications the identity has accounts or grants in.
  const graces = await sql<{ identity_id: string; policy: DeprovisioningPolicy }>`
    select distinct x.identity_id, a.deprovisioning_policy as policy from (
      select identity_id, application_id from accounts where identity_id = any(${lids})
      union select identity_id, application_id from assignments where identity_id = any(${lids}) and status = 'active'
      union select m.identity_id, s.application_id from group_members m join assignments s on s.group_id = m.group_id
       where m.identity_id = any(${lids}) and s.status = 'active'
    ) x join applications a on a.id = x.application_id`.execute(trx);
  const longest = new Map<string, number>();
  for (const g of graces.rows) {
    const s = parseGracePeriod(g.policy?.gracePeriod ?? 'P0D');
    longest.set(g.identity_id, Math.max(longest.get(g.identity_id) ?? 0, s.ok ? s.value : 0));
  }
  if (held.length > 0) await sql`update assignments set status = 'revoked', updated_at = ${now} where id = any(${held.map((h) => h.id)}::uuid[])`.execute(trx);
  if (memberships.length > 0) {
    await sql`delete from group_members where (group_id, identity_id) in (select * from unnest(${memberships.map((m) => m.group_id)}::uuid[], ${memberships.map((m) => m.identity_id)}::uuid[]))`.execute(trx);
  }
  const events: AuditInput[] = [];
  for (const id of leaving) {
    const assignmentIds = held.filter((h) => h.identity_id === id).map((h) => h.id);
    const groupIds = memberships.filter((m) => m.identity_id === id).map((m) => m.group_id);
    const restoreUntil = new Date(now.getTime() + (longest.get(id) ?? 0) * 1000);
    const row = await trx
      .insertInto('lifecycle_leaves')
      .values({ identity_id: id, started_at: now, restore_until: restoreUntil, status: 'open', assignment_ids: assignmentIds, group_ids: groupIds })
      .returning('id')
      .executeTakeFirstOrThrow();
    events.push({ actor, action: 'identity.leave', objectType: 'identity', objectId: id, after: { leaveId: row.id, revokedAssignments: assignmentIds, removedFromGroups: groupIds, restoreUntil: restoreUntil.toISOString() } });
  }
  await appendAudit(trx, events);
}

/**
 * Ends the open leaves of these identities: within `restore_until`, every assignment and
 * membership the leave took comes back (unless an equal live one exists meanwhile); after
 * it, the leave closes and only what rules grant comes back. Returns the identities restored.
 */
export async function endLeaves(trx: Executor, identityIds: readonly string[], now: Date, actor: string, onlyApplicationId?: string): Promise<Set<string>> {
  const restored = new Set<string>();
  if (identityIds.length === 0) return restored;
  const leaves = await trx.selectFrom('lifecycle_leaves').selectAll().where('status', '=', 'open').where(sql<boolean>`identity_id = any(${identityIds}::uuid[])`).forUpdate().execute();
  const events: AuditInput[] = [];
  for (const leave of leaves) {
    if (leave.restore_until <= now) {
      if (onlyApplicationId !== undefined) continue;
      await trx.updateTable('lifecycle_leaves').set({ status: 'closed', closed_at: now }).where('id', '=', leave.id).execute();
      events.push({ actor, action: 'identity.leave_close', objectType: 'identity', objectId: leave.identity_id, after: { leaveId: leave.id, reason: 'returned after the grace period' } });
      continue;
    }
    const back = await sql<{ id: string }>`
      update assignments a set status = 'active', updated_at = ${now}
       where a.id = any(${leave.assignment_ids}::uuid[]) and a.status = 'revoked'
         ${onlyApplicationId === undefined ? sql`` : sql`and a.application_id = ${onlyApplicationId}`}
         and not exists (
           select 1 from assignments b where b.id <> a.id and b.status in ('pending', 'active')
              and coalesce(b.identity_id, b.group_id) = coalesce(a.identity_id, a.group_id) and b.application_id = a.application_id
              and b.entitlement_id is not distinct from a.entitlement_id and b.source = a.source)
      returning a.id`.execute(trx);
    if (onlyApplicationId === undefined) {
      await sql`
        insert into group_members (group_id, identity_id)
        select g.id, ${leave.identity_id}::uuid from groups g where g.id = any(${leave.group_ids}::uuid[])
        on conflict do nothing`.execute(trx);
      await trx.updateTable('lifecycle_leaves').set({ status: 'restored', closed_at: now }).where('id', '=', leave.id).execute();
    }
    restored.add(leave.identity_id);
    events.push({
      actor,
      action: onlyApplicationId === undefined ? 'identity.leave_reverse' : 'identity.leave_reverse_application',
      objectType: 'identity',
      objectId: leave.identity_id,
      after: { leaveId: leave.id, restoredAssignments: back.rows.map((r) => r.id), ...(onlyApplicationId === undefined ? { restoredGroups: leave.group_ids } : { applicationId: onlyApplicationId }) },
    });
  }
  await appendAudit(trx, events);
  return restored;
}

/** Closes the leaves whose restore window has passed. */
export async function closeExpiredLeaves(trx: Executor, now: Date): Promise<number> {
  const r = await trx.updateTable('lifecycle_leaves').set({ status: 'closed', closed_at: now }).where('status', '=', 'open').where('restore_until', '<=', now).executeTakeFirst();
  return Number(r.numUpdatedRows);
}
