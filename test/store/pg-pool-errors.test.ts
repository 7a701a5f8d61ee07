// A PostgreSQL connection can fail while it sits idle in the pool (the server restarts, an
// administrator ends it). The pool drops it and reports the failure; with no listener that
// report is an unhandled 'error' event and ends the process. openDb listens, tells its
// onError, and the next query gets a new connection.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession } from '../../src/store/copy.ts';
import { openDb, type Db } from '../../src/store/db.ts';
import { createTestDb } from '../support/db.ts';
import { until } from '../support/until.ts';

describe.skipIf(!process.env.STEWARD_TEST_DATABASE_URL)('PostgreSQL connections that fail while idle (needs STEWARD_TEST_DATABASE_URL)', () => {
  let owner: Db;
  beforeAll(async () => {
    owner = await createTestDb('postgres');
  });
  afterAll(() => owner?.close());

  const terminate = async (pid: number) => {
    const admin = new pg.Client({ connectionString: owner.url });
    await admin.connect();
    try {
      expect((await admin.query('select pg_terminate_backend($1) as ok', [pid])).rows[0].ok).toBe(true);
    } finally {
      await admin.end();
    }
  };

  it('are reported to onError and replaced, without an unhandled error', async () => {
    const errors: (Error & { code?: string })[] = [];
    const db = await openDb({ url: owner.url!, poolSize: 2, onError: (e) => errors.push(e) });
    try {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.k);
      await terminate(rows[0]!.pid);
      await until('the pool to report the ended connection', () => (errors.length > 0 ? true : undefined));
      expect(errors[0]!.code).toBe('57P01'); // admin_shutdown: "terminating connection due to administrator command"
      const again = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.k);
      expect(again.rows[0]!.pid).not.toBe(rows[0]!.pid);
    } finally {
      await db.close();
    }
  });

  it('fail the next statement of the transaction or session using them, not the process', async () => {
    const db = await openDb({ url: owner.url!, poolSize: 2 });
    try {
      // A transaction between two statements.
      await expect(
        db.tx(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          await terminate(rows[0]!.pid);
          await new Promise((r) => setTimeout(r, 300)); // the server's message arrives while no statement runs
          await sql`select 1`.execute(trx);
        }),
      ).rejects.toThrow();
      // A session (the CSV import's kind of connection) between two statements.
      await expect(
        withSession(db, async (s) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(s.k);
          await terminate(rows[0]!.pid);
          await new Promise((r) => setTimeout(r, 300));
          await sql`select 1`.execute(s.k);
        }),
      ).rejects.toThrow();
      // The pool dropped both; the database still answers.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db.k);
      expect(rows[0]!.one).toBe(1);
    } finally {
      await db.close();
    }
  });
});
