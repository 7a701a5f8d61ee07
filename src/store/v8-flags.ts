import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation at the size it starts with (1 MB a semi-space), so that no
 * scavenge stops the server's event loop for long. A scavenge copies what is still alive in
 * the young generation, so its pause grows with the generation's size: by default V8
 * doubles it as the process allocates, up to 64 MB a semi-space on Node.js 24, and during
 * a 100,000-row CSV import, which keeps a few batches alive at every moment, scavenges of
 * that size paused the main thread for 24–70 ms each on a quiet machine (more on a busy
 * one): the longest event-loop stalls (bench/import-stall.ts). At 1 MB each pause copies
 * at most about 1 MB; there are more of them, for about the same total GC time.
 *
 * `--max-semi-space-size` is read only when the process starts; `--semi-space-growth-factor`
 * is read each time V8 would grow the young generation, so setting it to 1 at run time
 * stops the growth from then on. Call it first thing, before the server's modules load
 * (bin/steward.js does for `steward serve`, and bench/import-stall.ts the same way): a
 * young generation that has already grown keeps the size it has. The flag is per process:
 * worker threads (the PGlite worker) keep their starting size too. Calling it again is
 * harmless.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
