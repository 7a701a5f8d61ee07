import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { sql } from 'kysely';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import { StewardError } from '../domain/errors.ts';
import { ENTERPRISE_USER_URN, type IdentityResource } from '../domain/identity.ts';
import { appendAudit, appendPreparedAudit, prepareAudit, sealAudit, type AuditInput, type PreparedAudit } from '../store/audit.ts';
import { CopyText, canCopyEncoded, copyEncoded, copyField, copyRows, withSession, type Session } from '../store/copy.ts';
import type { Db, DbKind, Executor } from '../store/db.ts';
import { identitiesByExternalIds, identitiesByUserNames, identityColumns, identityFields } from '../store/identities.ts';
import { isUniqueViolation } from '../store/errors.ts';
import type { IdentityRow } from '../store/tables.ts';
import { IMPORT_TARGETS, applyCell, defaultTarget, type ImportTarget } from './import-mapping.ts';

export interface ImportOptions {
  /** Which attribute identifies a row's identity, so a re-import updates instead of duplicating. */
  key: 'userName' | 'externalId';
  /** CSV header → attribute (or `ignore`); headers not named here map by their usual names. */
  mapping?: Record<string, ImportTarget | 'ignore'>;
  /** What the `manager` column holds: the manager's userName (default), externalId or employeeNumber. */
  managerKey?: 'userName' | 'externalId' | 'employeeNumber';
  delimiter?: string;
  /** Rows written per transaction. */
  batchSize?: number;
  onProgress?: (p: { rows: number; created: number; updated: number; unchanged: number; rejected: number }) => void;
}

export interface RowProblem {
  line: number;
  key?: string;
  field?: string;
  reason: string;
}

export interface ImportReport {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  rejectedCount: number;
  /** The first MAX_LISTED rejected rows, with their line numbers and reasons. */
  rejected: RowProblem[];
  warnings: RowProblem[];
  ignoredColumns: string[];
}

const MAX_LISTED = 10_000;
// Bounds the memory one record may take; a longer one ends the read (the parser cannot resync).
const MAX_RECORD_BYTES = 1024 * 1024;

interface Row {
  line: number;
  key: string;
  /** The record's fields, read with the header's targets (`columns`). */
  record: string[];
  manager?: string;
}

interface Planned {
  row: Row;
  existing: IdentityRow | undefined;
  resource: IdentityResource;
  /** The identity's id: the stored one, or one made here for a new row. */
  id?: string;
  managerId?: string | null;
  /** The resource's canonical JSON, and the stored one's (updates): made once, for the row, the audit event and its hash. */
  json?: string;
  beforeJson?: string;
}

/**
 * Imports people from a CSV stream: header row, one identity a row, keyed by userName or
 * externalId. Rows are written in batches, each batch one transaction; a batch that fails
 * is retried row by row, so one bad row never stops or half-writes the others.
 */
export async function importUsers(db: Db, actor: Actor, input: Readable | AsyncIterable<string | Buffer>, opts: ImportOptions): Promise<ImportReport> {
  // Writes go through sessions so that, on PostgreSQL, rows are COPYed inside each batch's transaction.
  // Two there: one batch writes its people while the one before it writes its audit events and commits.
  if (db.kind === 'postgres') return withSession(db, (a) => withSession(db, (b) => importWith(db, [a, b], actor, input, opts)));
  return withSession(db, (session) => importWith(db, [session], actor, input, opts));
}

interface Flight {
  keys: Set<string>;
  /** Folded manager keys of the batch's rows: a later row naming one waits for this batch to commit. */
  managerKeys: Set<string>;
  done: Promise<void>;
  /** Settles once the batch's people are written in its transaction (or the batch is done): the next batch may start writing. */
  written: Promise<void>;
}

