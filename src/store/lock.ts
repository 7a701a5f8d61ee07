import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StewardError } from '../domain/errors.ts';

/** What the lock file says about the process that holds a data directory. */
export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
  /** Where a running `steward serve` listens, so the CLI can go through it. */
  serverUrl?: string;
}

export const LOCK_FILE = 'steward.lock';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Reads the lock of a data directory, or undefined when nobody holds it (or its holder died). */
export function readLock(dataDir: string): LockInfo | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    if (info.hostname === hostname() && !alive(info.pid)) return undefined;
    return info;
  } catch {
    return undefined;
  }
}

/** An exclusive hold on a data directory; `update` rewrites what it says, `release` frees it. */
export interface DirectoryLock {
  readonly info: LockInfo;
  update(patch: Partial<LockInfo>): void;
  release(): void;
}

/**
 * Takes the exclusive lock of an embedded data directory. PGlite has no lock of its own,
 * and two processes on one directory silently lose committed rows, so a second opener is
 * refused with the holder's pid and command. A lock left by a dead process is taken over.
 */
export function lockDirectory(dataDir: string, command: string): DirectoryLock {
  const path = join(dataDir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let held = true;
      return {
        info,
        update(patch) {
          Object.assign(info, patch);
          const fd2 = openSync(path, 'w', 0o600);
          writeSync(fd2, JSON.stringify(info));
          closeSync(fd2);
        },
        release() {
          if (!held) return;
          held = false;
          try {
            unlinkSync(path);
          } catch {
            // already gone: nothing to free
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readLock(dataDir);
      if (holder) {
        throw new StewardError(
          'store.locked',
          `the data directory ${dataDir} is in use by process ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.startedAt}); ` +
            `stop it, or use the running server${holder.serverUrl ? ` at ${holder.serverUrl}` : ''}`,
        );
      }
      // The holder is dead: remove its stale lock and try again.
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it first
      }
    }
  }
  throw new StewardError('store.locked', `could not take the lock on ${dataDir}; another process keeps taking it`);
}
