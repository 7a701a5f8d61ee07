// Migrations are immutable and timestamped: a released file never changes, and a database
// upgraded one release at a time ends with the same schema as a fresh install.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { appendAudit, listAudit, verifyAudit } from '../../src/store/audit.ts';
import { openDb, type Db } from '../../src/store/db.ts';
import { MIGRATIONS } from '../../src/store/migrations/index.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

const dir = new URL('../../src/store/migrations/', import.meta.url);

async function schemaOf(db: Db): Promise<string[]> {
  const cols = await sql<{ d: string }>`
    select table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as d
    from information_schema.columns where table_schema = 'public' order by 1`.execute(db.k);
  const idx = await sql<{ d: string }>`select indexdef as d from pg_indexes where schemaname = 'public' order by 1`.execute(db.k);
  return [...cols.rows.map((r) => r.d), ...idx.rows.map((r) => r.d)];
}

describe('migrations', () => {
  it('are registered in timestamp order, one file each, with immutable released contents', () => {
    const files = readdirSync(dir).filter((f) => /^\d{8}T\d{6}_.+\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, ''));
    expect(Object.keys(MIGRATIONS)).toEqual([...files].sort());
    // released.json: the sha-256 of every migration that has shipped. Add a new one's line when it lands on main.
    const released = JSON.parse(readFileSync(new URL('released.json', dir), 'utf8')) as Record<string, string>;
    for (const [name, sha] of Object.entries(released)) {
      const actual = createHash('sha256').update(readFileSync(new URL(`${name}.ts`, dir))).digest('hex');
      expect(actual, `${name} changed after release: add a new migration instead`).toBe(sha);
    }
  });

  it.each(testDbKinds())('upgrade one at a time ends with the fresh schema on %s', async (kind) => {
    const fresh = await createTestDb(kind);
    const stepwise = kind === 'pglite' ? await openDb({}) : await createTestDb(kind);
    try {
      if (kind === 'postgres') {
        // createTestDb migrated it already; start again from nothing
        await sql`drop schema public cascade`.execute(stepwise.k);
        await sql`create schema public`.execute(stepwise.k);
      }
      const migrator = new Migrator({ db: stepwise.k, provider: { getMigrations: async () => MIGRATIONS } });
      for (let i = 0; i < Object.keys(MIGRATIONS).length; i++) {
        const r = await migrator.migrateUp();
        expect(r.error).toBeUndefined();
      }
      expect(await schemaOf(stepwise)).toEqual(await schemaOf(fresh));
    } finally {
      await fresh.close();
      await stepwise.close();
    }
  }, 180_000);

  it.each(testDbKinds())('keep the audit chain verifiable when before and after become json text, on %s', async (kind) => {
    const db = kind === 'pglite' ? await openDb({}) : await createTestDb(kind);
    try {
      if (kind === 'postgres') {
        await sql`drop schema public cascade`.execute(db.k);
        await sql`create schema public`.execute(db.k);
      }
      const names = Object.keys(MIGRATIONS);
      const target = names.indexOf('20261127T090000_audit_json_text');
      const migrator = new Migrator({ db: db.k, provider: { getMigrations: async () => MIGRATIONS } });
      expect((await migrator.migrateTo(names[target - 1]!)).error).toBeUndefined();
      // Events written while the columns were jsonb (which keeps its own text of them).
      const after = { userName: 'ann', emails: [{ value: 'ann@example.com', primary: true }], n: 1.5, b: { z: null, a: 'é' } };
      await db.tx((trx) => appendAudit(trx, [{ actor: 'a', action: 'identity.create', objectType: 'identity', objectId: '1', after }]));
      await db.tx((trx) => appendAudit(trx, [{ actor: 'a', action: 'identity.update', objectType: 'identity', objectId: '1', before: after, after: { ...after, n: 2 } }]));
      expect(await verifyAudit(db.k)).toMatchObject({ ok: true, events: 2 });
      expect((await migrator.migrateTo(names[target]!)).error).toBeUndefined();
      const types = await sql<{ t: string }>`select data_type as t from information_schema.columns where table_name = 'audit_events' and column_name in ('before', 'after')`.execute(db.k);
      expect(types.rows.map((r) => r.t)).toEqual(['json', 'json']);
      expect((await listAudit(db.k, { limit: 10 }))[0]!.after).toEqual(after);
      // New events link onto the converted ones; the whole chain still verifies.
      await db.tx((trx) => appendAudit(trx, [{ actor: 'a', action: 'identity.delete', objectType: 'identity', objectId: '1', before: after }]));
      expect(await verifyAudit(db.k)).toMatchObject({ ok: true, events: 3 });
    } finally {
      await db.close();
    }
  }, 180_000);
});
