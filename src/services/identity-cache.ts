// Identities as last read, kept in memory for reads of one User by id, and dropped as the
// database's change feed (src/store/change-feed.ts) announces changes to them.
import type { ChangeFeed, ChangedIds } from '../store/change-feed.ts';

/** What a cached value is about: its identity and the identity it names as manager. */
export interface CachedIdentity {
  row: { id: string; manager_id: string | null };
}

export interface IdentityCacheOptions {
  /** The most identities kept (default 10,000); the oldest go first. */
  max?: number;
}

/**
 * Reads through `load`, keeping what it returns until the feed announces a change to it.
 * A value depends on its own row and on its manager's (a User shows its manager's name), so
 * an announcement for an identity also drops the identities it manages.
 *
 * Every read first asks the feed to catch up with what has committed (`sync`): a read never
 * answers from memory with anything older than the database as it was when the read was
 * asked for. A value loaded while any announcement arrived is returned but not kept (it may
 * predate that change); while the feed is down nothing is served from memory or kept.
 */
export function identityCache<V extends CachedIdentity>(feed: ChangeFeed, load: (id: string) => Promise<V | undefined>, opts: IdentityCacheOptions = {}): (id: string) => Promise<V | undefined> {
  const max = opts.max ?? 10_000;
  const entries = new Map<string, V>();
  const reportsOf = new Map<string, Set<string>>();
  let epoch = 0;

  const drop = (id: string) => {
    const v = entries.get(id);
    if (!v) return;
    entries.delete(id);
    const m = v.row.manager_id;
    if (m === null) return;
    const reports = reportsOf.get(m);
    reports?.delete(id);
    if (reports?.size === 0) reportsOf.delete(m);
  };

  feed.subscribe((ids: ChangedIds) => {
    epoch++;
    if (ids === '*') {
      entries.clear();
      reportsOf.clear();
      return;
    }
    for (const id of ids) {
      drop(id);
      const reports = reportsOf.get(id);
      if (reports) for (const r of [...reports]) drop(r);
    }
  });

  const keep = (id: string, v: V) => {
    if (entries.size >= max) drop(entries.keys().next().value!);
    entries.set(id, v);
    const m = v.row.manager_id;
    if (m === null) return;
    let reports = reportsOf.get(m);
    if (!reports) reportsOf.set(m, (reports = new Set()));
    reports.add(id);
  };

  const fromDb = async (id: string): Promise<V | undefined> => {
    const at = epoch;
    const v = await load(id);
    if (v && at === epoch && !entries.has(id)) keep(id, v);
    return v;
  };

  const afterSync = (id: string, ok: boolean): V | Promise<V | undefined> | undefined => {
    if (!ok) return load(id);
    return entries.get(id) ?? fromDb(id);
  };

  return async (id) => {
    const synced = feed.sync();
    return synced === true ? afterSync(id, true) : afterSync(id, await synced);
  };
}
