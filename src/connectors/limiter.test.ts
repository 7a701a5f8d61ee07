import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CONCURRENCY, createConnectorLimiter, maxConcurrencyOf } from './limiter.ts';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('connector limiter', () => {
  it('runs at most maxConcurrency calls at once per key, and the rest in order', async () => {
    const limiter = createConnectorLimiter(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limiter.run('app-a', async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(limiter.stats('app-a')).toEqual({ running: 2, waiting: 2 });
    gates[1]!.open();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(limiter.stats('app-a')).toEqual({ running: 0, waiting: 0 });
  });

  it('keeps keys apart: a full application does not hold up another', async () => {
    const limiter = createConnectorLimiter(1);
    const g = gate();
    const first = limiter.run('app-a', () => g.promise);
    let otherRan = false;
    await limiter.run('app-b', async () => {
      otherRan = true;
    });
    expect(otherRan).toBe(true);
    expect(limiter.stats('app-a').running).toBe(1);
    g.open();
    await first;
  });

  it('frees the slot when the work fails', async () => {
    const limiter = createConnectorLimiter(1);
    await expect(limiter.run('app-a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run('app-a', async () => 'next')).toBe('next');
    expect(limiter.stats('app-a')).toEqual({ running: 0, waiting: 0 });
  });

  it('takes a per-call limit (the application setting) over the default', async () => {
    const limiter = createConnectorLimiter(4);
    const g = gate();
    const started: number[] = [];
    const runs = [0, 1].map((i) =>
      limiter.run('app-a', async () => {
        started.push(i);
        await g.promise;
      }, 1),
    );
    await tick();
    expect(started).toEqual([0]);
    g.open();
    await Promise.all(runs);
    expect(started).toEqual([0, 1]);
  });

  it('refuses a limit below one', async () => {
    expect(() => createConnectorLimiter(0)).toThrow(/maxConcurrency/);
    await expect(createConnectorLimiter().run('a', async () => 1, 0)).rejects.toThrow(/maxConcurrency/);
  });

  it('reads maxConcurrency from settings, with the default when absent or bad', () => {
    expect(maxConcurrencyOf({ maxConcurrency: 7 })).toBe(7);
    expect(maxConcurrencyOf({})).toBe(DEFAULT_MAX_CONCURRENCY);
    expect(maxConcurrencyOf({ maxConcurrency: 'x' })).toBe(DEFAULT_MAX_CONCURRENCY);
  });
});
