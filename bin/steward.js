#!/usr/bin/env node
// The `steward` command. Steward runs its TypeScript sources on Node.js 24, which strips
// types natively; under an older Node (the machine's own, say) re-run on the Node 24 binary
// that the npm package `node` installed beside us.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const node24 = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(node24)) {
    console.error(`steward needs Node.js 24 or later (this is ${process.version}); run 'npm ci' first.`);
    process.exit(1);
  }
  const r = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (process.argv[2] === 'serve') {
  // The server's V8 settings are read only at start-up: run again, in this same process, with
  // them (src/cli/server-flags.ts), before anything else is loaded.
  const { restartWithServerFlags } = await import('../src/cli/server-flags.ts');
  restartWithServerFlags(fileURLToPath(import.meta.url), process.argv.slice(2));
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
