// Coalesces point reads that arrive together into one query: under load, fifty
// concurrent GETs of Users cost a few round trips to the database instead of fifty.

/** Loads one value by key; keys asked for at about the same time share one fetch. */
export type BatchRead<K, V> = (key: K) => Promise<V | undefined>;

export interface BatchReadOptions {
  /** The most keys one fetch reads. */
  maxBatch?: number;
  /**
   * The most fetches running at once. Keys that arrive while this many run wait for one of
   * them to finish and then go together: the busier the database, the larger the batches.
   */
  maxInFlight?: number;
}

type Outcome<V> = { ok: true; value: V | undefined } | { ok: false; error: Error };

/**
 * Makes a batched reader over `fetch`, which reads many keys at once and returns what it
 * found by key. A batch is sent on the next turn of the event loop after its first key
 * (setImmediate), so every request parsed in the same turn joins it. A read never sees
 * the database as it was before it was asked for: a key that arrives while a batch is
 * running goes into a later batch, never into one already sent.
 */
export function batchReads<K, V>(fetch: (keys: K[]) => Promise<Map<K, V>>, opts: BatchReadOptions = {}): BatchRead<K, V> {
  const maxBatch = opts.maxBatch ?? 500;
  const maxInFlight = opts.maxInFlight ?? 1;
  const waiting = new Map<K, ((r: Outcome<V>) => void)[]>();
  let scheduled = false;
  let inFlight = 0;

  const send = () => {
    scheduled = false;
    while (waiting.size > 0 && inFlight < maxInFlight) {
      const batch = new Map<K, ((r: Outcome<V>) => void)[]>();
      for (const [k, callers] of waiting) {
        if (batch.size >= maxBatch) break;
        batch.set(k, callers);
        waiting.delete(k);
      }
      inFlight++;
      const settle = (outcome: (k: K) => Outcome<V>) => {
        inFlight--;
        for (const [k, callers] of batch) for (const c of callers) c(outcome(k));
        if (waiting.size > 0) schedule();
      };
      fetch([...batch.keys()]).then(
        (found) => settle((k) => ({ ok: true, value: found.get(k) })),
        (e: unknown) => {
          const error = e instanceof Error ? e : new Error(String(e));
          settle(() => ({ ok: false, error }));
        },
      );
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(send);
  };

  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      const done = (r: Outcome<V>) => (r.ok ? resolve(r.value) : reject(r.error));
      const callers = waiting.get(key);
      if (callers) callers.push(done);
      else waiting.set(key, [done]);
      schedule();
    });
}
