// Test helper: a Kysely over in-process PGlite, and over the machine's PostgreSQL when
// STEWARD_TEST_DATABASE_URL is set, so the SCIM SQL runs on both (STYLE.md §13).
import { PGlite } from '@electric-sql/pglite';
import type { ColumnType, PostgresPool, PostgresPoolClient } from 'kysely';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { keepWasmCode } from '../store/wasm-flags.ts';

export interface ScimUsersTable {
  id: string;
  user_name: string | null;
  external_id: string | null;
  active: boolean | null;
  updated_at: ColumnType<Date | null, string | null, string | null>;
  data: ColumnType<unknown, string, string>;
}

export interface TestSchema {
  scim_users: ScimUsersTable;
}

export interface TestDb {
  name: 'pglite' | 'postgres';
  db: Kysely<TestSchema>;
  close(): Promise<void>;
}

const CREATE = sql`CREATE TABLE scim_users (
  id uuid PRIMARY KEY,
  user_name text,
  external_id text,
  active boolean,
  updated_at timestamptz,
  data jsonb NOT NULL
)`;

// PGlite has one connection; Kysely's PostgresDialect needs only connect/release/end.
function pglitePool(pglite: PGlite): PostgresPool {
  let queue = Promise.resolve();
  const client: PostgresPoolClient = {
    query: (async (text: string, params: readonly unknown[]) => {
      const r = await pglite.query(text, [...params]);
      return { command: text.trim().split(/\s+/)[0]!.toUpperCase(), rowCount: r.affectedRows ?? 0, rows: r.rows };
    }) as PostgresPoolClient['query'],
    release: () => undefined,
  };
  return {
    connect: () => {
      const turn = queue;
      let done!: () => void;
      queue = new Promise<void>((r) => (done = r));
      return turn.then(() => ({ ...client, release: done }));
    },
    end: () => pglite.close(),
  };
}

/** A fresh in-memory PGlite with the `scim_users` table. */
export async function openPglite(): Promise<TestDb> {
  keepWasmCode();
  const pglite = await PGlite.create();
  const db = new Kysely<TestSchema>({ dialect: new PostgresDialect({ pool: pglitePool(pglite) }) });
  await CREATE.execute(db);
  return { name: 'pglite', db, close: () => db.destroy() };
}

/** A fresh database `scim_filter_<random>` on the server at `url`, dropped on close. */
export async function openPostgres(url: string): Promise<TestDb> {
  const name = `scim_filter_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = new Kysely<TestSchema>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.toString(), max: 2 }) }) });
  await CREATE.execute(db);
  return {
    name: 'postgres',
    db,
    close: async () => {
      await db.destroy();
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

/** The databases the SQL tests run on: PGlite always, PostgreSQL when configured. */
export function testDatabases(): { name: TestDb['name']; open: () => Promise<TestDb> }[] {
  const url = process.env.STEWARD_TEST_DATABASE_URL;
  const list: { name: TestDb['name']; open: () => Promise<TestDb> }[] = [{ name: 'pglite', open: openPglite }];
  if (url) list.push({ name: 'postgres', open: () => openPostgres(url) });
  return list;
}
