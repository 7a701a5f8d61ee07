import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { SYSTEM_ACTOR, type Actor } from '../domain/actor.ts';
import type { ApiClient } from '../services/clients.ts';
import { importUsers, type ImportOptions, type ImportReport } from '../services/import-users.ts';
import { verifyAudit, type AuditVerdict } from '../store/audit.ts';
import { readLock } from '../store/lock.ts';
import type { Config } from './config.ts';
import { openRuntime, type Runtime } from './runtime.ts';
import { CONTROL_TOKEN_FILE } from './serve.ts';

/** What CLI commands do, whether on the database directly or through a running server. */
export interface Backend {
  readonly where: string;
  createClient(name: string, privileges: string[]): Promise<{ client: ApiClient; token: string }>;
  listClients(): AsyncIterable<ApiClient>;
  revokeClient(id: string): Promise<ApiClient>;
  importUsers(file: string, opts: Omit<ImportOptions, 'onProgress'>, progress: (fraction: number, rows: number) => void): Promise<ImportReport>;
  verifyAudit(): Promise<AuditVerdict>;
  migrate(): Promise<string[] | 'server'>;
  close(): Promise<void>;
}

const CLI_ACTOR: Actor = { ...SYSTEM_ACTOR, kind: 'cli', name: process.env.USER ?? 'local' };

/**
 * Opens the backend for a command: the running embedded server when one holds the data
 * directory (PGlite allows one process), else the database itself.
 */
export async function openBackend(config: Config, command: string): Promise<Backend> {
  if (!config.databaseUrl) {
    const holder = readLock(config.dataDir);
    if (holder?.serverUrl) {
      const token = readFileSync(join(config.dataDir, CONTROL_TOKEN_FILE), 'utf8').trim();
      return remoteBackend(holder.serverUrl, token, holder.pid);
    }
  }
  return localBackend(await openRuntime(config, command), config);
}

function localBackend(rt: Runtime, config: Config): Backend {
  const { services } = rt;
  return {
    where: config.databaseUrl ? 'PostgreSQL' : config.dataDir,
    createClient: (name, privileges) => services.clients.create(CLI_ACTOR, { name, privileges }),
    async *listClients() {
      let after: string | undefined;
      for (;;) {
        const page = await services.clients.list({ afterName: after, limit: 500 });
        yield* page;
        if (page.length < 500) return;
        after = page[page.length - 1]!.name;
      }
    },
    revokeClient: (id) => services.clients.revoke(CLI_ACTOR, id),
    async importUsers(file, opts, progress) {
      const size = statSync(file).size;
      let read = 0;
      const stream = createReadStream(file).on('data', (c) => (read += c.length));
      return importUsers(services.db, CLI_ACTOR, stream, { ...opts, onProgress: (p) => progress(size ? read / size : 1, p.rows) });
    },
    verifyAudit: () => verifyAudit(services.db.k),
    migrate: async () => [], // openRuntime applied them already
    close: () => rt.close(),
  };
}

class RemoteError extends Error {}

function remoteBackend(base: string, token: string, pid: number): Backend {
  const call = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined && !(body instanceof Readable) ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body === undefined ? {} : body instanceof Readable ? { body: Readable.toWeb(body) as ReadableStream, duplex: 'half' } : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new RemoteError(`could not reach the running server (pid ${pid}) at ${base}: ${(e as Error).message}`);
    }
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const err = (json as { error?: { message?: string } } | undefined)?.error;
      throw new RemoteError(err?.message ?? `${method} ${path} answered ${res.status}`);
    }
    return json as T;
  };
  return {
    where: `the running server at ${base} (pid ${pid})`,
    createClient: (name, privileges) => call('POST', '/v1.0/clients', { name, privileges }),
    async *listClients() {
      let cursor: string | null = null;
      do {
        const page: { items: ApiClient[]; nextCursor: string | null } = await call('GET', `/v1.0/clients?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
        yield* page.items;
        cursor = page.nextCursor;
      } while (cursor);
    },
    revokeClient: (id) => call('DELETE', `/v1.0/clients/${encodeURIComponent(id)}`),
    async importUsers(file, opts, progress) {
      const size = statSync(file).size;
      let sent = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _e, done) {
          sent += chunk.length;
          progress(size ? sent / size : 1, 0);
          done(null, chunk);
        },
      });
      const q = new URLSearchParams({ key: opts.key });
      if (opts.mapping) q.set('mapping', JSON.stringify(opts.mapping));
      if (opts.managerKey) q.set('managerKey', opts.managerKey);
      if (opts.delimiter) q.set('delimiter', opts.delimiter);
      return call('POST', `/v2.0/CSV/importUsers?${q.toString()}`, createReadStream(file).pipe(counter), { 'content-type': 'text/csv' });
    },
    verifyAudit: () => call('GET', '/v1.0/audit/verify'),
    migrate: async () => 'server',
    close: async () => {},
  };
}
