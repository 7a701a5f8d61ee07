// CSV import of 100,000 generated people: rows per second on PGlite and on PostgreSQL.
// Goal (issue 2): at least 20,000 rows/s on PostgreSQL.
// Run: npx node bench/import-users.ts [rows]   (PostgreSQL from STEWARD_BENCH_DATABASE_URL, default the local server)
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { importUsers } from '../src/services/import-users.ts';
import type { Db } from '../src/store/db.ts';
import { onEachDatabase } from './gen/databases.ts';
import { writePeopleCsv } from './gen/people.ts';

const rows = Number(process.argv[2] ?? 100_000);
const work = mkdtempSync(join(tmpdir(), 'steward-bench-'));
const file = join(work, 'people.csv');
await writePeopleCsv(file, rows);

async function run(label: string, db: Db): Promise<void> {
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
  await onEachDatabase(run);
} finally {
  rmSync(work, { recursive: true, force: true });
}
