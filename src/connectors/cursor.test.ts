import { describe, expect, it } from 'vitest';
import { changeMarkOf, decodeCursor, encodeCursor, paginate, paginateBatches, parseChangeMark, resumeAfter, resumeBatchesAfter } from './cursor.ts';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function pages(items: string[], size: number): Promise<{ items: string[]; nextCursor: string | null }[]> {
  const out = [];
  for await (const p of paginate(from(items), size, (s) => s)) out.push(p);
  return out;
}

describe('paginate', () => {
  it('gives full pages with cursors and a last page with none', async () => {
    const p = await pages(['a', 'b', 'c', 'd', 'e'], 2);
    expect(p.map((x) => x.items)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(p.map((x) => x.nextCursor === null)).toEqual([false, false, true]);
    expect(decodeCursor(p[1]!.nextCursor!)).toEqual({ n: 4, k: 'd' });
  });
  it('does not end with an empty page when the items fill the last page exactly', async () => {
    const p = await pages(['a', 'b', 'c', 'd'], 2);
    expect(p.map((x) => x.items)).toEqual([['a', 'b'], ['c', 'd']]);
    expect(p[1]!.nextCursor).toBeNull();
  });
  it('gives one empty last page when there is nothing', async () => {
    expect(await pages([], 3)).toEqual([{ items: [], nextCursor: null }]);
  });
});

describe('resumeAfter', () => {
  const collect = async (items: string[], cursor: { n: number; k: string } | null): Promise<string[]> => {
    const out: string[] = [];
    for await (const i of resumeAfter(() => from(items), (s) => s, cursor)) out.push(i);
    return out;
  };
  it('continues after the key where it was', async () => {
    expect(await collect(['a', 'b', 'c', 'd'], { n: 2, k: 'b' })).toEqual(['c', 'd']);
  });
  it('finds the key where it moved to', async () => {
    expect(await collect(['b', 'c', 'd'], { n: 2, k: 'b' })).toEqual(['c', 'd']);
    expect(await collect(['x', 'y', 'a', 'b', 'c'], { n: 2, k: 'b' })).toEqual(['c']);
  });
  it('fails as stale when the key is gone', async () => {
    await expect(collect(['a', 'c'], { n: 2, k: 'b' })).rejects.toMatchObject({ code: 'cursor_stale' });
  });
});

describe('cursor encoding', () => {
  it('round-trips and refuses what it did not make', () => {
    expect(decodeCursor(encodeCursor({ n: 7, k: 'uid=x,dc=y' }))).toEqual({ n: 7, k: 'uid=x,dc=y' });
    expect(() => decodeCursor('garbage')).toThrow(/was not made by this connector kind/);
    expect(() => decodeCursor(encodeCursor({ n: 0, k: 'x' }))).toThrow();
  });
});

describe('batch variants', () => {
  async function* batches(items: string[], size: number): AsyncGenerator<string[]> {
    for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
  }
  const flat = async (it: AsyncIterable<string[]>): Promise<string[]> => {
    const out: string[] = [];
    for await (const b of it) out.push(...b);
    return out;
  };
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

  it('resumes after the key at its place, across batch borders', async () => {
    for (let n = 1; n <= items.length; n++) {
      expect(await flat(resumeBatchesAfter(() => batches(items, 3), (s) => s, { n, k: items[n - 1]! }))).toEqual(items.slice(n));
    }
  });
  it('finds a key that moved, and says stale when it is gone or the source is shorter', async () => {
    expect(await flat(resumeBatchesAfter(() => batches(['b', 'c', 'd'], 2), (s) => s, { n: 2, k: 'b' }))).toEqual(['c', 'd']);
    await expect(flat(resumeBatchesAfter(() => batches(['a', 'c'], 2), (s) => s, { n: 2, k: 'b' }))).rejects.toMatchObject({ code: 'cursor_stale' });
    await expect(flat(resumeBatchesAfter(() => batches(['a'], 2), (s) => s, { n: 5, k: 'z' }))).rejects.toMatchObject({ code: 'cursor_stale' });
  });
  it('pages batches into exact pages, the last without a cursor', async () => {
    const pages = [];
    for await (const p of paginateBatches(batches(items, 3), 2, (s) => s)) pages.push(p);
    expect(pages.map((p) => p.items)).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f'], ['g']]);
    expect(decodeCursor(pages[2]!.nextCursor!)).toEqual({ n: 6, k: 'f' });
    expect(pages[3]!.nextCursor).toBeNull();
    const exact = [];
    for await (const p of paginateBatches(batches(['a', 'b'], 1), 2, (s) => s)) exact.push(p);
    expect(exact).toEqual([{ items: ['a', 'b'], nextCursor: null }]);
  });
});

describe('change marks', () => {
  it('normalises a target time to ISO 8601 UTC with milliseconds, and anything else to undefined', () => {
    expect(changeMarkOf('2026-11-23T10:00:00+01:00')).toBe('2026-11-23T09:00:00.000Z');
    expect(changeMarkOf(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)))).toBe('2026-01-02T03:04:05.006Z');
    for (const v of [undefined, null, '', '  ', 'yesterday', 42, {}, [], new Date(Number.NaN)]) expect(changeMarkOf(v)).toBeUndefined();
  });

  it('parses only marks a listing made, naming the expected form otherwise', () => {
    expect(parseChangeMark('2026-11-23T10:00:00.000Z').getTime()).toBe(Date.UTC(2026, 10, 23, 10));
    for (const bad of ['', '2026-11-23', '2026-11-23T10:00:00Z', '2026-11-23T10:00:00.000+00:00', '2026-02-30T10:00:00.000Z', '2026-11-23T10:00:00.000Z" or userName pr "', `${'9'.repeat(500)}`, '2026-11-23T10:00:00.000Z\n']) {
      expect(() => parseChangeMark(bad), bad).toThrow(/change mark .* is not an ISO 8601 UTC instant with milliseconds/s);
    }
  });
});
