// Reconciliation at scale, and one worker per run.
// - Staging is written with COPY: every listed account's row, with the page it came on (an
//   account listed twice counts once, see deltas.ts), no primary key (COPY has no ON CONFLICT,
//   and the index cost as much as the rows), and UNLOGGED (no WAL for rows that live as long
//   as a run; a server crash empties the table, and the engine then reads the listing again).
// - A run is owned by one worker at a time: `owner` and `lease_until`, renewed with each page.
// Immutable once released: change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `alter table reconciliation_staging drop constraint reconciliation_staging_pkey`,
    `alter table reconciliation_staging add column page integer not null default 0`,
    `alter table reconciliation_staging set unlogged`,
    `alter table reconciliation_runs add column owner text`,
    `alter table reconciliation_runs add column lease_until timestamptz`,
  ]);
}

export async function down(): Promise<void> {
  throw new Error('the reconciliation copy and lease migration cannot be reverted');
}
