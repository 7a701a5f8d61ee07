// The identity change feed as this process sees it: the ids the database announces on
// `steward_identities` (migration 20261126T090000) after each commit that changed how a
// User reads, and a way to know that every change committed before a moment has arrived.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const IDENTITY_CHANNEL = 'steward_identities';
const MAX_MARKERS_OUT = 4;
/** The listening connection's application_name, as pg_stat_activity shows it. */
export const LISTENER_NAME = 'steward change feed';

/** Lower-case identity ids, or `'*'`: any identity may have changed. */
export type ChangedIds = readonly string[] | '*';

export interface ChangeFeed {
  /** Calls `fn` with every announcement, in commit order; `'*'` also when the feed was interrupted. */
  subscribe(fn: (ids: ChangedIds) => void): () => void;
  /**
   * Resolves true once every change committed before the call has been passed to the
   * subscribers, false when the feed cannot promise that (its connection is down): a cache
   * must then read from the database. `true` without a promise when nothing needs waiting for.
   */
  sync(): true | Promise<boolean>;
  close(): Promise<void>;
}

const parse = (payload: string): ChangedIds => (payload === '*' ? '*' : payload.split(',').filter((s) => s.length > 0));

/** Subscribers, with an announcement to each. */
function subscribers() {
  const fns = new Set<(ids: ChangedIds) => void>();
  return {
    add: (fn: (ids: ChangedIds) => void) => {
      fns.add(fn);
      return () => void fns.delete(fn);
    },
    emit: (ids: ChangedIds) => {
      for (const fn of fns) fn(ids);
    },
  };
}

/**
 * The embedded database's feed. Every writer is in this process, and the worker posts each
 * notification before the answer to the statement that committed it: by the time a write's
 * commit returns, its announcement has been handled, so `sync` never waits.
 */
export function embeddedChangeFeed(listen: (fn: (channel: string, payload: string) => void) => void): ChangeFeed {
  const subs = subscribers();
  listen((channel, payload) => {
    if (channel === IDENTITY_CHANNEL) subs.emit(parse(payload));
  });
  return { subscribe: subs.add, sync: () => true, close: async () => undefined };
}

export interface PgChangeFeedOptions {
  /** How long to wait before reconnecting a lost listener (default 1 s). */
  retryMs?: number;
  /** How long a marker may take to come back before the listening connection is taken for lost (default 5 s). */
  markerTimeoutMs?: number;
  /** Where connection failures are reported (default nowhere: the feed keeps retrying). */
  onError?: (e: Error) => void;
}

/** Runs a statement on a connection other than the listener's (a pool's), so that several markers can be out at once. */
export type MarkerSender = (text: string, params: unknown[]) => Promise<unknown>;

/**
 * PostgreSQL's feed: one connection of its own LISTENs on the channel, opened at the first
 * `sync`. Other processes write to the same database, so an announcement can still be on
 * its way when a read arrives. `sync` therefore sends a marker, a notification on a channel
 * only this connection listens on, and resolves when the marker comes back: PostgreSQL
 * delivers notifications in commit order, so every announcement of a transaction that
 * committed before the marker's has arrived first. Reads that arrive in the same turn of the
 * event loop share one marker, sent on the next turn; a read never waits on a marker sent
 * before it arrived (its writes may have been announced after that one). Up to four markers
 * are out at once, as a busy machine can take milliseconds to run each one.
 */
