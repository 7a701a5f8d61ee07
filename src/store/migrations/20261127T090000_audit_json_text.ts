// An audit event's before and after are stored as `json`, the text as written, instead of
// `jsonb`. Steward writes them as the canonical JSON the event's hash covers, so the stored
// text is exactly what was hashed; and `json` input is only checked, not converted to
// jsonb's binary form, which was 6–8% of the database's CPU in a CSV import (every row
// writes its identity's whole resource into `after`). Nothing queries inside them with SQL.
// Rewrites the table once: existing events keep their values (jsonb's text of them).
// Immutable once released: change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [`alter table audit_events alter column before type json using before::json, alter column after type json using after::json`]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [`alter table audit_events alter column before type jsonb using before::jsonb, alter column after type jsonb using after::jsonb`]);
}
