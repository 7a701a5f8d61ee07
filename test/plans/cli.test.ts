// `steward plan …` as a user runs it: the real bin/steward.js in child processes, alone,
// through a running embedded server, and on the data directory directly.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlanJson } from '../../src/plan/index.ts';
import { runSteward, startServer, type Server } from '../support/cli.ts';

describe('steward plan', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-plan-cli-'));
  const data = join(dir, 'data');
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const bootstrap = 'bootstrap-token-for-the-plan-cli-test-0123456789';
  let server: Server | undefined;
  let identityId = '';
  const appName = 'Payroll';

  const good = file('good.xml', `<?xml version='1.0' encoding='UTF-8'?>\n<ProvisioningPlan>\n  <AccountRequest application='${appName}' op='Create' nativeIdentity='jeff'>\n    <AttributeRequest name='groups' value='Illuminati'/>\n  </AccountRequest>\n</ProvisioningPlan>\n`);

  beforeAll(async () => {
    server = await startServer(['--data', data], { STEWARD_BOOTSTRAP_TOKEN: bootstrap }, 170_000);
    const api = async (method: string, path: string, body: unknown, type = 'application/json') => {
      const res = await fetch(server!.url + path, { method, headers: { authorization: `Bearer ${bootstrap}`, 'content-type': type }, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string };
    };
    const app = await api('POST', '/v1.0/applications', {
      name: appName,
      connectorKind: 'scim',
      settings: { baseUrl: 'https://scim.example.com/v2' },
      secrets: { token: 'tok' },
      accountSchema: { attributes: [{ name: 'login', type: 'string', multiValued: false }, { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' }] },
      attributeMappings: [{ accountAttribute: 'login', identityAttribute: 'userName' }],
    });
    const user = await api('POST', '/v2.0/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'jeff' }, 'application/scim+json');
    identityId = user.id;
    await api('POST', `/v1.0/applications/${app.id}/assignments`, { identityId });
  }, 200_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('validates a plan by itself, with no store', async () => {
    const r = await runSteward(['plan', 'validate', good, '--data', join(dir, 'no-such-data')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('valid');
  });

  it('prints each problem as FILE:LINE:COLUMN: code: message and exits non-zero', async () => {
    const bad = file('bad.xml', `<ProvisioningPlan>\n  <AccountRequest application='HR' op='Bogus' nativeIdentity='jeff'>\n    <AttributeRequest name='groups' op='Add' value='x'/>\n</ProvisioningPlan>\n`);
    const r = await runSteward(['plan', 'validate', bad]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:3: plan\\.invalid_op: `));
    expect(lines[1]).toMatch(/:4:\d+: plan\.xml\.malformed: /);
  });

  it('converts XML to JSON and back', async () => {
    const json = await runSteward(['plan', 'convert', good, '--to', 'json', '--identity', 'jeff']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = parsePlanJson(json.stdout);
    expect(parsed.ok && parsed.value.identity).toBe('jeff');
    const back = await runSteward(['plan', 'convert', file('p.json', json.stdout), '--to', 'xml']);
    expect(back.stdout).toContain(`<AccountRequest application="${appName}" nativeIdentity="jeff" op="Create">`);
  });

  it('checks against the store through the running server, with --identity', async () => {
    const ok = await runSteward(['plan', 'validate', good, '--store', '--identity', 'jeff', '--data', data]);
    expect(ok.code, ok.stderr).toBe(0);
    const r = await runSteward(['plan', 'validate', good, '--store', '--identity', 'nobody', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('plan.unknown_identity');
    const unknown = file('unknown.xml', `<ProvisioningPlan>\n  <AccountRequest application='Nope' nativeIdentity='jeff'/>\n</ProvisioningPlan>\n`);
    const u = await runSteward(['plan', 'validate', unknown, '--store', '--data', data]);
    expect(u.stderr).toMatch(/unknown\.xml:2:3: plan\.unknown_application: /);
  });

  it('previews and compiles through the running server', async () => {
    const p = await runSteward(['plan', 'preview', good, '--data', data]);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).accounts[0].exists).toEqual({ before: false, after: true });
    const c = await runSteward(['plan', 'compile', '--identity', identityId, '--data', data]);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).accountRequests[0]).toMatchObject({ application: appName, op: 'Create', attributeRequests: [{ name: 'login', op: 'Set', value: 'jeff' }] });
  });

  it('compiles on the data directory directly once the server has stopped', async () => {
    await server!.stop();
    server = undefined;
    const c = await runSteward(['plan', 'compile', '--identity', identityId, '--format', 'xml', '--data', data]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain(`<AccountRequest application="${appName}" op="Create">`);
  });
});
