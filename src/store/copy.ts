/**
 * Bulk writes: `copyRows` streams rows into a table with PostgreSQL's COPY FROM STDIN (text
 * format) where it can, and falls back to batched INSERT statements on PGlite. COPY needs
 * the raw connection, so inside a transaction it works through a *session*: a dedicated
 * connection from the pool (`withSession`), whose transactions `copyRows` recognises and
 * joins, so the rows commit or roll back with everything else the transaction writes.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db, Executor } from './db.ts';
import type { Database } from './tables.ts';

/**
 * A value of one column. Strings, numbers, bigints and booleans are written as PostgreSQL reads
 * them; Dates as ISO text; bytes as bytea; plain objects and arrays as JSON (for json and jsonb
 * columns; a PostgreSQL array column takes its array literal as a string); null and undefined as NULL.
 */
export type CopyValue = string | number | bigint | boolean | Date | Uint8Array | null | undefined | readonly unknown[] | { readonly [key: string]: unknown };

/** One connection, held for a while: queries and transactions on it run one after another. */
export interface Session {
  /** Queries on the session's connection (on PGlite, the database's one session). */
  readonly k: Kysely<Database>;
  /** One transaction on the session's connection; `copyRows` given its executor streams COPY inside it. */
  tx<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
}

/** The raw connection behind each executor of a session, for COPY. */
const connections = new WeakMap<object, pg.PoolClient>();

/**
 * Runs `fn` with a dedicated connection from the database's pool (PostgreSQL), released when
 * `fn` ends; on PGlite, which has one session, with the database itself.
 */
export async function withSession<T>(db: Db, fn: (session: Session) => Promise<T>): Promise<T> {
  if (db.connect === undefined) return fn({ k: db.k, tx: (f) => db.tx(f) });
  const client = await db.connect();
  // Kysely asks its pool for a connection per query or transaction: this one always hands out
  // the session's, and leaves releasing it to the session.
  const held = { query: client.query.bind(client), release: () => undefined };
  const k = new Kysely<Database>({ dialect: new PostgresDialect({ pool: { connect: async () => held, end: async () => undefined } }) });
  connections.set(k, client);
  let failed: Error | undefined;
  try {
    return await fn({
      k,
      tx: (f) =>
        k.transaction().execute(async (trx) => {
          connections.set(trx, client);
          return f(trx);
        }),
    });
  } catch (e) {
    // A connection left mid-COPY or mid-transaction by an error is not handed to the next user.
    failed = e instanceof Error ? e : new Error(String(e));
    throw e;
  } finally {
    await k.destroy();
    client.release(failed);
  }
}

const NEEDS_ESCAPE = /[\\\n\r\t\0]/;

/** A string as one field of COPY's text format: backslash, newline, carriage return and tab escaped. */
function escapeText(s: string, where: () => string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  if (s.includes('\0')) throw new Error(`${where()} holds a NUL character, which PostgreSQL text cannot store`);
  return s.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

/** One value as a field of COPY's text format (`\N` for NULL). */
export function copyField(value: CopyValue, where: () => string = () => 'a value'): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return escapeText(value, where);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error(`${where()} is an invalid Date`);
    return value.toISOString();
  }
  // bytea's hex form, its backslash escaped for the text format.
  if (isBytes(value)) return `\\\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  return escapeText(JSON.stringify(value), where);
}

/** A table or column name, quoted; a table may be schema-qualified (`schema.table`). */
function identifier(name: string, what: string): string {
  if (name.length === 0) throw new Error(`copyRows: the ${what} name is empty`);
  return name
    .split('.')
    .map((part) => {
      if (part.length === 0 || part.includes('\0')) throw new Error(`copyRows: the ${what} name '${name}' is not valid`);
      return `"${part.replace(/"/g, '""')}"`;
    })
    .join('.');
}

async function* rowsOf(rows: Iterable<readonly CopyValue[]> | AsyncIterable<readonly CopyValue[]>): AsyncGenerator<readonly CopyValue[]> {
  yield* rows;
}

/** The rows as COPY text, in chunks of about 64 KiB. */
async function* copyText(table: string, columns: readonly string[], rows: AsyncIterable<readonly CopyValue[]>): AsyncGenerator<string> {
  let buf = '';
  let n = 0;
  for await (const row of rows) {
    n++;
    if (row.length !== columns.length) throw new Error(`copyRows into ${table}: row ${n} has ${row.length} values for ${columns.length} columns`);
    for (let i = 0; i < row.length; i++) {
      buf += copyField(row[i], () => `copyRows into ${table}: row ${n}, column ${columns[i]!}`);
      buf += i === row.length - 1 ? '\n' : '\t';
    }
    if (buf.length >= 1 << 16) {
      yield buf;
      buf = '';
    }
  }
  if (buf.length > 0) yield buf;
}

/** A value as an INSERT parameter: what COPY would write, as the driver passes it. */
function insertParam(value: CopyValue): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || value instanceof Date || isBytes(value)) return typeof value === 'bigint' ? String(value) : value;
  return JSON.stringify(value);
}

