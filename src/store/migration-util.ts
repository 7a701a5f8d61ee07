import { sql, type Kysely } from 'kysely';

/** Runs statements one at a time: PGlite's extended protocol takes one statement a call. */
export async function runStatements(db: Kysely<unknown>, statements: readonly string[]): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}
