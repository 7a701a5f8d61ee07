// A PostgreSQL connection can fail while it sits idle in the pool (the server restarts, an
// administrator ends it). The pool drops it and reports the failure; with no listener that
// report is an unhandled 'error' event and ends the process. openDb listens, tells its
// onError, and the next query gets a new connection.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/store/db.ts';
import { createTestDb } from '../support/db.ts';
import { until } from '../support/until.ts';

describe.skipIf(!process.env.STEWARD_TEST_DATABASE_URL)('PostgreSQL connections that fail while idle (needs STEWARD_TEST_DATABASE_URL)', () => {
  let owner: Db;
  beforeAll(async () => {
    owner = await createTestDb('postgres');
  });
  afterAll(() => owner?.close());

  it('are reported to onError and replaced, without an unhandled error', async () => {
    const errors: (Error & { code?: string })[] = [];
    const db = await openDb({ url: owner.url!, poolSize: 2, onError: (e) => errors.push(e) });
    try {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.k);
      const admin = new pg.Client({ connectionString: owner.url });
      await admin.connect();
      try {
        const killed = await admin.query('select pg_terminate_backend($1) as ok', [rows[0]!.pid]);
        expect(killed.rows[0].ok).toBe(true);
      } finally {
        await admin.end();
      }
      await until('the pool to report the ended connection', () => (errors.length > 0 ? true : undefined));
      expect(errors[0]!.code).toBe('57P01'); // admin_shutdown: "terminating connection due to administrator command"
      const again = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.k);
      expect(again.rows[0]!.pid).not.toBe(rows[0]!.pid);
    } finally {
      await db.close();
    }
  });
});
