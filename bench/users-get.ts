// GET /v2.0/Users/{id} with 50 concurrent connections (autocannon), in requests per
// second, as a ratio to a bare Fastify hello-world route measured in the same run.
// Goal (issue 2): at least 0.4. Each server runs in its own process; autocannon in this one.
// Run: npx node bench/users-get.ts [seconds]   (PostgreSQL from STEWARD_BENCH_DATABASE_URL, default the local server)
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';

const seconds = Number(process.argv[2] ?? 10);
const pgUrl = process.env.STEWARD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function start(script: string, args: string[] = []): Promise<{ child: ChildProcess; info: { url: string; token?: string; id?: string } }> {
  const child = spawn(process.execPath, [new URL(script, import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`${script} exited with ${c}`)));
  });
  return { child, info: JSON.parse(line) as { url: string; token?: string; id?: string } };
}

async function rps(url: string, headers: Record<string, string> = {}): Promise<{ rps: number; p99: number; errors: number }> {
  const r = await autocannon({ url, connections: 50, duration: seconds, headers });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

const stop = (c: ChildProcess) => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); });

const hello = await start('./servers/hello.ts');
await rps(`${hello.info.url}/hello`); // warm-up
const base = await rps(`${hello.info.url}/hello`);
console.log(`hello-world: ${Math.round(base.rps)} req/s (p99 ${base.p99} ms)`);
await stop(hello.child);

const targets: { label: string; url?: string; drop?: () => Promise<void> }[] = [{ label: 'pglite' }];
const admin = new pg.Client({ connectionString: pgUrl });
try {
  await admin.connect();
  const name = `steward_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`create database ${name}`);
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  targets.push({ label: 'postgres', url: u.toString(), drop: async () => void (await admin.query(`drop database ${name} with (force)`)) });
} catch (e) {
  console.log(`postgres: skipped, no server at ${pgUrl}: ${(e as Error).message}`);
}
for (const t of targets) {
  const s = await start('./servers/steward.ts', [t.url ?? '', '1000']);
  const url = `${s.info.url}/v2.0/Users/${s.info.id}`;
  const headers = { authorization: `Bearer ${s.info.token}` };
  await rps(url, headers); // warm-up
  const r = await rps(url, headers);
  if (r.errors > 0) console.log(`${t.label}: ${r.errors} errors or non-2xx answers`);
  console.log(`figure: users-get.${t.label}.requests_per_second = ${Math.round(r.rps)} req/s (p99 ${r.p99} ms)`);
  console.log(`figure: users-get.${t.label}.ratio_to_hello_world = ${(r.rps / base.rps).toFixed(2)}`);
  await stop(s.child);
  await t.drop?.();
}
await admin.end().catch(() => undefined);
