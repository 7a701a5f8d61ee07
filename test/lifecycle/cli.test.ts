// `steward rules preview FILE` and `steward identity recompute --all` on an embedded data directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.ts';
import { identityColumns } from '../../src/store/identities.ts';
import { runSteward } from '../support/cli.ts';

describe('steward rules preview and identity recompute', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-lifecycle-cli-'));
  const data = join(dir, 'data');
  let entitlementId = '';
  const env = { STEWARD_DATA_DIR: data };

  beforeAll(async () => {
    const m = await runSteward(['migrate', '--data', data], env);
    expect(m.code, m.stderr).toBe(0);
    const db = await openDb({ dataDir: data, command: 'test' });
    try {
      const app = await db.k
        .insertInto('applications')
        .values({ name: 'Wiki', connector_kind: 'scim', settings: '{"baseUrl":"https://wiki.example.com/scim/v2"}', secrets: '{}', account_schema: JSON.stringify({ attributes: [{ name: 'userName', type: 'string', multiValued: false }, { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' }] }), capabilities: '["create_user","disable_user","enable_user","delete_user","add_user_to_group","remove_user_from_group"]', deprovisioning_policy: '{"action":"Suspend","gracePeriod":"P0D"}', adoption_policy: '{"match":[]}', remediation_policy: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow();
      entitlementId = (await db.k.insertInto('entitlements').values({ application_id: app.id, kind: 'group', native_value: 'editors', name: 'Editors', attributes: '{}' }).returning('id').executeTakeFirstOrThrow()).id;
      for (const [u, d] of [['ann', 'Ops'], ['bob', 'Ops'], ['cy', 'Sales']]) await db.k.insertInto('identities').values({ ...identityColumns({ userName: u! }, null), department: d! }).execute();
      await db.k.insertInto('birthright_rules').values({ name: 'ops editors', condition: 'department == "Ops"', grants: JSON.stringify([{ type: 'entitlement', applicationId: app.id, entitlementId }]) }).execute();
    } finally {
      await db.close();
    }
  }, 200_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('recomputes every identity with a progress bar and carries out the difference', async () => {
    const r = await runSteward(['identity', 'recompute', '--all', '--data', data], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('recomputing');
    expect(r.stdout).toContain('3 identities evaluated, 2 would change, 2 plans');
    expect(r.stdout).toContain('applied: 2 ActionFlows');
    const again = await runSteward(['identity', 'recompute', '--all', '--data', data], env);
    expect(again.stdout).toContain('3 identities evaluated, 0 would change');
  });

  it('previews a rule from a file without saving it, and names the position of an error', async () => {
    const file = join(dir, 'rule.json');
    writeFileSync(file, JSON.stringify({ name: 'sales editors', condition: 'department == "Sales"', grants: [{ entitlementId }] }));
    const r = await runSteward(['rules', 'preview', file, '--data', data], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`entitlement ${entitlementId}: 1 (cy)`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'bad', condition: 'department ==', grants: [{ entitlementId }] }));
    const b = await runSteward(['rules', 'preview', bad, '--data', data], env);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('line 1, column 14');
  });
});
