// GET /v2.0/Users/{id} with 50 concurrent connections (autocannon), in requests per
// second, as a ratio to a bare Fastify hello-world route measured in the same run.
// Goal (issue 2): at least 0.4. Each server runs in its own process; autocannon in this one.
// Also: the same route over 1,000 different Users (no two concurrent reads of one User).
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

async function rps(url: string, headers: Record<string, string> = {}, paths?: string[]): Promise<{ rps: number; p99: number; errors: number }> {
  let i = 0;
  const requests = paths ? [{ method: 'GET' as const, setupRequest: (req: { path?: string }) => ({ ...req, path: paths[i++ % paths.length] }) }] : undefined;
  const r = await autocannon({ url, connections: 50, duration: seconds, headers, ...(requests ? { requests } : {}) });
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
  // The same route over 1,000 different Users in turn: concurrent reads of one User share a
  // query, so this shows what batching does without that.
  const list = (await (await fetch(`${s.info.url}/v2.0/Users?count=1000&attributes=id`, { headers })).json()) as { Resources: { id: string }[] };
  const d = await rps(s.info.url, headers, list.Resources.map((u) => `/v2.0/Users/${u.id}`));
  if (d.errors > 0) console.log(`${t.label}: ${d.errors} errors or non-2xx answers (distinct Users)`);
  console.log(`figure: users-get.${t.label}.distinct_users_ratio_to_hello_world = ${(d.rps / base.rps).toFixed(2)} (${Math.round(d.rps)} req/s, p99 ${d.p99} ms)`);
  await stop(s.child);
  await t.drop?.();
}
await admin.end().catch(() => undefined);
