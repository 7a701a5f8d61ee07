import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/support/db.ts';
import type { Db } from './db.ts';
import { scheduleMaintenance } from './maintenance.ts';

describe('maintenance of the embedded database', () => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb('pglite');
  });
  afterAll(() => db?.close());

  it('analyzes on schedule, so the planner has statistics', async () => {
    await sql`insert into groups (display_name, data) select 'g' || i, '{}' from generate_series(1, 50) i`.execute(db.k);
    const before = await sql<{ n: number | null }>`select reltuples::int as n from pg_class where relname = 'groups'`.execute(db.k);
    const messages: string[] = [];
    const stop = scheduleMaintenance(db, (m) => messages.push(m), 20);
    try {
      await expect.poll(() => messages.length, { timeout: 20_000 }).toBeGreaterThan(0);
    } finally {
      stop();
    }
    expect(messages[0]).toContain('vacuumed');
    const after = await sql<{ n: number }>`select reltuples::int as n from pg_class where relname = 'groups'`.execute(db.k);
    expect(before.rows[0]?.n).not.toBe(50);
    expect(after.rows[0]?.n).toBe(50);
  });
});
