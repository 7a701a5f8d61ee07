// A worker killed with SIGKILL between the target's change and the commit of its outcome
// loses nothing: after a restart the flow finishes, and the target has the user once.
// Real processes: `steward serve` (API and its in-process worker) is started, killed and
// started again over the same database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { startServer, type Server } from '../support/cli.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';
import { until } from '../support/until.ts';

const TOKEN = 'kill-test-bootstrap-token-0123456789abcdef';

describe.each(testDbKinds())('a worker killed mid-flow on %s', (kind) => {
  let scim: ScimServer;
  let dir: string;
  let pgDb: Db | undefined;
  let env: NodeJS.ProcessEnv;
  let server: Server | undefined;

  beforeAll(async () => {
    scim = await startScimServer({ token: 'kill-test-scim-token-0123456789' });
    dir = mkdtempSync(join(tmpdir(), 'steward-kill-'));
    env = {
      STEWARD_BOOTSTRAP_TOKEN: TOKEN,
      STEWARD_SCRIPT_TIMEOUT_SECONDS: '2',
      STEWARD_QUEUE_SUPERVISE_SECONDS: '1',
      STEWARD_SECRET_KEY: 'ab'.repeat(32),
      STEWARD_DATABASE_URL: '',
    };
    if (kind === 'postgres') {
      pgDb = await createTestDb('postgres');
      env.STEWARD_DATABASE_URL = pgDb.url;
    }
  }, 120_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await scim?.close();
    await pgDb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes the flow after a restart, with the user made once', async () => {
    server = await startServer(['--data', dir], env, 150_000);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(server!.url + path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    };
    const person = (userName: string) =>
      call('POST', '/v2.0/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, name: { givenName: 'Kim', familyName: userName } }).then((u) => u.id as string);
    const requester = await person('kill-requester');
    const beneficiary = await person('kill-victim');
    const app = await call('POST', '/v1.0/applications', {
      name: 'scim-kill',
      connectorKind: 'scim',
      settings: { baseUrl: scim.url, retries: 0 },
      secrets: { token: scim.token },
      accountSchema: {
        attributes: [
          { name: 'userName', type: 'string', multiValued: false, required: true },
          { name: 'name.familyName', type: 'string', multiValued: false },
          { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
        ],
      },
      attributeMappings: [
        { accountAttribute: 'userName', identityAttribute: 'userName' },
        { accountAttribute: 'name.familyName', identityAttribute: 'name.familyName' },
      ],
    });
    const group = scim.seedGroup('Operators');
    const ents = await call('POST', `/v1.0/owner/applications/${app.id as string}/entitlements`, { entitlements: [{ kind: 'group', nativeValue: group.id, name: 'Operators' }] });
    const entitlementId = (ents.items as { id: string }[])[0]!.id;
    await call('POST', '/v1.0/approvalChains', { name: 'No approval', applicationId: app.id, default: true, steps: [] });
    await call('PUT', `/v1.0/applications/${app.id as string}/actionChains/provisioning`, {
      entitlementId,
      scripts: [
        { type: 'scim_api_create_user', metadata: {} },
        { type: 'scim_api_add_user_to_group', metadata: {} },
      ],
    });

    // The SCIM server makes the user at once but answers 30 s later: the worker is killed
    // after the change and before it could record it.
    scim.holdNext(30_000, 1);
    const request = await call('POST', '/v1.0/requests', { beneficiaryId: beneficiary, requesterId: requester, applicationId: app.id, entitlementId, justification: 'kill test' });
    expect(request.status).toBe('approved');
    await until('the user to appear in the SCIM server', async () => scim.user('kill-victim'), 60_000);
    expect(await server.stop('SIGKILL')).toBeNull();

    server = await startServer(['--data', dir], env, 150_000);
    const flow = await until(
      'the flow to finish after the restart',
      async () => {
        const list = await call('GET', `/v1.0/flows?requestId=${request.id as string}`);
        const f = (list.items as { id: string; status: string }[])[0];
        return f && ['succeeded', 'failed'].includes(f.status) ? await call('GET', `/v1.0/flows/${f.id}`) : undefined;
      },
      90_000,
    );
    expect(flow.status).toBe('succeeded');
    const scripts = flow.scripts as { status: string; attempts: number; output: { result?: string } | null }[];
    expect(scripts.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    expect(scripts[0]!.attempts).toBeGreaterThanOrEqual(2);
    expect(scim.users().filter((u) => u.userName === 'kill-victim')).toHaveLength(1);
    const user = scim.user('kill-victim')!;
    expect(scim.groups().find((g) => g.id === group.id)!.members?.map((m) => m.value)).toEqual([user.id]);
  }, 400_000);
});
