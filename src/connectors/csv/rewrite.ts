/**
 * Changing a CSV file safely: under a lock file (one writer at a time, across processes),
 * stream the old file into a temporary file in the same folder, fsync it, check nobody
 * replaced the old file meanwhile, and rename over it. A reader sees the old file or the
 * new one, never half of either; a crash leaves the old file and a stray temporary file.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { ConnectorError } from '../errors.ts';
import { fileError, layoutOf, readRows } from './file.ts';
import type { Layout } from './file.ts';
import type { CsvSettings } from './settings.ts';

export interface RowEditor {
  /** Each data row in turn: the fields to write, or null to drop the row. */
  row(fields: string[], layout: Layout, line: number): string[] | null;
  /** Rows to add at the end. */
  end(layout: Layout): string[][];
  /** Whether to replace the file (false: nothing changed, the temporary file is discarded). */
  commit(): boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
}

/** Takes `${path}.lock`, waiting up to `timeoutMs`; a lock left by a dead process is taken over. */
async function lock(path: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await unlink(lockPath).catch(() => undefined);
      };
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw fileError(e, lockPath, 'locking');
    }
    const holder = Number(await readFile(lockPath, 'utf8').catch(() => ''));
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && !alive(holder)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new ConnectorError('retryable', 'unavailable', `${path} is being changed by another writer (lock ${lockPath} held by process ${holder || 'unknown'}); try again`);
    }
    await sleep(wait);
  }
}

/** Writes text in chunks of about 64 KiB, so a big file costs few system calls. */
class ChunkWriter {
  readonly #fh: FileHandle;
  #buf: string[] = [];
  #size = 0;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async write(text: string): Promise<void> {
    this.#buf.push(text);
    this.#size += text.length;
    if (this.#size >= 65536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buf.length === 0) return;
    const text = this.#buf.join('');
    this.#buf = [];
    this.#size = 0;
    await this.#fh.write(text);
  }
}

/** Rewrites the accounts file through `editor`; resolves with whether the file was replaced. */
export async function rewrite(settings: CsvSettings, editor: RowEditor): Promise<boolean> {
  const path = settings.path;
  const release = await lock(path, settings.lockTimeoutMs);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const before = await stat(path).catch((e: unknown) => {
      throw fileError(e, path, 'reading');
    });
    const fh = await open(temp, 'wx', before.mode & 0o777).catch((e: unknown) => {
      throw fileError(e, temp, 'creating');
    });
    try {
      const out = new ChunkWriter(fh);
      const line = (fields: string[]): string => stringify([fields], { delimiter: settings.delimiter });
      let layout: Layout | undefined;
      for await (const row of readRows(path, settings.delimiter)) {
        if (layout === undefined) {
          layout = layoutOf(row.fields, settings);
          await out.write(line(row.fields));
          continue;
        }
        if (row.fields.length !== layout.header.length) {
          throw new ConnectorError('permanent', 'target_error', `${path} line ${row.line}: ${row.fields.length} fields, but the header has ${layout.header.length}`);
        }
        const next = editor.row(row.fields, layout, row.line);
        if (next !== null) await out.write(line(next));
      }
      if (layout === undefined) throw new ConnectorError('permanent', 'target_error', `${path}: the file is empty; its first row must name the columns`);
      for (const extra of editor.end(layout)) await out.write(line(extra));
      await out.flush();
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (!editor.commit()) return false;
    const now = await stat(path);
    // Someone replaced or changed the file behind the lock (an export job, a person): keep theirs.
    if (now.ino !== before.ino || now.mtimeMs !== before.mtimeMs || now.size !== before.size) {
      throw new ConnectorError('retryable', 'conflict', `${path} changed while Steward was rewriting it; nothing was written, try again`);
    }
    await rename(temp, path).catch((e: unknown) => {
      throw fileError(e, path, 'replacing');
    });
    renamed = true;
    // The rename is durable only once the folder's entry is on disk.
    const dir = await open(dirname(path), 'r').catch(() => undefined);
    if (dir !== undefined) await dir.sync().catch(() => undefined).finally(() => dir.close());
    return true;
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
    await release();
  }
}
