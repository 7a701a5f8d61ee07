/**
 * A per-application limit on concurrent connector calls, so one application's target is
 * never sent more than `maxConcurrency` calls at once from this process, whoever calls
 * (the test endpoint now, the job queue's workers later). Waiters are served in order.
 */

export const DEFAULT_MAX_CONCURRENCY = 4;

export interface ConnectorLimiter {
  /** Runs `work` once fewer than the key's limit are running for `key`; resolves or rejects with it. */
  run<T>(key: string, work: () => Promise<T>, maxConcurrency?: number): Promise<T>;
  /** How many calls run and wait for `key` now (for metrics and tests). */
  stats(key: string): { running: number; waiting: number };
}

interface Lane {
  running: number;
  waiting: (() => void)[];
}

/** A limiter whose lanes are made on first use and dropped when idle, so idle applications cost nothing. */
export function createConnectorLimiter(defaultMax: number = DEFAULT_MAX_CONCURRENCY): ConnectorLimiter {
  if (!Number.isSafeInteger(defaultMax) || defaultMax < 1) throw new RangeError(`maxConcurrency must be a whole number ≥ 1, not ${defaultMax}`);
  const lanes = new Map<string, Lane>();

  function release(key: string, lane: Lane): void {
    const next = lane.waiting.shift();
    // The slot passes straight to the next waiter, so a newcomer cannot jump the queue.
    if (next !== undefined) next();
    else {
      lane.running--;
      if (lane.running === 0) lanes.delete(key);
    }
  }

  return {
    async run(key, work, maxConcurrency) {
      const max = maxConcurrency ?? defaultMax;
      if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxConcurrency must be a whole number ≥ 1, not ${max}`);
      let lane = lanes.get(key);
      if (lane === undefined) {
        lane = { running: 0, waiting: [] };
        lanes.set(key, lane);
      }
      const l = lane;
      if (l.running < max) l.running++;
      else await new Promise<void>((resolve) => l.waiting.push(resolve));
      try {
        return await work();
      } finally {
        release(key, l);
      }
    },
    stats(key) {
      const lane = lanes.get(key);
      return { running: lane?.running ?? 0, waiting: lane?.waiting.length ?? 0 };
    },
  };
}

/** The `maxConcurrency` of an application's settings, or the default when it has none. */
export function maxConcurrencyOf(settings: Record<string, unknown>): number {
  const v = settings.maxConcurrency;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? v : DEFAULT_MAX_CONCURRENCY;
}