async function importWith(db: Db, sessions: Session[], actor: Actor, input: Readable | AsyncIterable<string | Buffer>, opts: ImportOptions): Promise<ImportReport> {
  // Reading rows lets the event loop run every TURN_MS; making the parser and reading its first slice count too.
  const pace = pacer();
  const report: ImportReport = { rows: 0, created: 0, updated: 0, unchanged: 0, rejectedCount: 0, rejected: [], warnings: [], ignoredColumns: [] };
  const reject = (p: RowProblem) => {
    report.rejectedCount++;
    if (report.rejected.length < MAX_LISTED) report.rejected.push(p);
  };
  // Smaller batches on the embedded database keep each synchronous stretch of work short.
  const batchSize = opts.batchSize ?? (db.kind === 'pglite' ? 500 : 2000);
  // Unless the caller sets the size, the first batches are small and each is twice the one
  // before, up to batchSize: the import's code runs slowly until V8 has compiled it, and a
  // first batch of full size held the event loop for tens of ms (bench/import-stall.ts).
  let nextSize = opts.batchSize ?? Math.min(FIRST_BATCH, batchSize);
  const label = actorLabel(actor);

  const parser = parse({
    bom: true,
    delimiter: opts.delimiter ?? ',',
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_BYTES,
    info: true,
  });
  parser.on('skip', (err: Error & { lines?: number; code?: string }) => {
    reject({ line: err.lines ?? 0, reason: `unreadable CSV: ${err.message}` });
    if (err.code === 'CSV_MAX_RECORD_SIZE') {
      report.warnings.push({ line: err.lines ?? 0, reason: `reading stopped here: a record longer than ${MAX_RECORD_BYTES} bytes; rows after it were not read` });
    }
  });

  let columns: (ImportTarget | undefined)[] | undefined;
  let keyColumn = -1;
  let managerColumn = -1;
  let batch: Row[] = [];
  let keysInBatch = new Set<string>();
  const pendingManagers: { key: string; manager: string; line: number }[] = [];

  // Batches commit while the next is read and prepared: the database and the parser overlap. On
  // PostgreSQL two batches are in flight, each on its own session: batch N+1 writes its people
  // while batch N writes its audit events (under the chain's lock) and commits.
  const flights: Flight[] = [];
  let started = 0;
  let failure: Error | undefined;
  // The hash of the last audit event of the batch before, once that batch has linked its events
  // under the chain's lock (undefined: not known): the next batch links its own events to it
  // while that one writes them.
  let lastLink: Promise<string | undefined> | undefined;
  const settleOldest = async () => {
    await flights.shift()?.done;
    if (failure) throw failure;
  };
  const settle = async () => {
    while (flights.length > 0) await settleOldest();
    if (failure) throw failure;
  };
  const newId = timeOrderedIds();
  const foldManager = (v: string) => ((opts.managerKey ?? 'userName') === 'userName' ? v.toLowerCase() : v);
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    const keys = keysInBatch;
    nextSize = Math.min(batchSize, nextSize * 2);
    batch = [];
    keysInBatch = new Set();
    // A batch must see what the ones before it wrote when they share a person, or when a row's
    // manager is in one of them (its id is stored once that batch commits).
    const waitsFor = (f: Flight) => [...keys].some((k) => f.keys.has(k)) || rows.some((r) => r.manager !== undefined && f.managerKeys.has(foldManager(r.manager)));
    while (flights.some(waitsFor)) await settleOldest();
    const prepared = await prepareBatch(db, rows, columns!, opts, report, reject, pendingManagers, newId);
    await yieldToLoop();
    const encoded = encodeRows(db.kind, label, prepared.inserts, prepared.updates);
    while (flights.length >= sessions.length) await settleOldest();
    const session = sessions[started++ % sessions.length]!;
    // The batch before must have written its people (a row of this batch may clash with one of its).
    const previous = flights.at(-1)?.written;
    let markWritten!: () => void;
    const written = new Promise<void>((r) => (markWritten = r));
    let markLinked!: (hash: string | undefined) => void;
    const chain: Chain = { link: lastLink, linked: (h) => markLinked(h) };
    lastLink = new Promise<string | undefined>((r) => (markLinked = r));
    const done = (async () => {
      await previous;
      await commitBatch(session, db.kind, label, prepared, encoded, report, reject, markWritten, chain);
    })()
      .then(() => opts.onProgress?.({ rows: report.rows, created: report.created, updated: report.updated, unchanged: report.unchanged, rejected: report.rejectedCount }))
      .catch((e: unknown) => {
        failure ??= e instanceof Error ? e : new Error(String(e));
      })
      .finally(() => {
        markWritten();
        markLinked(undefined);
      });
    flights.push({ keys, managerKeys: prepared.managerKeys, done, written });
  };

  let source: AsyncIterable<unknown>;
  if (typeof (input as Readable).pipe === 'function') {
    const readable = input as Readable;
    // pipe() does not carry errors: an aborted upload must end the import, not hang it.
    readable.on('error', (e) => parser.destroy(e));
    source = readable.pipe(slicer()).pipe(parser);
  } else {
    source = feed(input, parser);
  }
  try {
    for await (const rec of source as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      await pace();
      const { record, info } = rec;
      if (!columns) {
        columns = headerColumns(record, opts, report);
        keyColumn = columns.indexOf(opts.key);
        managerColumn = columns.indexOf('manager');
        continue;
      }
      report.rows++;
      if (record.length !== columns.length) {
        reject({ line: info.lines, reason: `has ${record.length} fields but the header has ${columns.length}` });
        continue;
      }
      const key = (record[keyColumn] ?? '').trim();
      if (key === '') {
        reject({ line: info.lines, field: opts.key, reason: `${opts.key} is empty; it is the key of this import` });
        continue;
      }
      const folded = opts.key === 'userName' ? key.toLowerCase() : key;
      if (keysInBatch.has(folded)) await flush();
      keysInBatch.add(folded);
      const manager = managerColumn < 0 ? undefined : record[managerColumn]!.trim();
      batch.push({ line: info.lines, key, record, ...(manager ? { manager } : {}) });
      if (batch.length >= nextSize) await flush();
    }
    if (!columns) throw new StewardError('import.invalid_csv', 'the CSV is empty: it needs a header row naming its columns');
    await flush();
    await settle();
  } finally {
    // An import that stops early (a bad file, an aborted upload, a failed batch) lets the batches
    // in flight end before their sessions go back to the pool.
    await Promise.all(flights.map((f) => f.done));
  }
  await resolveManagers(sessions[0]!, label, pendingManagers, opts, report);
  report.rejected.sort((a, b) => a.line - b.line);
  report.warnings.sort((a, b) => a.line - b.line);
  return report;
}

