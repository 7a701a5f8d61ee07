// `steward app test ID` as a user runs it: through the running embedded server, then on the
// data directory directly once the server has stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSteward, startServer, type Server } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';

describe('steward app test', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-app-cli-'));
  const bootstrap = 'bootstrap-token-for-the-app-cli-test-0123456789';
  const secret = 'scim-token-for-the-app-cli-test';
  let server: Server | undefined;
  let scim: ScimServer;
  let good = '';
  let refused = '';
  let unreachable = '';

  beforeAll(async () => {
    scim = await startScimServer({ token: secret });
    server = await startServer(['--data', dir], { STEWARD_BOOTSTRAP_TOKEN: bootstrap }, 170_000);
    const create = async (name: string, settings: Record<string, unknown>, token: string) => {
      const res = await fetch(`${server!.url}/v1.0/applications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bootstrap}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, connectorKind: 'scim', settings: { retries: 0, ...settings }, secrets: { token } }),
      });
      if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    good = await create('Good', { baseUrl: scim.url }, secret);
    refused = await create('Refused', { baseUrl: scim.url }, 'a-wrong-token-value');
    unreachable = await create('Unreachable', { baseUrl: `http://127.0.0.1:${await freePort()}/scim/v2` }, secret);
  }, 200_000);
  afterAll(async () => {
    await server?.stop();
    await scim?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('through the running server: ok exits 0; a refused token exits 5 with what to check, never the secret', async () => {
    const ok = await runSteward(['app', 'test', good, '--data', dir]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok \(\d+ ms\): connected to/);
    const bad = await runSteward(['app', 'test', refused, '--data', dir]);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toMatch(/failed \(permanent.*check the token/);
    expect(bad.stderr + bad.stdout).not.toContain('a-wrong-token-value');
    const missing = await runSteward(['app', 'test', '00000000-0000-4000-8000-000000000000', '--data', dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no application has id');
  });

  it('on the data directory directly once the server has stopped', async () => {
    expect(await server!.stop()).toBe(0);
    server = undefined;
    const ok = await runSteward(['app', 'test', good, '--data', dir]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('connected to');
    const down = await runSteward(['app', 'test', unreachable, '--data', dir]);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/failed \(retryable.*ECONNREFUSED/);
  });
});
