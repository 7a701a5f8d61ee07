// Test databases: every store and API test runs on PGlite, and on PostgreSQL too when
// STEWARD_TEST_DATABASE_URL names a server. Each test file gets its own fresh database.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, openDb, type Db, type DbKind } from '../../src/store/db.ts';
import { MIGRATIONS } from '../../src/store/migrations/index.ts';
import { installJobQueue } from '../../src/jobs/index.ts';
import bossPackage from 'pg-boss/package.json' with { type: 'json' };

/** The database kinds this run tests against. */
export function testDbKinds(): DbKind[] {
  return process.env.STEWARD_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

const templatePath = (): string => {
  const key = createHash('sha256').update([...Object.keys(MIGRATIONS), `pg-boss ${bossPackage.version}`].join('\n')).digest('hex').slice(0, 16);
  return join(tmpdir(), `steward-pglite-template-${key}.tar`);
};

/** A fresh, migrated database of the given kind; `close` drops it. */
export async function createTestDb(kind: DbKind): Promise<Db> {
  if (kind === 'pglite') {
    const template = templatePath();
    if (existsSync(template)) {
      const db = await openDb({ pgliteTemplate: template });
      await migrate(db);
      return db;
    }
    const db = await openDb({});
    await migrate(db);
    await installJobQueue(db);
    // Initialising a cluster costs seconds; later test files start from this dump instead.
    const tmp = `${template}.${process.pid}.tmp`;
    writeFileSync(tmp, await db.dump!());
    renameSync(tmp, template);
    return db;
  }
  const base = process.env.STEWARD_TEST_DATABASE_URL;
  if (!base) throw new Error('STEWARD_TEST_DATABASE_URL is not set');
  const name = `steward_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = await openDb({ url: url.toString(), poolSize: 5 });
  await migrate(db);
  return {
    ...db,
    async close() {
      await db.close();
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
