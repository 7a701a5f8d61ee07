import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { WorkerRequest, WorkerResponse } from './pglite-worker.ts';
import { keepWasmCode } from './wasm-flags.ts';

/** A database error carried back from the worker, with PostgreSQL's SQLSTATE and details. */
export class PgliteError extends Error {
  code: string | undefined;
  detail: string | undefined;
  constraint: string | undefined;
  table: string | undefined;
  column: string | undefined;
  constructor(e: NonNullable<WorkerResponse['error']>) {
    super(e.message);
    this.name = 'PgliteError';
    this.code = e.code;
    this.detail = e.detail;
    this.constraint = e.constraint;
    this.table = e.table;
    this.column = e.column;
  }
}

/** The main-thread handle on the PGlite worker: sends SQL, awaits rows. */
export class PgliteWorkerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void }>();
  private exited: Error | undefined;
  /**
   * Answers not yet handed to their callers. Node hands over every message the worker has
   * queued in one go, and each answer resumes a caller (a batch of the CSV import goes on
   * to plan, serialise and hash its rows): several in one turn of the event loop would
   * stall it for all of them. One answer a turn lets timers and other requests run between.
   */
  private readonly answers: WorkerResponse[] = [];
  private readonly deliver = (): void => {
    const res = this.answers.shift();
    if (this.answers.length > 0) setImmediate(this.deliver);
    if (!res) return;
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    p.resolve(res);
  };

  private readonly listeners = new Set<(channel: string, payload: string) => void>();

  /** `channels`: the channels to LISTEN on; see `onNotification`. */
  constructor(dataDir: string | undefined, loadDataDir?: string, channels: readonly string[] = []) {
    keepWasmCode();
    this.worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData: { dataDir, loadDataDir, channels: [...channels] } });
    this.worker.on('message', (res: WorkerResponse) => {
      // Handled at once, ahead of any answer still waiting for its turn: a change is always
      // announced before the commit that made it returns to its caller.
      if (res.notify) {
        for (const fn of this.listeners) fn(res.notify.channel, res.notify.payload);
        return;
      }
      this.answers.push(res);
      if (this.answers.length === 1) setImmediate(this.deliver);
    });
    const fail = (e: Error) => {
      this.exited = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the embedded database worker exited (code ${code})`)));
  }

  /** Calls `fn` with each notification on the channels given at construction, in commit order. */
  onNotification(fn: (channel: string, payload: string) => void): void {
    this.listeners.add(fn);
  }

  private send(req: Omit<WorkerRequest, 'id'>): Promise<WorkerResponse> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  /** Runs one statement with bound parameters. */
  async query(sql: string, params: readonly unknown[] = []): Promise<{ rows: Record<string, unknown>[]; affectedRows: number }> {
    const res = await this.send({ op: 'query', sql, params: [...params] });
    if (res.error) throw new PgliteError(res.error);
    return { rows: res.rows ?? [], affectedRows: res.affectedRows ?? 0 };
  }

  /** Runs several statements without parameters and returns the rows of all of them, in order. */
  async script(sql: string): Promise<{ rows: Record<string, unknown>[]; affectedRows: number }> {
    const res = await this.send({ op: 'script', sql });
    if (res.error) throw new PgliteError(res.error);
    return { rows: res.rows ?? [], affectedRows: res.affectedRows ?? 0 };
  }

  /** Runs a script of several statements without parameters. */
  async exec(sql: string): Promise<void> {
    const res = await this.send({ op: 'exec', sql });
    if (res.error) throw new PgliteError(res.error);
  }

  /** A tar of the whole cluster, to start other databases from (tests use it as a template). */
  async dump(): Promise<Buffer> {
    const res = await this.send({ op: 'dump' });
    if (res.error || !res.dump) throw new PgliteError(res.error ?? { message: 'no dump returned' });
    return Buffer.from(res.dump);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    await this.send({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}

/**
 * A Kysely dialect over the PGlite worker. PGlite is one session, so a connection is an
 * exclusive turn on it: a transaction holds the turn from BEGIN to COMMIT and other
 * queries queue behind it.
 */
export class PgliteWorkerDialect implements Dialect {
  private readonly client: PgliteWorkerClient;
  constructor(client: PgliteWorkerClient) {
    this.client = client;
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.client);
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

class PgliteDriver implements Driver {
  private readonly client: PgliteWorkerClient;
  private queue: Promise<void> = Promise.resolve();
  constructor(client: PgliteWorkerClient) {
    this.client = client;
  }
  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const turn = new Promise<void>((r) => (release = r));
    const prev = this.queue;
    this.queue = prev.then(() => turn);
    await prev;
    return new PgliteConnection(this.client, release);
  }
  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    (conn as PgliteConnection).inTransaction = true;
    const iso = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    await conn.executeQuery(CompiledQuery.raw(`begin${iso}`));
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }
  async savepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`savepoint ${name}`));
  }
  async rollbackToSavepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`rollback to savepoint ${name}`));
  }
  async releaseSavepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`release savepoint ${name}`));
  }
  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    (conn as PgliteConnection).releaseTurn();
  }
  async destroy(): Promise<void> {
    await this.client.close();
  }
}

/** A `;` followed by more text: more than one statement. */
const MULTI_STATEMENT = /;\s*\S/;

class PgliteConnection implements DatabaseConnection {
  private readonly client: PgliteWorkerClient;
  private readonly release: () => void;
  private released = false;
  /** Set by beginTransaction: the turn is held until the transaction ends. */
  inTransaction = false;
  constructor(client: PgliteWorkerClient, release: () => void) {
    this.client = client;
    this.release = release;
  }
  releaseTurn(): void {
    if (this.released) return;
    this.released = true;
    this.release();
  }
  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    // PGlite's extended protocol takes one statement; a parameterless text of several
    // statements (the job queue's own BEGIN … COMMIT blocks) goes through the simple protocol.
    const pending = q.parameters.length === 0 && MULTI_STATEMENT.test(q.sql) ? this.client.script(q.sql) : this.client.query(q.sql, q.parameters);
    // A query outside a transaction (Kysely gives it a connection of its own) is posted by
    // now, and the worker runs what it is sent in order: the next turn may post its own
    // queries behind it at once instead of waiting for this answer to come back. The worker
    // is then never idle between queries. (A Kysely `connection()` holding one connection
    // for several queries outside a transaction would not keep them together: nothing here uses one.)
    if (!this.inTransaction) this.releaseTurn();
    const r = await pending;
    return { rows: r.rows as R[], numAffectedRows: BigInt(r.affectedRows) };
  }
  // eslint-disable-next-line require-yield -- streaming is not offered by PGlite's query API
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on the embedded database; page with keyset queries instead');
  }
}
