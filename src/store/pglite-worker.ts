// The worker thread that owns the embedded PGlite database. PGlite runs WebAssembly on
// the thread that calls it and blocks that thread for a whole query; keeping it here
// leaves the main thread's event loop free to serve HTTP while a long import runs.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { keepWasmCode } from './wasm-flags.ts';

export interface WorkerRequest {
  id: number;
  op: 'query' | 'exec' | 'script' | 'dump' | 'close';
  sql?: string;
  params?: unknown[];
}

export interface WorkerResponse {
  id: number;
  rows?: Record<string, unknown>[];
  affectedRows?: number;
  dump?: ArrayBuffer;
  error?: { message: string; code?: string; detail?: string; constraint?: string; table?: string; column?: string };
  /** A notification on a channel the worker listens on (id 0: not an answer). */
  notify?: { channel: string; payload: string };
}

const port = parentPort;
if (!port) throw new Error('pglite-worker must run in a worker thread');

const { dataDir, loadDataDir, channels } = workerData as { dataDir: string | undefined; loadDataDir: string | undefined; channels: string[] };
// int8 as a JS number, as the PostgreSQL driver is set up too: counts and sequence values fit.
// `loadDataDir` starts from a dump of an already-initialised cluster (tests use one per run).
keepWasmCode();
const db = new PGlite(dataDir, {
  parsers: { 20: (v: string) => Number(v) },
  ...(loadDataDir ? { loadDataDir: new Blob([readFileSync(loadDataDir)]) } : {}),
});

// Notifications are posted as PGlite parses them, before the answer to the statement that
// committed them: the main thread sees a change announced before it sees the commit return.
const ready = db.waitReady.then(() => Promise.all(channels.map((channel) => db.listen(channel, (payload) => port.postMessage({ id: 0, notify: { channel, payload } } satisfies WorkerResponse)))));

port.on('message', (msg: WorkerRequest) => {
  void handle(msg).then((res) => port.postMessage(res));
});

async function handle(msg: WorkerRequest): Promise<WorkerResponse> {
  try {
    await ready;
    switch (msg.op) {
      case 'query': {
        const r = await db.query<Record<string, unknown>>(msg.sql ?? '', msg.params ?? []);
        return { id: msg.id, rows: r.rows, affectedRows: r.affectedRows ?? 0 };
      }
      case 'exec': {
        await db.exec(msg.sql ?? '');
        return { id: msg.id, rows: [], affectedRows: 0 };
      }
      case 'script': {
        // Several statements without parameters (the job queue's locked blocks): the rows of
        // every statement, in order. A failed script that opened a transaction is rolled back,
        // so the single session is not left in an aborted transaction.
        try {
          const results = await db.exec(msg.sql ?? '');
          return { id: msg.id, rows: results.flatMap((r) => r.rows as Record<string, unknown>[]), affectedRows: results.reduce((n, r) => n + (r.affectedRows ?? 0), 0) };
        } catch (e) {
          if (/^\s*begin\b/i.test(msg.sql ?? '')) await db.exec('rollback').catch(() => undefined);
          throw e;
        }
      }
      case 'dump': {
        const blob = await db.dumpDataDir('none');
        return { id: msg.id, dump: await blob.arrayBuffer() };
      }
      case 'close': {
        await db.close();
        return { id: msg.id };
      }
    }
  } catch (e) {
    const err = e as { message?: string; code?: string; detail?: string; constraint?: string; table?: string; column?: string };
    return {
      id: msg.id,
      error: { message: err.message ?? String(e), code: err.code, detail: err.detail, constraint: err.constraint, table: err.table, column: err.column },
    };
  }
}
