import type { Insertable } from 'kysely';
import type { Executor } from './db.ts';
import type { AssignmentRow, AssignmentsTable, EntitlementRow } from './tables.ts';

export type NewAssignmentRow = Insertable<AssignmentsTable>;
export const LIVE_STATUSES = ['pending', 'active'] as const;

export const insertAssignments = (db: Executor, rows: NewAssignmentRow[]): Promise<AssignmentRow[]> =>
  rows.length === 0 ? Promise.resolve([]) : db.insertInto('assignments').values(rows).returningAll().execute();

/** Whom an assignment is for: one identity or one group. */
export type Holder = { identityId: string; groupId?: undefined } | { groupId: string; identityId?: undefined };

/**
 * The holder's live assignments of this source among the given entitlements (null: the
 * application itself), in the given applications.
 */
export function liveAssignments(db: Executor, holder: Holder, source: string, applicationIds: readonly string[], entitlementIds: readonly (string | null)[]): Promise<AssignmentRow[]> {
  if (applicationIds.length === 0) return Promise.resolve([]);
  const ids = entitlementIds.filter((e): e is string => e !== null);
  const withNull = entitlementIds.includes(null);
  let q = db.selectFrom('assignments').selectAll().where('source', '=', source).where('status', 'in', [...LIVE_STATUSES]).where('application_id', 'in', [...applicationIds]);
  q = holder.identityId !== undefined ? q.where('identity_id', '=', holder.identityId) : q.where('group_id', '=', holder.groupId);
  return q
    .where((eb) => eb.or([...(ids.length > 0 ? [eb('entitlement_id', 'in', ids)] : []), ...(withNull ? [eb('entitlement_id', 'is', null)] : [])]))
    .execute();
}

export interface ApplicationAssignmentFilter {
  applicationId: string;
  identityId?: string;
  groupId?: string;
  status?: string;
  /** Only the application-level ones (no entitlement): who gets an account. */
  applicationLevelOnly: boolean;
  after?: string;
  limit: number;
}

/** An application's assignments by id, one page. */
export function listApplicationAssignmentRows(db: Executor, f: ApplicationAssignmentFilter): Promise<AssignmentRow[]> {
  let q = db.selectFrom('assignments').selectAll().where('application_id', '=', f.applicationId);
  if (f.applicationLevelOnly) q = q.where('entitlement_id', 'is', null);
  if (f.identityId !== undefined) q = q.where('identity_id', '=', f.identityId);
  if (f.groupId !== undefined) q = q.where('group_id', '=', f.groupId);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.after !== undefined) q = q.where('id', '>', f.after);
  return q.orderBy('id').limit(f.limit).execute();
}

/** An entitlement assignment with the entitlement's own columns, prefixed `e_`. */
export type HeldEntitlementRow = AssignmentRow & {
  e_kind: EntitlementRow['kind'];
  e_native_value: EntitlementRow['native_value'];
  e_name: EntitlementRow['name'];
  e_description: EntitlementRow['description'];
  e_owner_id: EntitlementRow['owner_id'];
  e_requestable: EntitlementRow['requestable'];
  e_created_at: EntitlementRow['created_at'];
  e_updated_at: EntitlementRow['updated_at'];
};

/**
 * The identity's entitlement assignments, its own and its groups', by assignment id, one page.
 */
export function identityEntitlementRows(db: Executor, f: { identityId: string; status?: string; after?: string; limit: number }): Promise<HeldEntitlementRow[]> {
  let q = db
    .selectFrom('assignments as a')
    .innerJoin('entitlements as e', 'e.id', 'a.entitlement_id')
    .selectAll('a')
    .select([
      'e.kind as e_kind',
      'e.native_value as e_native_value',
      'e.name as e_name',
      'e.description as e_description',
      'e.owner_id as e_owner_id',
      'e.requestable as e_requestable',
      'e.created_at as e_created_at',
      'e.updated_at as e_updated_at',
    ])
    .where((eb) =>
      eb.or([
        eb('a.identity_id', '=', f.identityId),
        eb('a.group_id', 'in', eb.selectFrom('group_members').select('group_id').where('identity_id', '=', f.identityId)),
      ]),
    );
  if (f.status !== undefined) q = q.where('a.status', '=', f.status);
  if (f.after !== undefined) q = q.where('a.id', '>', f.after);
  return q.orderBy('a.id').limit(f.limit).execute();
}
