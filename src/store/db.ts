import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kysely, Migrator, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { embeddedChangeFeed, IDENTITY_CHANNEL, pgChangeFeed, type ChangeFeed } from './change-feed.ts';
import { lockDirectory, type DirectoryLock } from './lock.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { PgliteWorkerClient, PgliteWorkerDialect } from './pglite-dialect.ts';
import type { Database } from './tables.ts';

export type DbKind = 'pglite' | 'postgres';

/** The one database handle: Kysely over PGlite (embedded) or PostgreSQL. */
export interface Db {
  readonly kind: DbKind;
  readonly k: Kysely<Database>;
  /** PostgreSQL only: the URL it was opened with (the job queue opens its own pool on it). */
  readonly url?: string;
  /** PostgreSQL only: a dedicated connection from the pool, for work that must stay on one (see `withSession` in copy.ts); release it. */
  connect?(): Promise<pg.PoolClient>;
  /** Announcements of changed identities (for caches of Users); see change-feed.ts. */
  readonly changes: ChangeFeed;
  /** The embedded data directory's lock, when this process holds one. */
  readonly lock: DirectoryLock | undefined;
  /** Runs `fn` in one transaction; everything it writes commits or nothing does. */
  tx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** PGlite only: a tar of the cluster (see `pgliteTemplate`). */
  dump?(): Promise<Buffer>;
}

export type Executor = Kysely<Database> | Transaction<Database>;

export interface OpenOptions {
  /** A PostgreSQL URL; without it the embedded database is used. */
  url?: string;
  /** The embedded data directory; `undefined` with no url means in memory (tests). */
  dataDir?: string;
  /** What the lock file says holds the directory (`steward serve`, `steward migrate`…). */
  command?: string;
  /** Tests: start the embedded database from this dump instead of an empty cluster. */
  pgliteTemplate?: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /**
   * PostgreSQL: told when a connection fails while no query is using it (the server restarted,
   * an administrator ended it) and when the change feed's listener is lost. The pool drops
   * such a connection and opens another for the next query; without a listener the failure
   * would be an unhandled 'error' event that ends the process.
   */
  onError?: (e: Error) => void;
}

const INT8 = 20;

/** Opens the database the options name, taking the data directory's lock for PGlite. */
export async function openDb(options: OpenOptions): Promise<Db> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
          oid === INT8 ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
      },
    });
    let closing = false;
    // Connections still closing when close() resolves may hear the server end them: not news.
    pool.on('error', (e) => {
      if (!closing) options.onError?.(e);
    });
    // A connection in use (a transaction between two statements, an import's session) has no
    // pool listener: its failure would be unhandled too. Its user hears of it from its next
    // statement, which fails, and the pool drops it when it comes back.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const k = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const db = makeDb('postgres', k, undefined, pgChangeFeed(options.url, (text, params) => pool.query(text, params), options.onError ? { onError: options.onError } : {}));
    return {
      ...db,
      url: options.url,
      connect: () => pool.connect(),
      close: () => {
        closing = true;
        return db.close();
      },
    };
  }
  let lock: DirectoryLock | undefined;
  let dir: string | undefined;
  if (options.dataDir) {
    dir = resolve(options.dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    lock = lockDirectory(dir, options.command ?? 'steward');
  }
  try {
    const client = new PgliteWorkerClient(dir ? resolve(dir, 'pg') : undefined, options.pgliteTemplate, [IDENTITY_CHANNEL]);
    const k = new Kysely<Database>({ dialect: new PgliteWorkerDialect(client) });
    return { ...makeDb('pglite', k, lock, embeddedChangeFeed((fn) => client.onNotification(fn))), dump: () => client.dump() };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

function makeDb(kind: DbKind, k: Kysely<Database>, lock: DirectoryLock | undefined, changes: ChangeFeed): Db {
  return {
    kind,
    k,
    changes,
    lock,
    tx: (fn) => k.transaction().execute(fn),
    async close() {
      try {
        await changes.close();
        await k.destroy();
      } finally {
        lock?.release();
      }
    },
  };
}

/** Applies every pending migration under the migrator's lock; returns the names applied. */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db: db.k,
    provider: { getMigrations: async () => MIGRATIONS },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