/** Rows in the first batch when the caller sets no batch size; see `nextSize`. */
const FIRST_BATCH = 100;

/**
 * Bytes the CSV parser is handed at once. It parses all it is given before the event loop
 * runs again: a network read of 64 KB is some 600 rows, tens of ms of parsing the first
 * time the parser runs (its code not compiled yet), several ms after. Handed a slice at a
 * time, it parses one and waits for the import to read its rows.
 */
const PARSE_SLICE = 8 * 1024;

/** Cuts buffers longer than PARSE_SLICE; the parser reads bytes, so a cut inside a character is harmless. */
function* slices(chunk: string | Buffer): Iterable<string | Buffer> {
  if (typeof chunk === 'string' || chunk.length <= PARSE_SLICE) {
    yield chunk;
    return;
  }
  for (let i = 0; i < chunk.length; i += PARSE_SLICE) yield chunk.subarray(i, i + PARSE_SLICE);
}

function slicer(): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (const s of slices(chunk)) this.push(s);
      done();
    },
  });
}

async function* feed(input: AsyncIterable<string | Buffer>, parser: ReturnType<typeof parse>): AsyncIterable<unknown> {
  const pump = (async () => {
    for await (const chunk of input) {
      for (const s of slices(chunk)) if (!parser.write(s)) await new Promise((r) => parser.once('drain', r));
    }
    parser.end();
  })();
  yield* parser;
  await pump;
}

function headerColumns(header: string[], opts: ImportOptions, report: ImportReport): (ImportTarget | undefined)[] {
  const mapping = opts.mapping ?? {};
  const problems: string[] = [];
  for (const [col, target] of Object.entries(mapping)) {
    if (!header.includes(col)) problems.push(`mapping names column '${col}', which the header does not have`);
    if (target !== 'ignore' && !(IMPORT_TARGETS as readonly string[]).includes(target)) problems.push(`mapping of '${col}': '${String(target)}' is not an attribute (${IMPORT_TARGETS.join(', ')})`);
  }
  const seen = new Map<ImportTarget, string>();
  const cols = header.map((h) => {
    const m = Object.hasOwn(mapping, h) ? mapping[h] : undefined;
    const target = m === 'ignore' ? undefined : (m ?? defaultTarget(h));
    if (!target) {
      if (m !== 'ignore') report.ignoredColumns.push(h);
      return undefined;
    }
    const other = seen.get(target);
    if (other !== undefined) problems.push(`columns '${other}' and '${h}' both map to ${target}`);
    seen.set(target, h);
    return target;
  });
  if (!seen.has(opts.key)) problems.push(`no column maps to ${opts.key}, the key of this import (header: ${header.join(', ')})`);
  if (problems.length > 0) {
    throw new StewardError('import.invalid_csv', problems.join('; '), { problems: problems.map((message) => ({ code: 'import.invalid_csv', field: 'header', message, line: 1 })) });
  }
  return cols;
}

