// `steward flow list|show|retry|cancel` as a user runs them: through the running embedded
// server, then on the data directory directly once the server has stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSteward, startServer, type Server } from '../support/cli.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';

describe('steward flow', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-flow-cli-'));
  const bootstrap = 'bootstrap-token-for-the-flow-cli-test-0123456789';
  let server: Server | undefined;
  let scim: ScimServer;
  let flowId = '';

  beforeAll(async () => {
    scim = await startScimServer({ token: 'scim-token-for-the-flow-cli-test' });
    server = await startServer(['--data', dir], { STEWARD_BOOTSTRAP_TOKEN: bootstrap }, 170_000);
    const call = async (method: string, path: string, body: unknown) => {
      const res = await fetch(server!.url + path, { method, headers: { authorization: `Bearer ${bootstrap}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    await call('POST', '/v2.0/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'cli-flow-user' });
    // The target refuses Steward's token: the flow's one script fails for good (401 is permanent).
    await call('POST', '/v1.0/applications', {
      name: 'Refusing',
      connectorKind: 'scim',
      settings: { baseUrl: scim.url, retries: 0 },
      secrets: { token: 'a-token-the-target-refuses' },
      accountSchema: { attributes: [{ name: 'userName', type: 'string', multiValued: false, required: true }] },
    });
    const out = await call('POST', '/v1.0/plans/execute', { identity: 'cli-flow-user', accountRequests: [{ application: 'Refusing', op: 'Create', attributeRequests: [{ name: 'userName', op: 'Set', value: 'cli-flow-user' }] }] });
    flowId = (out.flowIds as string[])[0]!;
    const end = Date.now() + 60_000;
    for (;;) {
      const f = await fetch(`${server.url}/v1.0/flows/${flowId}`, { headers: { authorization: `Bearer ${bootstrap}` } }).then((r) => r.json() as Promise<{ status: string }>);
      if (f.status === 'failed') break;
      if (Date.now() > end) throw new Error(`the flow did not fail: ${f.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 200_000);
  afterAll(async () => {
    await server?.stop();
    await scim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists, shows, retries and cancels through the running server', async () => {
    const list = await runSteward(['flow', 'list', '--status', 'failed', '--data', dir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`${flowId}\tplan\tfailed`);
    const show = await runSteward(['flow', 'show', flowId, '--data', dir]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/0\. scim_api_create_user: failed \(1 attempt\) — last error: /);
    const retry = await runSteward(['flow', 'retry', flowId, '--data', dir]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(new RegExp(`flow ${flowId}: plan, (running|failed)`));
    const cancel = await runSteward(['flow', 'cancel', flowId, '--data', dir]);
    // The retried script may have failed again already: cancel then says the flow has ended.
    if (cancel.code === 0) expect(cancel.stdout).toContain(`flow ${flowId}: plan, cancelled`);
    else expect(cancel.stderr).toContain('has already failed');
  });

  it('shows a flow on the data directory once the server has stopped, and names an unknown one', async () => {
    await server?.stop();
    server = undefined;
    const show = await runSteward(['flow', 'show', flowId, '--data', dir]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`flow ${flowId}: plan`);
    const unknown = await runSteward(['flow', 'show', '00000000-0000-4000-8000-000000000000', '--data', dir]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no ActionFlow has id 00000000-0000-4000-8000-000000000000');
  });
});
