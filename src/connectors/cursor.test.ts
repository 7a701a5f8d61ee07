import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, paginate, resumeAfter } from './cursor.ts';

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