/** The resource a row makes: the existing one with the row's cells applied, or a new one. */
function plan(row: Row, columns: readonly (ImportTarget | undefined)[], existing: IdentityRow | undefined, key: ImportOptions['key']): Planned | RowProblem {
  const resource: IdentityResource = existing ? structuredClone(existing.data as IdentityResource) : { userName: '' };
  for (let i = 0; i < columns.length; i++) {
    const target = columns[i];
    if (target === undefined) continue;
    const raw = row.record[i]!;
    const why = applyCell(resource, target, raw);
    if (why) return { line: row.line, key: row.key, field: target, reason: `${target} ${why}` };
  }
  if (!resource.userName) return { line: row.line, key: row.key, field: 'userName', reason: 'userName is required' };
  if (key === 'externalId') resource.externalId = row.key;
  return { row, existing, resource };
}

interface PreparedBatch {
  inserts: Planned[];
  updates: Planned[];
  managerKeys: Set<string>;
}

/** Reads what the batch's people look like now and plans each row: insert, update, unchanged or rejected. */
async function prepareBatch(
  db: Db,
  rows: Row[],
  columns: readonly (ImportTarget | undefined)[],
  opts: ImportOptions,
  report: ImportReport,
  reject: (p: RowProblem) => void,
  pendingManagers: { key: string; manager: string; line: number }[],
  newId: () => string,
): Promise<PreparedBatch> {
  const key = opts.key;
  const existing = key === 'userName' ? await identitiesByUserNames(db.k, rows.map((r) => r.key)) : await identitiesByExternalIds(db.k, rows.map((r) => r.key));
  const byKey = new Map(existing.map((e) => [key === 'userName' ? e.user_name.toLowerCase() : (e.external_id ?? ''), e]));
  const planned: Planned[] = [];
  let pace = pacer();
  for (const row of rows) {
    const p = plan(row, columns, byKey.get(key === 'userName' ? row.key.toLowerCase() : row.key), key);
    if ('row' in p) planned.push(p);
    else reject(p);
    await pace();
  }
  await yieldToLoop();
  const managerKeys = await assignManagers(db, planned, opts, report, pendingManagers, newId);
  const inserts: Planned[] = [];
  const updates: Planned[] = [];
  pace = pacer();
  for (const p of planned) {
    await pace();
    p.json = canonicalJson(p.resource);
    if (!p.existing) {
      inserts.push(p);
      continue;
    }
    p.beforeJson = canonicalJson(p.existing.data);
    if (p.beforeJson !== p.json || p.existing.manager_id !== p.managerId) updates.push(p);
    else report.unchanged++;
  }
  return { inserts, updates, managerKeys };
}

/**
 * Writes a prepared batch in one transaction, or row by row when the batch breaks a constraint.
 * `written` is called once the batch's people are written, before its audit events.
 */
async function commitBatch(
  db: Session,
  kind: DbKind,
  actor: string,
  { inserts, updates }: PreparedBatch,
  encoded: Encoded,
  report: ImportReport,
  reject: (p: RowProblem) => void,
  written: () => void,
  chain: Chain,
): Promise<void> {
  try {
    await db.tx(async (trx) => {
      await writeRows(trx, kind, actor, inserts, updates, encoded, written, chain);
    });
    report.created += inserts.length;
    report.updated += updates.length;
  } catch {
    // Something in the batch broke a constraint: find which rows, one transaction each.
    for (const p of [...inserts, ...updates]) {
      try {
        const [ins, upd] = p.existing ? [[], [p]] : [[p], []];
        await db.tx((trx) => writeRows(trx, kind, actor, ins, upd, encodeRows(kind, actor, ins, upd)));
        if (p.existing) report.updated++;
        else report.created++;
      } catch (err) {
        reject({ line: p.row.line, key: p.row.key, reason: describeWriteError(err, p.resource) });
      }
    }
  }
}

