// The embedded server and the CLI as separate processes on one data directory.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.ts';
import { runSteward, startServer, type Server } from '../support/cli.ts';

describe('steward serve and the CLI on one embedded data directory', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-cli-'));
  const bootstrap = 'bootstrap-token-for-the-cli-test-0123456789';
  let server: Server;
  beforeAll(async () => {
    server = await startServer(['--data', dir], { STEWARD_BOOTSTRAP_TOKEN: bootstrap }, 170_000);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const api = (token: string, path: string, init: RequestInit = {}) =>
    fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });

  it('creates the bootstrap admin from STEWARD_BOOTSTRAP_TOKEN on an empty database', async () => {
    expect((await api(bootstrap, '/v1.0/clients')).status).toBe(200);
    expect((await fetch(server.url + '/health')).status).toBe(200);
  });

  it('runs CLI commands through the running server, printing a new token alone on the last line', async () => {
    const r = await runSteward(['client', 'create', '--name', 'feed', '--privilege', 'manage-users-and-groups', '--data', dir]);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^stw_\w{12}_[\w-]{43}$/);
    const res = await api(token, '/v2.0/CSV/importUsers', { method: 'POST', body: 'userName\nalice\nbob\n', headers: { 'content-type': 'text/csv' } });
    expect(await res.json()).toMatchObject({ created: 2 });
    const list = await runSteward(['client', 'list', '--data', dir]);
    expect(list.stdout).toContain('feed');
    const verify = await runSteward(['audit', 'verify', '--data', dir]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('intact');
  });

  it('refuses a second server on the same directory, naming the process that holds it', async () => {
    const r = await runSteward(['serve', '--port', '0', '--data', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`in use by process ${server.child.pid}`);
  });

  it('loses no committed row: what the server wrote is all there after it stops', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `user${i}`).join('\n');
    const token = bootstrap;
    const res = await api(token, '/v2.0/CSV/importUsers', { method: 'POST', body: `userName\n${rows}\n`, headers: { 'content-type': 'text/csv' } });
    expect(await res.json()).toMatchObject({ created: 500 });
    // A second process cannot open the directory while the server holds it…
    await expect(openDb({ dataDir: dir, command: 'test' })).rejects.toThrow(/in use by process/);
    expect(await server.stop()).toBe(0);
    expect(existsSync(join(dir, 'steward.lock'))).toBe(false);
    // …and once the server has stopped, every committed row is there.
    const db = await openDb({ dataDir: dir, command: 'test' });
    try {
      const n = await db.k.selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(502);
    } finally {
      await db.close();
    }
  });
});
