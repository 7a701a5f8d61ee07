import { sql } from 'kysely';
import type { Executor } from './db.ts';
import { startsWithFolded } from './like.ts';
import type { ApplicationRow, ApplicationsTable } from './tables.ts';
import type { Insertable, Updateable } from 'kysely';

export type NewApplicationRow = Insertable<ApplicationsTable>;
export type ApplicationUpdate = Updateable<ApplicationsTable>;

/** One application by id; `lock` holds its row until the transaction ends. */
export function getApplicationRow(db: Executor, id: string, lock = false): Promise<ApplicationRow | undefined> {
  const q = db.selectFrom('applications').selectAll().where('id', '=', id);
  return (lock ? q.forUpdate() : q).executeTakeFirst();
}

export const insertApplication = (db: Executor, row: NewApplicationRow): Promise<ApplicationRow> =>
  db.insertInto('applications').values(row).returningAll().executeTakeFirstOrThrow();

/** Writes the new values and bumps the version. */
export const updateApplicationRow = (db: Executor, id: string, values: ApplicationUpdate): Promise<ApplicationRow> =>
  db
    .updateTable('applications')
    .set({ ...values, version: sql<number>`version + 1`, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();

export const deleteApplicationRow = async (db: Executor, id: string): Promise<void> => {
  await db.deleteFrom('applications').where('id', '=', id).execute();
};

export interface ApplicationFilter {
  namePrefix?: string;
  connectorKind?: string;
  /** Keyset: applications whose lower-cased name sorts after this one. */
  afterName?: string;
  limit: number;
}

/** Applications by lower-cased name (unique), one page. */
export function listApplicationRows(db: Executor, f: ApplicationFilter): Promise<(ApplicationRow & { sort_name: string })[]> {
  // The sort key comes from the database: JavaScript's toLowerCase and PostgreSQL's lower differ on some letters.
  let q = db.selectFrom('applications').selectAll().select(sql<string>`lower(name)`.as('sort_name'));
  if (f.namePrefix !== undefined) q = q.where(startsWithFolded(sql.ref('name'), f.namePrefix));
  if (f.connectorKind !== undefined) q = q.where('connector_kind', '=', f.connectorKind);
  if (f.afterName !== undefined) q = q.where(sql`lower(name)`, '>', f.afterName);
  return q.orderBy(sql`lower(name)`).limit(f.limit).execute();
}

export interface ApplicationUsage {
  accounts: number;
  liveAssignments: number;
  entitlements: number;
}

/** What refers to an application: what a delete would take with it. */
export async function applicationUsage(db: Executor, id: string): Promise<ApplicationUsage> {
  const r = await db
    .selectNoFrom((eb) => [
      eb.selectFrom('accounts').select(eb.fn.countAll<number>().as('n')).where('application_id', '=', id).as('accounts'),
      eb.selectFrom('assignments').select(eb.fn.countAll<number>().as('n')).where('application_id', '=', id).where('status', 'in', ['pending', 'active']).as('live_assignments'),
      eb.selectFrom('entitlements').select(eb.fn.countAll<number>().as('n')).where('application_id', '=', id).as('entitlements'),
    ])
    .executeTakeFirstOrThrow();
  return { accounts: Number(r.accounts), liveAssignments: Number(r.live_assignments), entitlements: Number(r.entitlements) };
}
