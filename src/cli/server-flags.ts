/**
 * V8 settings for the server process (`steward serve`), which V8 reads only when the process
 * starts: they cannot be set from inside it with `v8.setFlagsFromString`.
 *
 * - `--max-semi-space-size=16`: the young generation stops growing at 16 MB a semi-space
 *   (V8's default on Node.js 24 is 32 MB). A scavenge
 *   pauses the event loop while it copies what is still alive in the young generation;
 *   grown to its default size during a 100,000-row CSV import, which keeps a few batches
 *   alive at every moment, it held several MB each time and scavenges paused the loop
 *   30–100 ms. Smaller, each scavenge has less to copy, but more objects live long enough
 *   to be promoted, and the old generation's mark-compacts grow: at 8 MB their pauses took
 *   25–45 ms of main-thread CPU, at 16 MB the worst stalls were about 15–30 ms.
 *   (1 MB, with `--semi-space-growth-factor=1`, was tried before: twice the total GC time.)
 * - `--no-parallel-scavenge`: the main thread scavenges alone instead of sharing the work
 *   with V8's helper threads and then waiting for all of them. On a machine whose CPUs are
 *   busy (the embedded database's own worker thread is one of the things keeping them
 *   busy) a helper that is not running held the main thread for tens of ms more than the
 *   work itself took; with a 16 MB young generation the work is small enough to do alone.
 *
 * bench/import-stall.ts measures their effect and starts the same way as `steward serve`.
 */
export const SERVER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--no-parallel-scavenge'];

const flagName = (flag: string): string => flag.replace(/^--(no-)?/, '').split('=')[0]!.replaceAll('_', '-');

/** The flags of SERVER_V8_FLAGS that neither the command line nor NODE_OPTIONS already sets (a setting given there wins). */
export function missingServerFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName));
  return SERVER_V8_FLAGS.filter((f) => !given.has(flagName(f)));
}

/**
 * Runs `script args` again in this same process (same pid, same stdio: `process.execve`)
 * with SERVER_V8_FLAGS, unless they are all set already; returns only when they are, or
 * where the platform has no execve (Windows), in which case the server runs with V8's
 * defaults (NODE_OPTIONS can give the flags there).
 */
export function restartWithServerFlags(script: string, args: readonly string[]): void {
  const missing = missingServerFlags();
  if (missing.length === 0 || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, script, ...args]);
}
