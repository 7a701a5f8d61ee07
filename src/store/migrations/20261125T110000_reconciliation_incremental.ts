// Incremental (delta) reconciliation runs.
// - mode_reason: why a run was carried out in the mode it was (an incremental request that ran full).
// - change_since: the change cursor an incremental run reads from (the last applied run's change_cursor).
// - change_cursor: where the next incremental run starts, as this run leaves it (the highest
//   change mark seen, with the accounts seen at it); the application's cursor is the
//   change_cursor of its latest completed run, so it is stored only when a run is applied.
// Immutable once released: change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `alter table reconciliation_runs add column mode_reason text`,
    `alter table reconciliation_runs add column change_since text`,
    `alter table reconciliation_runs add column change_cursor text`,
  ]);
}

export async function down(): Promise<void> {
  throw new Error('the reconciliation incremental migration cannot be reverted');
}