export function pgChangeFeed(url: string, query: MarkerSender, opts: PgChangeFeedOptions = {}): ChangeFeed {
  const subs = subscribers();
  const retryMs = opts.retryMs ?? 1000;
  const markerTimeoutMs = opts.markerTimeoutMs ?? 5000;
  const marker = `steward_sync_${randomBytes(6).toString('hex')}`;
  let client: pg.Client | undefined;
  let connecting: Promise<boolean> | undefined;
  let closed = false;
  let retryAt = 0;
  let seq = 0;
  // Markers sent and not back yet, by number, in the order sent: when, and whose reads wait on it.
  const out = new Map<number, { at: number; waiters: ((ok: boolean) => void)[] }>();
  let queued: ((ok: boolean) => void)[] = [];
  let scheduled = false;

  const settleAll = (ok: boolean) => {
    const waiting = [...[...out.values()].flatMap((m) => m.waiters), ...queued];
    out.clear();
    queued = [];
    for (const w of waiting) w(ok);
  };

  const lost = (c: pg.Client, e?: Error) => {
    if (client !== c) return;
    client = undefined;
    retryAt = Date.now() + retryMs;
    if (e) opts.onError?.(e);
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    // Announcements may have been missed while the connection was going: forget everything.
    subs.emit('*');
    settleAll(false);
  };

  const connect = (): Promise<boolean> => {
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: url, application_name: LISTENER_NAME });
      c.on('error', (e) => lost(c, e));
      try {
        await c.connect();
        c.on('notification', (m) => {
          if (m.channel === IDENTITY_CHANNEL) subs.emit(parse(m.payload ?? '*'));
          else if (m.channel === marker) {
            // Markers go out on different connections and can come back out of order, but any
            // marker sent after a read arrived will do for that read: this one releases itself
            // and every marker sent before it.
            const n = Number(m.payload);
            for (const [k, { waiters }] of out) {
              if (k > n) break;
              out.delete(k);
              for (const w of waiters) w(true);
            }
            if (queued.length > 0) schedule();
          }
        });
        // A marker commits a transaction: it need not wait for the disk.
        await c.query(`set synchronous_commit = off`);
        await c.query(`listen ${IDENTITY_CHANNEL}`);
        await c.query(`listen ${marker}`);
        if (closed) throw new Error('closed');
        // Only now may markers be sent: one sent before this connection LISTENs for it never
        // comes back (PostgreSQL hands a new listener only what is sent after it listens).
        client = c;
        c.on('end', () => lost(c));
        // Anything may have changed while no one listened.
        subs.emit('*');
        return true;
      } catch (e) {
        if (client === c) lost(c, e as Error);
        else {
          retryAt = Date.now() + retryMs;
          if (!closed) opts.onError?.(e as Error);
          c.end().catch(() => undefined);
        }
        return false;
      } finally {
        connecting = undefined;
      }
    })();
    return connecting;
  };

  const send = () => {
    scheduled = false;
    const c = client;
    if (!c || out.size >= MAX_MARKERS_OUT || queued.length === 0) return;
    const n = ++seq;
    out.set(n, { at: Date.now(), waiters: queued });
    queued = [];
    watch();
    query(`select pg_notify($1, $2)`, [marker, String(n)]).catch(() => {
      const waiters = out.get(n)?.waiters ?? [];
      out.delete(n);
      for (const w of waiters) w(false);
      if (queued.length > 0) schedule();
    });
  };
  // A marker that does not come back would hold its reads and, with the others out, every
  // read after them: once the oldest has been out `markerTimeoutMs` the connection is taken
  // for lost (its reads go to the database, and it reconnects).
  let watchdog: NodeJS.Timeout | undefined;
  const watch = () => {
    if (watchdog) return;
    const oldest = out.entries().next().value;
    if (oldest === undefined) return;
    watchdog = setTimeout(() => {
      watchdog = undefined;
      const [n, m] = out.entries().next().value ?? [];
      if (m && Date.now() - m.at >= markerTimeoutMs && client) {
        lost(client, new Error(`the change feed's marker ${n} did not come back within ${markerTimeoutMs} ms`));
      }
      watch();
    }, Math.max(0, oldest[1].at + markerTimeoutMs - Date.now()));
    watchdog.unref();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(send);
  };

  return {
    subscribe: subs.add,
    sync() {
      if (closed) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        if (client) {
          queued.push(resolve);
          schedule();
          return;
        }
        if (Date.now() < retryAt) return resolve(false);
        void connect().then((ok) => {
          if (!ok || !client) return resolve(false);
          queued.push(resolve);
          schedule();
        });
      });
    },
    async close() {
      closed = true;
      clearTimeout(watchdog);
      settleAll(false);
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners();
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
