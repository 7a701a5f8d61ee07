// The embedded database's Kysely dialect: a query outside a transaction gives up its turn
// as soon as it is posted to the worker, so queries queue in the worker instead of waiting
// for each answer; a transaction keeps its turn from BEGIN to COMMIT; answers are handed over
// one a turn of the event loop.
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

  it('hands the worker\'s answers over one a turn of the event loop, even when they arrive together', async () => {
    // A turn counter: an immediate that re-arms itself runs once in every turn of the loop.
    let turn = 0;
    let counting = true;
    const tick = () => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const turns: number[] = [];
    const answers = Array.from({ length: 5 }, () => count().then(() => turns.push(turn)));
    // Keep this thread busy until the worker has answered all five: their messages then
    // wait together and Node would hand them all over in one go.
    const until = Date.now() + 300;
    while (Date.now() < until) {
      /* busy */
    }
    await Promise.all(answers);
    counting = false;
    expect(new Set(turns).size).toBe(5);
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