const managerKeyOf = (r: IdentityResource, managerKey: ImportOptions['managerKey']): string | undefined =>
  managerKey === 'externalId' ? r.externalId : managerKey === 'employeeNumber' ? r[ENTERPRISE_USER_URN]?.employeeNumber : r.userName.toLowerCase();

/**
 * Points rows at their managers: someone in this batch (new rows get their ids here) or
 * already stored. A manager not found yet may come later in the file: that is settled
 * once every row is in.
 */
async function assignManagers(
  db: Db,
  planned: Planned[],
  opts: ImportOptions,
  report: ImportReport,
  pending: { key: string; manager: string; line: number }[],
  newId: () => string,
): Promise<Set<string>> {
  const mk = opts.managerKey ?? 'userName';
  const fold = (v: string) => (mk === 'userName' ? v.toLowerCase() : v);
  const inBatch = new Map<string, string>();
  for (const p of planned) {
    p.id = p.existing?.id ?? newId();
    p.managerId = p.existing?.manager_id ?? null;
    const k = managerKeyOf(p.resource, mk);
    if (k) inBatch.set(fold(k), p.id);
  }
  const wanted = [...new Set(planned.flatMap((p) => (p.row.manager && !inBatch.has(fold(p.row.manager)) ? [fold(p.row.manager)] : [])))];
  const stored = new Map<string, string>();
  if (wanted.length > 0) {
    const col = sql.raw(mk === 'externalId' ? 'external_id' : mk === 'employeeNumber' ? 'employee_number' : 'lower(user_name)');
    const found = await sql<{ k: string; id: string }>`select ${col} as k, id from identities where ${col} = any(${wanted})`.execute(db.k);
    for (const f of found.rows) if (!stored.has(f.k)) stored.set(f.k, f.id);
  }
  for (const p of planned) {
    const ref = p.row.manager;
    if (!ref) continue;
    const managerId = inBatch.get(fold(ref)) ?? stored.get(fold(ref));
    if (!managerId) {
      pending.push({ key: p.row.key, manager: ref, line: p.row.line });
    } else if (managerId === p.id) {
      report.warnings.push({ line: p.row.line, key: p.row.key, field: 'manager', reason: 'an identity cannot be its own manager; the manager was left unset' });
    } else {
      p.managerId = managerId;
      p.resource[ENTERPRISE_USER_URN] = { ...p.resource[ENTERPRISE_USER_URN], manager: { value: managerId } };
    }
  }
  return new Set(inBatch.keys());
}

function describeWriteError(err: unknown, r: IdentityResource): string {
  if (isUniqueViolation(err, 'identities_user_name_key')) return `userName '${r.userName}' belongs to another identity`;
  if (isUniqueViolation(err, 'identities_external_id_key')) return `externalId '${r.externalId ?? ''}' belongs to another identity`;
  return `could not be written: ${(err as Error).message}`;
}

const RECORD_COLUMNS = sql.raw(
  'user_name text, external_id text, active boolean, kind text, status text, display_name text, given_name text, family_name text, email text, department text, title text, employee_number text, data jsonb',
);

/**
 * New identities' ids: UUIDv7 (RFC 9562), a millisecond timestamp and a counter within it, then
 * random bits. Each batch's rows, its people's managers and its audit events then go to the end
 * of the indexes on ids rather than all over them, which costs the database less to write.
 */
function timeOrderedIds(): () => string {
  let last = 0;
  let counter = 0;
  return () => {
    const now = Date.now();
    if (now > last) {
      last = now;
      counter = 0;
    } else if (++counter > 0xfff) {
      // 4,096 ids in one millisecond: borrow the next one.
      last++;
      counter = 0;
    }
    const t = last.toString(16).padStart(12, '0');
    // randomUUID's last 17 characters: the variant and 62 random bits.
    return `${t.slice(0, 8)}-${t.slice(8)}-7${counter.toString(16).padStart(3, '0')}${randomUUID().slice(18)}`;
  };
}

