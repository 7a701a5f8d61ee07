import { sql } from 'kysely';
import type { Executor } from './db.ts';
import { escapeLike } from './like.ts';
import type { AccountRow } from './tables.ts';

export interface AccountFilter {
  applicationId: string;
  state?: string;
  identityId?: string;
  /** Case-sensitive prefix of the native identity. */
  nativeIdentityPrefix?: string;
  /** Keyset: the native identity (unique within the application) of the previous page's last item. */
  after?: string;
  limit: number;
}

/** One application's accounts by native identity, one page. */
export function listAccountRows(db: Executor, f: AccountFilter): Promise<AccountRow[]> {
  let q = db.selectFrom('accounts').selectAll().where('application_id', '=', f.applicationId);
  if (f.state !== undefined) q = q.where('state', '=', f.state);
  if (f.identityId !== undefined) q = q.where('identity_id', '=', f.identityId);
  if (f.nativeIdentityPrefix !== undefined) q = q.where(sql<boolean>`native_identity like ${`${escapeLike(f.nativeIdentityPrefix)}%`} escape '\\'`);
  if (f.after !== undefined) q = q.where('native_identity', '>', f.after);
  return q.orderBy('native_identity').limit(f.limit).execute();
}

export const getAccountRow = (db: Executor, applicationId: string, id: string): Promise<AccountRow | undefined> =>
  db.selectFrom('accounts').selectAll().where('application_id', '=', applicationId).where('id', '=', id).executeTakeFirst();

/** One account as a connector reads it, for writing into the store. */
export interface AccountInput {
  nativeIdentity: string;
  attributes: Record<string, unknown>;
  enabled: boolean;
  locked: boolean;
}

/**
 * Writes a page of accounts read from an application in one statement: new ones are
 * inserted (Unmatched), changed ones updated, unchanged ones left alone. Returns how many
 * were new and how many changed.
 */
export async function upsertAccountPage(db: Executor, applicationId: string, items: readonly AccountInput[]): Promise<{ inserted: number; updated: number }> {
  if (items.length === 0) return { inserted: 0, updated: 0 };
  const rows = items.map((a) => ({ native_identity: a.nativeIdentity, attributes: a.attributes, enabled: a.enabled, locked: a.locked }));
  const r = await sql<{ inserted: boolean }>`
    insert into accounts as a (application_id, native_identity, attributes, enabled, locked)
    select ${applicationId}::uuid, native_identity, attributes, enabled, locked
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(native_identity text, attributes jsonb, enabled boolean, locked boolean)
    on conflict (application_id, native_identity) do update
      set attributes = excluded.attributes, enabled = excluded.enabled, locked = excluded.locked, updated_at = now()
      where (a.attributes, a.enabled, a.locked) is distinct from (excluded.attributes, excluded.enabled, excluded.locked)
    returning (xmax = 0) as inserted`.execute(db);
  const inserted = r.rows.filter((x) => x.inserted).length;
  return { inserted, updated: r.rows.length - inserted };
}
