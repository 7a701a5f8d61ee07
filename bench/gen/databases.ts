// Runs a benchmark body on the embedded database and then on a scratch PostgreSQL
// database it creates and drops, so every benchmark measures both the same way.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, openDb, type Db } from '../../src/store/db.ts';

export const BENCH_PG_URL = process.env.STEWARD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Calls `run` with a migrated PGlite database, then with a migrated PostgreSQL one (skipped, saying so, without a server). */
export async function onEachDatabase(run: (label: 'pglite' | 'postgres', db: Db) => Promise<void>): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'steward-bench-db-'));
  try {
    const lite = await openDb({ dataDir: join(work, 'data'), command: 'bench' });
    try {
      await migrate(lite);
      await run('pglite', lite);
    } finally {
      await lite.close();
    }
    const name = `steward_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: BENCH_PG_URL });
    try {
      await admin.connect();
      await admin.query(`create database ${name}`);
    } catch (e) {
      console.log(`postgres: skipped, no server at ${BENCH_PG_URL}: ${(e as Error).message}`);
      await admin.end().catch(() => undefined);
      return;
    }
    const url = new URL(BENCH_PG_URL);
    url.pathname = `/${name}`;
    const db = await openDb({ url: url.toString() });
    try {
      await migrate(db);
      await run('postgres', db);
    } finally {
      await db.close();
      // The pool's sockets finish closing just after close() resolves; a forced drop
      // before then would kill them and surface as an unhandled pool error.
      await new Promise((r) => setTimeout(r, 500));
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