/** Lets pending I/O (other requests) run between stretches of CPU work. */
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
/** Most ms of import work between two turns of the event loop: no request waits long behind a batch. */
const TURN_MS = 4;
/**
 * For a loop of work: `await pace()` at each step lets the event loop run once TURN_MS have
 * passed since it last did (or since the loop began). Counted in time, not rows: rows cost
 * many times more before V8 has compiled the import's code, and on a busy machine.
 */
function pacer(): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < TURN_MS) return undefined;
    return yieldToLoop().then(() => {
      since = performance.now();
    });
  };
}

const INSERT_COLUMNS = ['id', 'manager_id', 'user_name', 'external_id', 'active', 'kind', 'status', 'display_name', 'given_name', 'family_name', 'email', 'department', 'title', 'employee_number', 'data'];

interface Encoded {
  /** The new identities as COPY text (PostgreSQL). */
  identities?: CopyText;
  audit: PreparedAudit;
}

/** What writing the rows takes that needs no database: COPY text and the audit events' JSON, made before the transaction. */
function encodeRows(kind: DbKind, actor: string, inserts: Planned[], updates: Planned[]): Encoded {
  let identities: CopyText | undefined;
  if (kind === 'postgres' && inserts.length > 0) {
    identities = new CopyText();
    for (const p of inserts) {
      const c = identityFields(p.resource, p.managerId ?? null);
      const fields = [p.id, c.manager_id, c.user_name, c.external_id, c.active, c.kind, c.status, c.display_name, c.given_name, c.family_name, c.email, c.department, c.title, c.employee_number, p.json ?? JSON.stringify(p.resource)];
      let line = '';
      for (let i = 0; i < fields.length; i++) line += copyField(fields[i]) + (i === fields.length - 1 ? '\n' : '\t');
      identities.add(line);
    }
  }
  const audit = prepareAudit([
    ...inserts.map((p) => ({ actor, action: 'identity.create', objectType: 'identity', objectId: p.id!, after: p.resource, afterJson: p.json })),
    ...updates.map((p) => ({ actor, action: 'identity.update', objectType: 'identity', objectId: p.existing!.id, before: p.existing!.data, after: p.resource, beforeJson: p.beforeJson, afterJson: p.json })),
  ]);
  return { identities, audit };
}

/** Where a batch's audit events join the chain: the last hash of the batch before (once known), and whom to tell this batch's. */
interface Chain {
  link: Promise<string | undefined> | undefined;
  linked: (lastHash: string | undefined) => void;
}

async function writeRows(trx: Executor, kind: DbKind, actor: string, inserts: Planned[], updates: Planned[], encoded: Encoded, written?: () => void, chain?: Chain): Promise<void> {
  const copy = canCopyEncoded(trx);
  const events = encoded.audit.head.length;
  // Link this batch's events to the batch before's as soon as that one has linked its own
  // (it holds the chain's lock then), while this one writes its people. Only a link made by
  // the time the people are written is used: the lock is never waited for here.
  let sealed = false;
  void chain?.link?.then((prev) => {
    if (events === 0) chain.linked(prev);
    else if (prev !== undefined && !sealed) {
      sealed = true;
      sealAudit(encoded.audit, prev, { copy });
    }
  });
  if (inserts.length > 0) {
    if (kind === 'postgres' && encoded.identities !== undefined && canCopyEncoded(trx)) {
      // COPY straight into the table, in this transaction: no JSON for the server to parse.
      // The statement-level triggers see the rows as they would an INSERT's.
      await copyEncoded(trx, 'identities', INSERT_COLUMNS, encoded.identities);
    } else if (kind === 'postgres') {
      // Not a session's transaction: copyRows writes the rows with INSERTs.
      await copyRows(
        trx,
        'identities',
        INSERT_COLUMNS,
        inserts.map((p) => {
          const c = identityColumns(p.resource, p.managerId ?? null);
          return [p.id, c.manager_id, c.user_name, c.external_id, c.active, c.kind, c.status, c.display_name, c.given_name, c.family_name, c.email, c.department, c.title, c.employee_number, c.data];
        }),
      );
    } else {
      const recs = inserts.map((p) => {
        const cols = identityFields(p.resource, p.managerId ?? null);
        return { id: p.id, ...cols, data: p.resource };
      });
      // One JSON parameter for the whole batch: PGlite's fast path.
      await sql`
        insert into identities (id, manager_id, user_name, external_id, active, kind, status, display_name, given_name, family_name, email, department, title, employee_number, data)
        select id, manager_id, user_name, external_id, active, kind, status, display_name, given_name, family_name, email, department, title, employee_number, data
        from jsonb_to_recordset(${JSON.stringify(recs)}::jsonb) as x(id uuid, manager_id uuid, ${RECORD_COLUMNS})`.execute(trx);
    }
  }
  if (updates.length > 0) {
    const recs = updates.map((p) => {
      const cols = identityFields(p.resource, p.managerId ?? null);
      return { id: p.existing!.id, ...cols, data: p.resource };
    });
    await sql`
      update identities as i set manager_id = x.manager_id, user_name = x.user_name, external_id = x.external_id, active = x.active, kind = x.kind, status = x.status,
        display_name = x.display_name, given_name = x.given_name, family_name = x.family_name, email = x.email, department = x.department,
        title = x.title, employee_number = x.employee_number, data = x.data, version = i.version + 1, updated_at = now()
      from jsonb_to_recordset(${JSON.stringify(recs)}::jsonb) as x(id uuid, manager_id uuid, ${RECORD_COLUMNS})
      where i.id = x.id`.execute(trx);
  }
  written?.();
  await yieldToLoop();
  sealed = true;
  await appendPreparedAudit(trx, encoded.audit, { copy, linked: chain?.linked });
}

