// CSV import of 100,000 generated people: rows per second on PGlite and on PostgreSQL.
// Goal (issue 2): at least 20,000 rows/s on PostgreSQL.
// Run: npx node bench/import-users.ts [rows]   (PostgreSQL from STEWARD_BENCH_DATABASE_URL, default the local server)
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { importUsers } from '../src/services/import-users.ts';
import { migrate, openDb, type Db } from '../src/store/db.ts';
import { writePeopleCsv } from './gen/people.ts';

const rows = Number(process.argv[2] ?? 100_000);
const pgUrl = process.env.STEWARD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const work = mkdtempSync(join(tmpdir(), 'steward-bench-'));
const file = join(work, 'people.csv');
await writePeopleCsv(file, rows);

async function run(label: string, db: Db): Promise<void> {
  await migrate(db);
  const t0 = performance.now();
  const report = await importUsers(db, SYSTEM_ACTOR, createReadStream(file), { key: 'userName' });
  const s = (performance.now() - t0) / 1000;
  if (report.created !== rows) throw new Error(`${label}: expected ${rows} created, got ${JSON.stringify({ ...report, rejected: report.rejected.slice(0, 3) })}`);
  console.log(`figure: import-users.${label}.rows_per_second = ${Math.round(rows / s)} rows/s (${rows} rows in ${s.toFixed(1)} s)`);
  // A re-import of the same file: every row unchanged.
  const t1 = performance.now();
  const again = await importUsers(db, SYSTEM_ACTOR, createReadStream(file), { key: 'userName' });
  const s1 = (performance.now() - t1) / 1000;
  console.log(`figure: import-users.${label}.reimport_rows_per_second = ${Math.round(rows / s1)} rows/s (${again.unchanged} unchanged)`);
}

try {
  const lite = await openDb({ dataDir: join(work, 'data'), command: 'bench' });
  try {
    await run('pglite', lite);
  } finally {
    await lite.close();
  }
  const name = `steward_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (e) {
    console.log(`postgres: skipped, no server at ${pgUrl}: ${(e as Error).message}`);
    process.exit(0);
  }
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  const pgDb = await openDb({ url: url.toString() });
  try {
    await run('postgres', pgDb);
  } finally {
    await pgDb.close();
    await admin.query(`drop database ${name} with (force)`);
    await admin.end();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
