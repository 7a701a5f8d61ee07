import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

describe.each(testDbKinds())('job queue on %s', (kind) => {
  let db: Db;
  let queue: JobQueue;
  beforeAll(async () => {
    db = await createTestDb(kind);
    queue = createJobQueue({ db });
    await queue.start();
  });
  afterAll(async () => {
    await queue.stop();
    await db.close();
  });

  it('a job sent in a transaction runs only when the transaction commits', async () => {
    await queue.declare('tx-test');
    const seen: number[] = [];
    let twoSeen!: () => void;
    const both = new Promise<void>((r) => (twoSeen = r));
    await queue.work<{ n: number }>('tx-test', { batchSize: 10, pollingIntervalSeconds: 0.5 }, async (job) => {
      seen.push(job.data.n);
      if (seen.length === 2) twoSeen();
    });
    await expect(
      db.tx(async (tx) => {
        await queue.send('tx-test', { n: 99 }, {}, tx);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await db.tx(async (tx) => {
      await queue.send('tx-test', { n: 1 }, {}, tx);
      await queue.send('tx-test', { n: 2 }, {}, tx);
    });
    queue.wake('tx-test');
    await both;
    // Give a wrongly committed job every chance to show up before checking it did not.
    await new Promise((r) => setTimeout(r, 1200));
    expect(seen.sort()).toEqual([1, 2]);
  });

  it('a job scheduled for later does not run before its time', async () => {
    await queue.declare('later-test');
    const ran: number[] = [];
    await queue.work<{ n: number }>('later-test', { pollingIntervalSeconds: 0.5 }, async (job) => {
      ran.push(job.data.n);
    });
    await queue.send('later-test', { n: 1 }, { startAfter: new Date(Date.now() + 60_000) });
    await queue.send('later-test', { n: 2 });
    queue.wake('later-test');
    const deadline = Date.now() + 10_000;
    while (!ran.includes(2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    expect(ran).toEqual([2]);
  });
});
