import { sql, type Insertable } from 'kysely';
import type { Executor } from './db.ts';
import { containsFolded } from './like.ts';
import type { EntitlementRow, EntitlementsTable } from './tables.ts';

export type NewEntitlementRow = Insertable<EntitlementsTable>;

export const insertEntitlements = (db: Executor, rows: NewEntitlementRow[]): Promise<EntitlementRow[]> =>
  rows.length === 0 ? Promise.resolve([]) : db.insertInto('entitlements').values(rows).returningAll().execute();

/** The application's entitlements among these (kind, nativeValue) pairs. */
export function entitlementsByKeys(db: Executor, applicationId: string, keys: readonly { kind: string; nativeValue: string }[]): Promise<EntitlementRow[]> {
  if (keys.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('entitlements')
    .selectAll()
    .where('application_id', '=', applicationId)
    .where((eb) => eb(eb.refTuple('kind', 'native_value'), 'in', keys.map((k) => eb.tuple(k.kind, k.nativeValue))))
    .execute();
}

export const entitlementsByIds = (db: Executor, ids: readonly string[]): Promise<EntitlementRow[]> =>
  ids.length === 0 ? Promise.resolve([]) : db.selectFrom('entitlements').selectAll().where('id', 'in', [...ids]).execute();

/** One application's entitlements by (kind, nativeValue), one page after the given key. */
export function listApplicationEntitlementRows(db: Executor, applicationId: string, after: readonly [string, string] | undefined, limit: number): Promise<EntitlementRow[]> {
  let q = db.selectFrom('entitlements').selectAll().where('application_id', '=', applicationId);
  if (after) q = q.where((eb) => eb(eb.refTuple('kind', 'native_value'), '>', eb.tuple(after[0], after[1])));
  return q.orderBy('kind').orderBy('native_value').limit(limit).execute();
}

export interface EntitlementSearch {
  applicationId?: string;
  kind?: string;
  /** Case-insensitive substring of the name. */
  name?: string;
  ownerId?: string;
  requestable?: boolean;
  /** Keyset: (lower(name), id) of the last item of the previous page. */
  after?: readonly [string, string];
  limit: number;
}

/** Entitlements matching the search, by lower-cased name then id, one page. */
export function searchEntitlementRows(db: Executor, f: EntitlementSearch): Promise<(EntitlementRow & { sort_name: string })[]> {
  let q = db.selectFrom('entitlements').selectAll().select(sql<string>`lower(name)`.as('sort_name'));
  if (f.applicationId !== undefined) q = q.where('application_id', '=', f.applicationId);
  if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
  if (f.name !== undefined) q = q.where(containsFolded(sql.ref('name'), f.name));
  if (f.ownerId !== undefined) q = q.where('owner_id', '=', f.ownerId);
  if (f.requestable !== undefined) q = q.where('requestable', '=', f.requestable);
  const after = f.after;
  if (after) q = q.where((eb) => eb(eb.tuple(sql<string>`lower(name)`, eb.ref('id')), '>', eb.tuple(after[0], sql<string>`${after[1]}::uuid`)));
  return q.orderBy(sql`lower(name)`).orderBy('id').limit(f.limit).execute();
}