/** Points each imported identity at its manager, once every row is in (managers may come later in the file). */
async function resolveManagers(db: Session, actor: string, pending: { key: string; manager: string; line: number }[], opts: ImportOptions, report: ImportReport): Promise<void> {
  const managerColumn = sql.raw(opts.managerKey === 'externalId' ? 'm.external_id = x.manager' : opts.managerKey === 'employeeNumber' ? 'm.employee_number = x.manager' : 'lower(m.user_name) = lower(x.manager)');
  const selfColumn = sql.raw(opts.key === 'externalId' ? 'i.external_id = x.key' : 'lower(i.user_name) = lower(x.key)');
  for (let i = 0; i < pending.length; i += 5000) {
    const chunk = pending.slice(i, i + 5000);
    await db.tx(async (trx) => {
      const found = await sql<{ line: number; id: string | null; manager_id: string | null; old_manager: string | null; data: IdentityResource | null }>`
        select x.line, i.id, m.id as manager_id, i.manager_id as old_manager, i.data
        from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) as x(key text, manager text, line int)
        left join identities i on ${selfColumn}
        left join lateral (select m.id from identities m where ${managerColumn} order by m.id limit 1) m on true`.execute(trx);
      const changes: { id: string; manager_id: string; data: IdentityResource }[] = [];
      const events: AuditInput[] = [];
      for (const f of found.rows) {
        const ref = chunk.find((c) => c.line === f.line);
        if (!f.id || !f.data) continue; // the row itself was rejected
        if (!f.manager_id) {
          report.warnings.push({ line: f.line, key: ref?.key, field: 'manager', reason: `manager '${ref?.manager ?? ''}' was not found; the manager was left unset` });
          continue;
        }
        if (f.manager_id === f.id) {
          report.warnings.push({ line: f.line, key: ref?.key, field: 'manager', reason: 'an identity cannot be its own manager; the manager was left unset' });
          continue;
        }
        if (f.old_manager === f.manager_id) continue;
        const data: IdentityResource = { ...f.data, [ENTERPRISE_USER_URN]: { ...f.data[ENTERPRISE_USER_URN], manager: { value: f.manager_id } } };
        changes.push({ id: f.id, manager_id: f.manager_id, data });
        events.push({ actor, action: 'identity.update', objectType: 'identity', objectId: f.id, before: f.data, after: data });
      }
      if (changes.length === 0) return;
      await sql`
        update identities as i set manager_id = x.manager_id, data = x.data, version = i.version + 1, updated_at = now()
        from jsonb_to_recordset(${JSON.stringify(changes)}::jsonb) as x(id uuid, manager_id uuid, data jsonb)
        where i.id = x.id`.execute(trx);
      await appendAudit(trx, events);
    });
  }
}
