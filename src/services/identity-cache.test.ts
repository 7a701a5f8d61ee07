import { describe, expect, it } from 'vitest';
import type { ChangeFeed, ChangedIds } from '../store/change-feed.ts';
import { identityCache } from './identity-cache.ts';

interface Value {
  row: { id: string; manager_id: string | null };
  n: number;
}

/** A feed the test announces on, and whose sync answers what the test says. */
function feed(): { up: boolean; announce: (ids: ChangedIds) => void; feed: ChangeFeed } {
  const fns = new Set<(ids: ChangedIds) => void>();
  const f: { up: boolean; announce: (ids: ChangedIds) => void; feed: ChangeFeed } = {
    up: true,
    announce: (ids: ChangedIds) => fns.forEach((fn) => fn(ids)),
    feed: {
      subscribe: (fn: (ids: ChangedIds) => void) => (fns.add(fn), () => void fns.delete(fn)),
      sync: () => (f.up ? true : Promise.resolve(false)),
      close: async () => undefined,
    },
  };
  return f;
}

/** A loader over a table of managers that counts its loads; `gate` holds a load until released. */
function loader(managers: Record<string, string | null> = {}) {
  const l = {
    loads: 0,
    gate: undefined as Promise<void> | undefined,
    load: async (id: string): Promise<Value | undefined> => {
      const n = ++l.loads;
      if (l.gate) await l.gate;
      return id === 'missing' ? undefined : { row: { id, manager_id: managers[id] ?? null }, n };
    },
  };
  return l;
}

describe('identityCache', () => {
  it('answers from memory until the identity is announced as changed', async () => {
    const f = feed();
    const l = loader();
    const get = identityCache(f.feed, l.load);
    const first = await get('a');
    expect(await get('a')).toBe(first);
    expect(l.loads).toBe(1);
    f.announce(['b']);
    expect(await get('a')).toBe(first);
    f.announce(['a']);
    const again = await get('a');
    expect(again).not.toBe(first);
    expect(l.loads).toBe(2);
  });

  it('drops the identities a changed identity manages (they show its name)', async () => {
    const f = feed();
    const l = loader({ r1: 'm', r2: 'm', other: 'x' });
    const get = identityCache(f.feed, l.load);
    const [r1, r2, other] = [await get('r1'), await get('r2'), await get('other')];
    f.announce(['m']);
    expect(await get('r1')).not.toBe(r1);
    expect(await get('r2')).not.toBe(r2);
    expect(await get('other')).toBe(other);
  });

  it('drops everything on "*"', async () => {
    const f = feed();
    const l = loader();
    const get = identityCache(f.feed, l.load);
    const a = await get('a');
    f.announce('*');
    expect(await get('a')).not.toBe(a);
  });

  it('returns but does not keep a value loaded while a change was announced (it may predate it)', async () => {
    const f = feed();
    const l = loader();
    const get = identityCache(f.feed, l.load);
    let open!: () => void;
    l.gate = new Promise((r) => (open = r));
    const during = get('a');
    f.announce(['a']);
    open();
    const v = await during;
    expect(v?.n).toBe(1);
    l.gate = undefined;
    expect((await get('a'))?.n).toBe(2);
  });

  it('keeps nothing that was not found', async () => {
    const f = feed();
    const l = loader();
    const get = identityCache(f.feed, l.load);
    expect(await get('missing')).toBeUndefined();
    expect(await get('missing')).toBeUndefined();
    expect(l.loads).toBe(2);
  });

  it('neither answers from memory nor keeps while the feed cannot sync', async () => {
    const f = feed();
    const l = loader();
    const get = identityCache(f.feed, l.load);
    const a = await get('a');
    f.up = false;
    expect(await get('a')).not.toBe(a);
    expect(await get('a')).not.toBe(a);
    expect(l.loads).toBe(3);
  });

  it('keeps at most `max` identities, dropping the oldest', async () => {
    const f = feed();
    const l = loader();
    const get = identityCache(f.feed, l.load, { max: 2 });
    const a = await get('a');
    const b = await get('b');
    await get('c');
    expect(await get('b')).toBe(b);
    expect(await get('a')).not.toBe(a);
  });
});
