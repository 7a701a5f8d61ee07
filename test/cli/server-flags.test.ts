// `steward serve` runs with SERVER_V8_FLAGS, in the process that was started (same pid), and
// with them V8's young generation stays at 16 MB a semi-space where by default it grows to 32.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingServerFlags } from '../../src/cli/server-flags.ts';
import { runSteward } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'steward-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('server V8 flags', () => {
  it.skipIf(typeof process.execve !== 'function')('steward serve runs again in the same process with them before it starts', async () => {
    // Loaded into every Node process of the command (NODE_OPTIONS outlives execve): says, as the
    // process ends, which pid it is and which flags it runs with.
    const probe = join(dir, 'probe.mjs');
    writeFileSync(probe, "process.on('exit', () => console.log('probe ' + JSON.stringify({ pid: process.pid, ppid: process.ppid, execArgv: process.execArgv })));\n");
    const r = await runSteward(['serve', '--help'], { NODE_OPTIONS: `--import=${probe}` });
    expect(r.code).toBe(0);
    const seen = r.stdout.split('\n').filter((l) => l.startsWith('probe ')).map((l) => JSON.parse(l.slice(6)) as { pid: number; ppid: number; execArgv: string[] });
    // One process ran to the end (the first one was replaced, not a parent waiting on a child)...
    expect(seen).toHaveLength(1);
    expect(seen[0]!.ppid).toBe(process.pid);
    // ...with the flags.
    expect(seen[0]!.execArgv).toEqual(expect.arrayContaining(['--max-semi-space-size=16', '--no-parallel-scavenge']));
    // Other commands keep V8's defaults.
    const other = await runSteward(['--help'], { NODE_OPTIONS: `--import=${probe}` });
    expect(other.stdout).toContain('"execArgv":[]');
  });

  it('leaves a flag given on the command line or in NODE_OPTIONS as it is', () => {
    expect(missingServerFlags([], '')).toEqual(['--max-semi-space-size=16', '--no-parallel-scavenge']);
    expect(missingServerFlags(['--max-semi-space-size=4'], '')).toEqual(['--no-parallel-scavenge']);
    expect(missingServerFlags([], '--max_semi_space_size=2 --parallel-scavenge')).toEqual([]);
  });

  /** The largest young generation (MB, both semi-spaces) of a fresh process with these flags that keeps allocating objects that live a while. */
  function largestYoungGeneration(flags: string[]): number {
    const script = `
      import { getHeapSpaceStatistics } from 'node:v8';
      const alive = [];
      let largest = 0;
      for (let i = 0; i < 3e6; i++) {
        alive.push({ i, s: 'row' + i });
        if (alive.length > 200000) alive.splice(0, 100000);
        if (i % 1000 === 0) largest = Math.max(largest, getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      }
      console.log(largest / 1048576);`;
    return Number(execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
  }

  it('keeps the young generation at 16 MB a semi-space, where by default it grows past it', () => {
    const grown = largestYoungGeneration([]);
    const kept = largestYoungGeneration(['--max-semi-space-size=16', '--no-parallel-scavenge']);
    // V8's figure counts both semi-spaces, plus pages it adds while it scavenges: 32 MB kept,
    // up to 38 seen in 24 runs on a busy machine (34 was once too tight); by default 64 to
    // 128 MB once grown.
    expect(kept).toBeLessThanOrEqual(44);
    expect(grown).toBeGreaterThan(48);
  });
});
