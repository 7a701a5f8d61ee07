/**
 * Statements the flow engine and its API runner make for every script, outside any
 * transaction. On PostgreSQL each runs as a named prepared statement: parsed once per
 * connection and, after PostgreSQL's first few executions, run with its generic plan instead
 * of being planned again on every call (planning was most of their cost: a claim's CTE took
 * ~0.4 ms to plan and ~0.05 ms to run). On the embedded database they go through Kysely as
 * usual.
 *
 * A statement given a name here must keep one text (no conditional fragments) and name the
 * columns it answers (no `*`), so a column added by a later migration cannot change the
 * result type of a statement a long-lived connection holds prepared.
 */
import type { CompiledQuery } from 'kysely';
import type { Db } from '../store/db.ts';

const PREFIX = 'steward_';

/** Runs `query` as the prepared statement `name` on PostgreSQL, or through Kysely elsewhere; answers its rows. */
export async function runPrepared<R>(db: Db, name: string, query: CompiledQuery<R>): Promise<{ rows: R[]; rowCount: number }> {
  if (db.kind !== 'postgres' || !db.connect) {
    const r = await db.k.executeQuery(query);
    return { rows: r.rows, rowCount: Number(r.numAffectedRows ?? r.rows.length) };
  }
  const client = await db.connect();
  try {
    const r = await client.query<R & object>({ name: `${PREFIX}${name}`, text: query.sql, values: query.parameters as unknown[] });
    return { rows: r.rows, rowCount: r.rowCount ?? r.rows.length };
  } finally {
    client.release();
  }
}