async function insertRows(db: Executor, table: string, columns: readonly string[], rows: AsyncIterable<readonly CopyValue[]>): Promise<number> {
  const into = sql.raw(`${identifier(table, 'table')} (${columns.map((c) => identifier(c, 'column')).join(', ')})`);
  // PostgreSQL takes at most 65,535 parameters in one statement.
  const perStatement = Math.max(1, Math.floor(30_000 / columns.length));
  let batch: (readonly CopyValue[])[] = [];
  let written = 0;
  let n = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const values = batch.map((row) => sql`(${sql.join(row.map((v) => sql`${insertParam(v)}`))})`);
    await sql`insert into ${into} values ${sql.join(values)}`.execute(db);
    written += batch.length;
    batch = [];
  };
  for await (const row of rows) {
    n++;
    if (row.length !== columns.length) throw new Error(`copyRows into ${table}: row ${n} has ${row.length} values for ${columns.length} columns`);
    row.forEach((v, i) => {
      if (typeof v === 'string' && v.includes('\0')) throw new Error(`copyRows into ${table}: row ${n}, column ${columns[i]!} holds a NUL character, which PostgreSQL text cannot store`);
    });
    batch.push(row);
    if (batch.length >= perStatement) await flush();
  }
  await flush();
  return written;
}

async function copyInto(client: pg.PoolClient, table: string, columns: readonly string[], rows: AsyncIterable<readonly CopyValue[]>): Promise<number> {
  const stream = client.query(copyFrom(`copy ${identifier(table, 'table')} (${columns.map((c) => identifier(c, 'column')).join(', ')}) from stdin`));
  await pipeline(Readable.from(copyText(table, columns, rows)), stream);
  return stream.rowCount;
}

/**
 * Rows in COPY's text format, built ahead of a transaction: add each row's text (fields as
 * `copyField` writes them, tab-separated, ending in a newline). Kept as bytes: every 16 Ki
 * characters (one long string of many pieces is slow to turn into bytes) are written into
 * chunks of about 256 KiB, so that COPY sends a few large messages rather than many small ones.
 */
export class CopyText {
  readonly chunks: Buffer[] = [];
  private pending = '';
  private buf: Buffer | undefined;
  private used = 0;
  rows = 0;

  add(row: string): void {
    this.pending += row;
    this.rows++;
    if (this.pending.length >= 1 << 14) this.write();
  }

  private write(): void {
    // A character takes at most 3 bytes in UTF-8 (a surrogate pair, 4 for 2).
    const most = this.pending.length * 3;
    if (this.buf === undefined || this.buf.length - this.used < most) {
      if (this.buf !== undefined && this.used > 0) this.chunks.push(this.buf.subarray(0, this.used));
      this.buf = Buffer.allocUnsafe(Math.max(1 << 18, most));
      this.used = 0;
    }
    this.used += this.buf.write(this.pending, this.used);
    this.pending = '';
  }

  /** The chunks, the last one included. */
  end(): Buffer[] {
    if (this.pending.length > 0) this.write();
    if (this.buf !== undefined && this.used > 0) this.chunks.push(this.buf.subarray(0, this.used));
    this.buf = undefined;
    this.used = 0;
    return this.chunks;
  }
}

/**
 * Streams rows encoded with `CopyText` into `table`, on the connection of a session's executor,
 * inside its transaction: for bulk writers that encode rows ahead of their transaction. Throws
 * for any other executor, which has no COPY (see `canCopyEncoded`).
 */
export async function copyEncoded(into: Executor, table: string, columns: readonly string[], text: CopyText): Promise<number> {
  const client = connections.get(into);
  if (client === undefined) throw new Error(`copyEncoded into ${table}: not an executor of a PostgreSQL session`);
  const chunks = text.end();
  if (chunks.length === 0) return 0;
  const stream = client.query(copyFrom(`copy ${identifier(table, 'table')} (${columns.map((c) => identifier(c, 'column')).join(', ')}) from stdin`));
  await pipeline(Readable.from(chunks), stream);
  return stream.rowCount;
}

/** Whether `into` can take `copyEncoded` (an executor of a PostgreSQL session). */
export const canCopyEncoded = (into: Executor): boolean => connections.has(into);

const isDb = (x: Db | Executor): x is Db => 'kind' in x && 'lock' in x;

/**
 * Writes `rows` (each one value per column, in `columns`' order) into `table`; resolves with
 * how many were written. On PostgreSQL, given a `Db` it streams COPY on a connection of its
 * own (one statement: all rows or none), and given an executor of a session (`withSession`)
 * it streams COPY on the session's connection, inside the executor's transaction. Any other
 * executor (PGlite, or a transaction on the shared pool) gets batched INSERTs in its
 * transaction. COPY has no ON CONFLICT: a row that breaks a constraint fails the whole call.
 */
export async function copyRows(into: Db | Executor, table: string, columns: readonly string[], rows: Iterable<readonly CopyValue[]> | AsyncIterable<readonly CopyValue[]>): Promise<number> {
  if (columns.length === 0) throw new Error(`copyRows into ${table}: no columns named`);
  if (isDb(into)) {
    if (into.connect === undefined) return insertRows(into.k, table, columns, rowsOf(rows));
    return withSession(into, (s) => copyRows(s.k, table, columns, rows));
  }
  const client = connections.get(into);
  if (client === undefined) return insertRows(into, table, columns, rowsOf(rows));
  return copyInto(client, table, columns, rowsOf(rows));
}
