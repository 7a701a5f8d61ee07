// The embedded database's Kysely dialect: a query outside a transaction gives up its turn
// as soon as it is posted to the worker, so queries queue in the worker instead of waiting
// for each answer; a transaction keeps its turn from BEGIN to COMMIT.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { createTestDb } from '../support/db.ts';

describe('PGlite dialect turns', () => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb('pglite');
    await sql`create table turn_probe (n int not null)`.execute(db.k);
  });
  afterAll(() => db?.close());

  const count = async () => Number((await sql<{ n: number }>`select count(*)::int as n from turn_probe`.execute(db.k)).rows[0]!.n);

  it('keeps queries made during a transaction out of it: they neither see its rows nor run inside it', async () => {
    let inside!: () => void;
    const holding = new Promise<void>((r) => (inside = r));
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const tx = db.tx(async (trx) => {
      await sql`insert into turn_probe (n) values (1)`.execute(trx);
      inside();
      await finished;
      await sql`insert into turn_probe (n) values (2)`.execute(trx);
    });
    await holding;
    // Posted while the transaction holds the turn: they wait for its end.
    const during = [count(), count(), sql`insert into turn_probe (n) values (3)`.execute(db.k).then(count)];
    await new Promise((r) => setTimeout(r, 50));
    finish();
    await tx;
    expect(await Promise.all(during)).toEqual([2, 2, 3]);
  });

  it('answers queries posted one after another without waiting in the order they were posted', async () => {
    await sql`delete from turn_probe`.execute(db.k);
    const steps = [];
    for (let i = 1; i <= 20; i++) {
      steps.push(sql`insert into turn_probe (n) values (${i})`.execute(db.k));
      steps.push(count());
    }
    const results = await Promise.all(steps);
    const counts = results.filter((_, i) => i % 2 === 1);
    expect(counts).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('runs a transaction begun behind queued queries after them, and a rolled-back one leaves nothing', async () => {
    await sql`delete from turn_probe`.execute(db.k);
    const queued = [sql`insert into turn_probe (n) values (1)`.execute(db.k), sql`insert into turn_probe (n) values (2)`.execute(db.k)];
    const seenInTx = db.tx(async (trx) => Number((await sql<{ n: number }>`select count(*)::int as n from turn_probe`.execute(trx)).rows[0]!.n));
    await Promise.all(queued);
    expect(await seenInTx).toBe(2);
    await expect(
      db.tx(async (trx) => {
        await sql`insert into turn_probe (n) values (99)`.execute(trx);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await count()).toBe(2);
  });
});
