import { describe, expect, it } from 'vitest';
import { batchReads } from './batch-reads.ts';

/** A fetch that records the keys of each call and answers when told to. */
function controlledFetch() {
  const calls: { keys: string[]; answer: (m: Map<string, string>) => void; fail: (e: Error) => void }[] = [];
  const fetch = (keys: string[]) =>
    new Promise<Map<string, string>>((resolve, reject) => {
      calls.push({ keys, answer: resolve, fail: reject });
    });
  return { calls, fetch };
}

const turn = () => new Promise<void>((r) => setImmediate(r));
const upper = (keys: string[]) => new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.toUpperCase()]));

describe('batchReads', () => {
  it('reads keys asked for in the same turn with one fetch, each caller getting its own value', async () => {
    const { calls, fetch } = controlledFetch();
    const read = batchReads(fetch);
    const results = Promise.all([read('a'), read('b'), read('missing')]);
    await turn();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b', 'missing']]);
    calls[0]!.answer(upper(calls[0]!.keys));
    expect(await results).toEqual(['A', 'B', undefined]);
  });

  it('asks once for a key several callers want at the same time', async () => {
    const { calls, fetch } = controlledFetch();
    const read = batchReads(fetch);
    const results = Promise.all([read('a'), read('a'), read('a')]);
    await turn();
    expect(calls.map((c) => c.keys)).toEqual([['a']]);
    calls[0]!.answer(upper(['a']));
    expect(await results).toEqual(['A', 'A', 'A']);
  });

  it('never answers a key from a fetch sent before the key was asked for', async () => {
    const { calls, fetch } = controlledFetch();
    const read = batchReads(fetch, { maxInFlight: 1 });
    const first = read('a');
    await turn();
    expect(calls).toHaveLength(1);
    // Asked while the first fetch runs: waits for a fetch of its own, even for the same key.
    const again = read('a');
    const other = read('b');
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]!.answer(new Map([['a', 'old']]));
    expect(await first).toBe('old');
    await turn();
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['a', 'b']]);
    calls[1]!.answer(new Map([['a', 'new'], ['b', 'B']]));
    expect(await Promise.all([again, other])).toEqual(['new', 'B']);
  });

  it('runs up to maxInFlight fetches at once and splits batches at maxBatch', async () => {
    const { calls, fetch } = controlledFetch();
    const read = batchReads(fetch, { maxInFlight: 2, maxBatch: 2 });
    const results = Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => read(k)));
    await turn();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b'], ['c', 'd']]);
    calls[0]!.answer(upper(calls[0]!.keys));
    await turn();
    await turn();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    calls[1]!.answer(upper(calls[1]!.keys));
    calls[2]!.answer(upper(calls[2]!.keys));
    expect(await results).toEqual(['A', 'B', 'C', 'D', 'E']);
  });

  it('rejects every caller of a failed fetch, and later reads fetch again', async () => {
    const { calls, fetch } = controlledFetch();
    const read = batchReads(fetch);
    const a = read('a');
    const b = read('b');
    await turn();
    calls[0]!.fail(new Error('connection lost'));
    await expect(a).rejects.toThrow('connection lost');
    await expect(b).rejects.toThrow('connection lost');
    const c = read('a');
    await turn();
    calls[1]!.answer(upper(['a']));
    expect(await c).toBe('A');
  });
});
