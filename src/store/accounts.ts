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
