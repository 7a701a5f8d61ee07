// Applications gain attribute mappings: which identity attribute feeds which account
// attribute when Steward compiles the plan that creates or updates an account.
// Immutable once released: change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [`alter table applications add column attribute_mappings jsonb not null default '[]'`]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [`alter table applications drop column attribute_mappings`]);
}
