// Runs every benchmark in this folder, one after another, each in its own process, and
// prints their `figure:` lines. Run: npm run bench  (or npx node bench/run.ts NAME… for some)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const b of benches) {
  console.log(`== ${b}`);
  const r = spawnSync(process.execPath, [dir + b], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`!! ${b} failed with status ${r.status}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
