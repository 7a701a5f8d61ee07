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

  /** Waits for `done` up to `ms`; answers whether it came. Polling is set far longer than this, so only a wake-up can make it. */
  async function within(ms: number, done: () => boolean): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return done();
  }

  it('wake reaches every slot of a worker running several jobs at once', async () => {
    await queue.declare('wake-all-test');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    await queue.work<{ n: number }>('wake-all-test', { concurrency: 3, pollingIntervalSeconds: 120 }, async (job) => {
      started.push(job.data.n);
      await held;
    });
    // Let every slot make its first (empty) fetch and go to sleep for the polling interval.
    await new Promise((r) => setTimeout(r, 1500));
    await queue.sendMany('wake-all-test', [{ data: { n: 1 } }, { data: { n: 2 } }, { data: { n: 3 } }]);
    queue.wake('wake-all-test');
    const all = await within(20_000, () => started.length === 3);
    release();
    expect(all).toBe(true);
    expect(started.sort()).toEqual([1, 2, 3]);
  });

  it('a worker that took a full batch looks again at once instead of waiting for its next poll', async () => {
    await queue.declare('burst-test');
    const ran: number[] = [];
    await queue.work<{ n: number }>('burst-test', { concurrency: 1, batchSize: 1, pollingIntervalSeconds: 120 }, async (job) => {
      ran.push(job.data.n);
    });
    await new Promise((r) => setTimeout(r, 1500));
    await queue.sendMany('burst-test', [{ data: { n: 1 } }, { data: { n: 2 } }, { data: { n: 3 } }]);
    queue.wake('burst-test');
    expect(await within(20_000, () => ran.length === 3)).toBe(true);
  });

  it('refuses a second declaration of a queue with other settings, naming both', async () => {
    await queue.declare('settings-test', { expireInSeconds: 60 });
    await queue.declare('settings-test', { expireInSeconds: 60 });
    await expect(queue.declare('settings-test', { expireInSeconds: 61 })).rejects.toThrow(/settings-test.*declared twice.*expireInSeconds",60.*expireInSeconds",61/);
  });
});
