// keepYoungGenerationSmall: V8's young generation stays at the size it has when it is called
// however much the process allocates, where by default it grows (short scavenge pauses).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const flags = fileURLToPath(new URL('../../src/store/v8-flags.ts', import.meta.url));

/** The largest young generation (MB, both semi-spaces) of a fresh process that keeps allocating objects that live a while. */
function largestYoungGeneration(keepSmall: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { keepYoungGenerationSmall } from ${JSON.stringify(flags)};
    if (${keepSmall}) keepYoungGenerationSmall();
    const alive = [];
    let largest = 0;
    for (let i = 0; i < 3e6; i++) {
      alive.push({ i, s: 'row' + i });
      if (alive.length > 20000) alive.splice(0, 10000);
      if (i % 1000 === 0) largest = Math.max(largest, getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
    }
    console.log(largest / 1048576);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
}

describe('keepYoungGenerationSmall', () => {
  it('keeps the young generation small while the default lets it grow to 64 MB', () => {
    const grown = largestYoungGeneration(false);
    const kept = largestYoungGeneration(true);
    // V8's figure counts both semi-spaces and pages it holds for a while: a few MB kept, 64 MB grown.
    expect(grown).toBeGreaterThan(32);
    expect(kept).toBeLessThan(16);
  });
});
