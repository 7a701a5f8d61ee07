// The lifecycle worker inside a real `steward serve` process turns HR changes into access on
// a SCIM target with no one calling processEvents or completeGrace: the application, its
// groups and the birthright rules are made through the API (each rule's recompute a job the
// process runs), the HR changes (joiner, mover,
// leaver) come in over Steward's own SCIM surface, and the test only watches the target
// and the API until the outcome shows (bounded waits, no timing assertions).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { startServer, type Server } from '../support/cli.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';
import { hrUser, patchOp, STATUS_PATH } from './support.ts';
import { until as poll } from '../support/until.ts';

const TOKEN = 'lifecycle-serve-bootstrap-token-0123456789';
const DEPARTMENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department';
// A serve process under CI load can take a while to reach each state.
const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> => poll(what, probe, 90_000);

describe.each(testDbKinds())('the lifecycle worker in steward serve on %s', (kind) => {
  let scim: ScimServer;
  let dir: string;
  let pgDb: Db | undefined;
  let server: Server | undefined;

  beforeAll(async () => {
    scim = await startScimServer({ token: 'lifecycle-serve-scim-token-0123456789' });
    dir = mkdtempSync(join(tmpdir(), 'steward-lifecycle-serve-'));
    const env: NodeJS.ProcessEnv = { STEWARD_BOOTSTRAP_TOKEN: TOKEN, STEWARD_SECRET_KEY: 'cd'.repeat(32), STEWARD_DATABASE_URL: '' };
    if (kind === 'postgres') {
      pgDb = await createTestDb('postgres');
      env.STEWARD_DATABASE_URL = pgDb.url;
    }
    server = await startServer(['--data', dir], env, 150_000);
  }, 200_000);

  afterAll(async () => {
    await server?.stop();
    await scim?.close();
    await pgDb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(server!.url + path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as T };
  };
  const groupsOf = (userName: string) => {
    const u = scim.user(userName);
    return u ? scim.groups().filter((g) => g.members.some((m) => m.value === u.id)).map((g) => g.displayName).sort() : undefined;
  };

  it('joiner, mover and leaver reach the SCIM target through the API alone', async () => {
    const app = (
      await call('POST', '/v1.0/applications', {
        name: 'scim-lifecycle',
        connectorKind: 'scim',
        settings: { baseUrl: scim.url, retries: 0 },
        secrets: { token: scim.token },
        accountSchema: {
          attributes: [
            { name: 'userName', type: 'string', multiValued: false, required: true },
            { name: 'displayName', type: 'string', multiValued: false },
            { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
          ],
        },
        attributeMappings: [
          { accountAttribute: 'userName', identityAttribute: 'userName' },
          { accountAttribute: 'displayName', identityAttribute: 'displayName' },
        ],
        deprovisioningPolicy: { action: 'Delete', gracePeriod: 'P30D' },
      })
    ).json;
    const appId = app.id as string;
    const sales = scim.seedGroup('Sales');
    const eng = scim.seedGroup('Engineering');
    const ents = (
      await call<{ items: { id: string; nativeValue: string }[] }>('POST', `/v1.0/owner/applications/${appId}/entitlements`, {
        entitlements: [
          { kind: 'group', nativeValue: sales.id, name: 'Sales' },
          { kind: 'group', nativeValue: eng.id, name: 'Engineering' },
        ],
      })
    ).json.items;
    const entOf = (groupId: string) => ents.find((e) => e.nativeValue === groupId)!.id;
    // Each rule's save answers at once; the worker's job recomputes everyone (no one yet).
    for (const [dept, group] of [['Sales', sales], ['Engineering', eng]] as const) {
      const rule = await call<{ status: string; recomputeId: string }>('POST', '/v1.0/rules', { name: `${dept} staff`, condition: `department == "${dept}"`, grants: [{ entitlementId: entOf(group.id) }] });
      expect(rule.status).toBe(202);
      const done = await until('the rule’s recompute to finish', async () => {
        const r = (await call<{ status: string }>('GET', `/v1.0/lifecycle/recomputes/${rule.json.recomputeId}`)).json;
        return ['applied', 'held', 'failed'].includes(r.status) ? r : undefined;
      });
      expect(done).toEqual(expect.objectContaining({ status: 'applied', kind: 'rule.create' }));
    }

    // Joiner: the HR feed creates a Sales employee; the worker grants the Sales group and
    // the flow makes the account in it.
    const joined = await call<{ id: string }>('POST', '/v2.0/Users', hrUser('lc-serve-ann', 'Sales'));
    expect(joined.status).toBe(201);
    const id = joined.json.id;
    expect(await until('the account in the Sales group on the target', () => (groupsOf('lc-serve-ann')?.includes('Sales') ? groupsOf('lc-serve-ann') : undefined))).toEqual(['Sales']);
    expect(scim.user('lc-serve-ann')!.active).not.toBe(false);
    const assignments = async () =>
      (await call<{ items: { source: string; status: string; entitlement: { id: string } }[] }>('GET', `/v1.0/users/${id}/entitlements?status=active`)).json.items.filter((a) => a.source === 'birthright').map((a) => a.entitlement.id);
    expect(await assignments()).toEqual([entOf(sales.id)]);

    // Mover: the department changes; Sales goes and Engineering comes, on the same account.
    await call('PATCH', `/v2.0/Users/${id}`, patchOp({ op: 'replace', path: DEPARTMENT, value: 'Engineering' }));
    expect(await until('the account to move to Engineering', () => (groupsOf('lc-serve-ann')?.join() === 'Engineering' ? groupsOf('lc-serve-ann') : undefined))).toEqual(['Engineering']);
    expect(await assignments()).toEqual([entOf(eng.id)]);
    expect(scim.users().filter((u) => u.userName === 'lc-serve-ann')).toHaveLength(1);

    // Leaver: terminated by HR; the account is disabled at once and its deletion waits for
    // the grace period.
    await call('PATCH', `/v2.0/Users/${id}`, patchOp({ op: 'replace', path: STATUS_PATH, value: 'terminated' }));
    await until('the account to be disabled on the target', () => (scim.user('lc-serve-ann')?.active === false ? true : undefined));
    const deprov = await call<{ items: { applicationId: string; status: string; action: string }[] }>('GET', `/v1.0/users/${id}/deprovisionings`);
    expect(deprov.json.items).toEqual([expect.objectContaining({ applicationId: appId, status: 'grace', action: 'Delete' })]);
    expect(await assignments()).toEqual([]);
    const events = await call<{ items: { kind: string; status: string }[] }>('GET', `/v1.0/lifecycle/events?identityId=${id}`);
    expect(events.json.items.map((e) => e.kind)).toEqual(expect.arrayContaining(['identity.created', 'identity.attributes_changed', 'identity.status_changed']));
    expect(events.json.items.every((e) => e.status === 'processed')).toBe(true);
  }, 400_000);
});
