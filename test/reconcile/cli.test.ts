// `steward recon start APP --wait` and `steward recon status` on the data directory directly
// (this process carries the run out), against the SCIM test server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSteward, startServer } from '../support/cli.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';

describe('steward recon', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-recon-cli-'));
  const bootstrap = 'bootstrap-token-for-the-recon-cli-test-0123456789';
  let scim: ScimServer;
  let appId = '';

  beforeAll(async () => {
    scim = await startScimServer();
    scim.seedUsers(5, { prefix: 'cli' });
    const server = await startServer(['--data', dir], { STEWARD_BOOTSTRAP_TOKEN: bootstrap }, 170_000);
    try {
      const res = await fetch(`${server.url}/v1.0/applications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bootstrap}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Recon CLI', connectorKind: 'scim', settings: { baseUrl: scim.url, retries: 0, pageSize: 2 }, secrets: { token: scim.token } }),
      });
      if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
      appId = ((await res.json()) as { id: string }).id;
    } finally {
      await server.stop();
    }
  }, 200_000);
  afterAll(async () => {
    await scim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a run by application name, waits for it with a progress bar, and shows it in status', async () => {
    // Incremental is asked, but a first run reads everything, and says why.
    const started = await runSteward(['recon', 'start', 'recon cli', '--wait', '--mode', 'incremental', '--data', dir]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/completed \| 3 pages, 5 accounts seen \| 5 new, 0 changed, 0 removed; 0 matched, 5 unmatched, 0 orphan/);
    expect(started.stdout).toMatch(/mode full \(incremental asked: .+\)/);
    expect(started.stderr).toContain('reconciling [');
    const status = await runSteward(['recon', 'status', appId, '--data', dir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('completed');
    expect(status.stdout).toContain('(baseline run)');
    const all = await runSteward(['recon', 'status', '--data', dir]);
    expect(all.stdout).toContain(appId);
    const missing = await runSteward(['recon', 'start', 'No Such App', '--data', dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no application is named 'No Such App'");
  });

  it('an incremental run after a full one reads only what changed, and status says it ran incremental', async () => {
    scim.seedUsers(1, { prefix: 'late' });
    const started = await runSteward(['recon', 'start', 'recon cli', '--wait', '--mode', 'incremental', '--data', dir]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/completed \| \d+ pages?, 1 accounts seen \| 1 new, 0 changed, 0 removed/);
    expect(started.stdout).toContain('| mode incremental');
  });
});
