// Plans against the store: validation problems, the compiler, batch compile and preview,
// on every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import type { ProvisioningPlan } from '../../src/plan/index.ts';
import { compilePlanBatches, compilePlans } from '../../src/services/plan-compile.ts';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { assign, makeAccount, makePerson, makePlanApp, type PlanWorld } from './fixtures.ts';

const codes = (r: { ok: boolean; errors?: { code: string }[] }) => (r.ok ? [] : r.errors!.map((e) => e.code));

describe.each(testDbKinds())('plans on %s', (kind) => {
  let t: TestApp;
  let w: PlanWorld;
  beforeAll(async () => {
    t = await createTestApp(kind);
    w = await makePlanApp(t);
  }, 120_000);
  afterAll(async () => t?.close());

  describe('validate', () => {
    it('accepts a plan that fits the store', async () => {
      const p = await makePerson(t.db);
      await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, { login: p.userName });
      const r = await t.services.plans.validate({ json: { identity: p.userName, accountRequests: [{ application: w.appName, nativeIdentity: `uid=${p.userName}`, attributeRequests: [{ name: 'groups', value: 'cn=g1' }] }] } });
      expect(codes(r)).toEqual([]);
    });

    it('lists every problem at once, each with its code and request position', async () => {
      const limited = await makePlanApp(t, { capabilities: ['create_user'] });
      const r = await t.services.plans.validate({
        json: {
          identity: 'nobody-at-all',
          accountRequests: [
            { application: 'NoSuchApp', nativeIdentity: 'x' },
            { application: w.appName, nativeIdentity: 'x', attributeRequests: [{ name: 'shoeSize', value: '42' }] },
            { application: w.appName, op: 'Disable', nativeIdentity: 'uid=ghost' },
            { application: limited.appName, op: 'Delete', nativeIdentity: 'uid=other' },
          ],
        },
      });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const got = r.errors.map((e) => [e.code, e.field]);
      expect(got).toEqual(
        expect.arrayContaining([
          ['plan.unknown_identity', 'identity'],
          ['plan.unknown_application', 'accountRequests[0].application'],
          ['plan.unknown_attribute', 'accountRequests[1].attributeRequests[0].name'],
          ['plan.account_not_found', 'accountRequests[1].nativeIdentity'],
          ['plan.account_not_found', 'accountRequests[2].nativeIdentity'],
          ['plan.unsupported_operation', 'accountRequests[3].op'],
          ['plan.account_not_found', 'accountRequests[3].nativeIdentity'],
        ]),
      );
    });

    it('refuses a Create of an existing account but allows a Modify after a Create', async () => {
      const p = await makePerson(t.db);
      await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, {});
      const r = await t.services.plans.validate({
        json: {
          accountRequests: [
            { application: w.appName, op: 'Create', nativeIdentity: `uid=${p.userName}` },
            { application: w.appName, op: 'Create', nativeIdentity: `uid=new-${p.userName}` },
            { application: w.appName, op: 'Modify', nativeIdentity: `uid=new-${p.userName}`, attributeRequests: [{ name: 'mail', op: 'Set', value: 'a@b' }] },
          ],
        },
      });
      expect(r.ok ? [] : r.errors.map((e) => [e.code, e.field])).toEqual([['plan.account_exists', 'accountRequests[0].nativeIdentity']]);
    });

    it('treats Steward and IIQ as Steward itself, whose accounts are identities', async () => {
      const p = await makePerson(t.db);
      const good = await t.services.plans.validate({ json: { accountRequests: [{ application: 'IIQ', nativeIdentity: p.userName, attributeRequests: [{ name: 'department', op: 'Set', value: 'R&D' }] }] } });
      expect(codes(good)).toEqual([]);
      const bad = await t.services.plans.validate({ json: { accountRequests: [{ application: 'Steward', nativeIdentity: 'no-such-user' }] } });
      expect(codes(bad)).toEqual(['plan.account_not_found']);
    });

    it('gives XML problems the line and column of their request', async () => {
      const xml = `<?xml version='1.0' encoding='UTF-8'?>\n<ProvisioningPlan>\n  <AccountRequest application='${w.appName}' nativeIdentity='uid=nobody'>\n    <AttributeRequest name='groups' value='cn=g1'/>\n    <AttributeRequest name='shoeSize' value='42'/>\n  </AccountRequest>\n</ProvisioningPlan>\n`;
      const r = await t.services.plans.validate({ xml });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.errors.map((e) => [e.code, e.line, e.column])).toEqual([
        ['plan.unknown_attribute', 5, 5],
        ['plan.account_not_found', 3, 3],
      ]);
    });

    it('lets the identity option supply or override the target identity', async () => {
      const p = await makePerson(t.db);
      const r = await t.services.plans.validate({ json: { identity: 'nobody-at-all', accountRequests: [] } }, { identity: p.id });
      expect(r.ok && r.value.identity).toBe(p.id);
    });
  });

  describe('compile', () => {
    it('a joiner with no account gets a Create with mapped attributes and its group Adds', async () => {
      const p = await makePerson(t.db, 'Finance');
      await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g2']!);
      await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g1']!);
      const plan = await t.services.plans.compile(p.id);
      expect(plan).toEqual({
        identity: p.id,
        accountRequests: [
          {
            application: w.appName,
            op: 'Create',
            attributeRequests: [
              { name: 'login', op: 'Set', value: p.userName },
              { name: 'mail', op: 'Set', value: `${p.userName}@example.com` },
              { name: 'dept', op: 'Set', value: 'Finance' },
              { name: 'groups', op: 'Add', value: 'cn=g1' },
              { name: 'groups', op: 'Add', value: 'cn=g2' },
            ],
            permissionRequests: [],
          },
        ],
      } satisfies ProvisioningPlan);
    });

    it('is empty when nothing differs', async () => {
      const p = await makePerson(t.db, 'Finance');
      await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g1']!);
      await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, { login: p.userName, mail: `${p.userName}@example.com`, dept: 'Finance', groups: ['cn=g1', 'unmanaged-local-group'] });
      expect((await t.services.plans.compile(p.id)).accountRequests).toEqual([]);
    });

    it('removes a revoked entitlement and sets a mapped attribute that changed', async () => {
      const p = await makePerson(t.db, 'Finance');
      await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g1']!);
      await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g2']!, { status: 'revoked' });
      await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, { login: p.userName, mail: `${p.userName}@example.com`, dept: 'Sales', groups: ['cn=g1', 'cn=g2'] });
      const plan = await t.services.plans.compile(p.id);
      expect(plan.accountRequests).toEqual([
        {
          application: w.appName,
          op: 'Modify',
          nativeIdentity: `uid=${p.userName}`,
          attributeRequests: [
            { name: 'dept', op: 'Set', value: 'Finance' },
            { name: 'groups', op: 'Remove', value: 'cn=g2' },
          ],
          permissionRequests: [],
        },
      ]);
    });

    it("gives an account with no access left the application's de-provisioning op", async () => {
      const suspend = await makePlanApp(t, { action: 'Suspend' });
      const del = await makePlanApp(t, { action: 'Delete' });
      const p = await makePerson(t.db);
      await makeAccount(t.db, suspend.appId, `uid=${p.userName}`, p.id, { groups: ['cn=g1'] });
      await makeAccount(t.db, del.appId, `uid=${p.userName}`, p.id, {});
      const ops = (await t.services.plans.compile(p.id)).accountRequests.map((r) => [r.application, r.op]);
      expect(ops).toEqual(expect.arrayContaining([[suspend.appName, 'Disable'], [del.appName, 'Delete']]));
      expect(ops).toHaveLength(2);
    });

    it('gives entitlements inherited through a group', async () => {
      const p = await makePerson(t.db);
      const g = await t.db.k.insertInto('groups').values({ display_name: `grp-${p.userName}`, data: '{}' }).returning('id').executeTakeFirstOrThrow();
      await t.db.k.insertInto('group_members').values({ group_id: g.id, identity_id: p.id }).execute();
      await assign(t.db, { groupId: g.id }, w.appId, w.groups['cn=g3']!);
      await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, { login: p.userName, mail: `${p.userName}@example.com`, dept: 'Sales' });
      const plan = await t.services.plans.compile(p.id);
      expect(plan.accountRequests.map((r) => r.attributeRequests)).toEqual([[{ name: 'groups', op: 'Add', value: 'cn=g3' }]]);
    });

    it('ignores expired and not-yet-valid assignments', async () => {
      const p = await makePerson(t.db);
      const day = 86_400_000;
      await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g1']!, { validUntil: new Date(Date.now() - day) });
      await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g2']!, { validFrom: new Date(Date.now() + day) });
      expect((await t.services.plans.compile(p.id)).accountRequests).toEqual([]);
    });

    it('compiles a batch exactly as one identity at a time', async () => {
      const people = await Promise.all([makePerson(t.db, 'A'), makePerson(t.db, 'B'), makePerson(t.db, 'C')]);
      await assign(t.db, { identityId: people[0].id }, w.appId, w.groups['cn=g1']!);
      await assign(t.db, { identityId: people[1].id }, w.appId, null);
      await makeAccount(t.db, w.appId, `uid=${people[1].userName}`, people[1].id, { groups: ['cn=g2'] });
      await makeAccount(t.db, w.appId, `uid=${people[2].userName}`, people[2].id, {}, false);
      const ids = people.map((p) => p.id);
      const batch = await t.services.plans.compileMany([...ids, '00000000-0000-4000-8000-000000000000']);
      expect([...batch.keys()].sort()).toEqual([...ids].sort());
      for (const id of ids) expect(batch.get(id)).toEqual(await t.services.plans.compile(id));
    });

    it('gives the same plans whichever batch boundaries split the identities', async () => {
      const other = await makePlanApp(t, { action: 'Delete' });
      const people = await Promise.all([makePerson(t.db, 'A'), makePerson(t.db, 'B'), makePerson(t.db, 'C'), makePerson(t.db, 'D'), makePerson(t.db, 'E')]);
      const [a, b, c, d, e] = people;
      // Identities on both sides of each boundary share applications, entitlements and catalogued values.
      await assign(t.db, { identityId: a.id }, w.appId, w.groups['cn=g1']!);
      await assign(t.db, { identityId: a.id }, w.appId, w.groups['cn=g2']!);
      await assign(t.db, { identityId: b.id }, w.appId, w.groups['cn=g2']!);
      await makeAccount(t.db, w.appId, `uid=${b.userName}`, b.id, { login: 'old', groups: ['cn=g1', 'cn=g3', 'local'] });
      await assign(t.db, { identityId: c.id }, other.appId, null);
      await makeAccount(t.db, w.appId, `uid=${c.userName}`, c.id, { groups: ['cn=g1'] });
      await makeAccount(t.db, other.appId, `uid=${c.userName}`, c.id, {}, false);
      const g = await t.db.k.insertInto('groups').values({ display_name: `grp-${d.userName}`, data: '{}' }).returning('id').executeTakeFirstOrThrow();
      await t.db.k.insertInto('group_members').values([{ group_id: g.id, identity_id: d.id }, { group_id: g.id, identity_id: e.id }]).execute();
      await assign(t.db, { groupId: g.id }, w.appId, w.groups['cn=g3']!);
      await assign(t.db, { identityId: d.id }, w.appId, w.groups['cn=g3']!);
      await makeAccount(t.db, other.appId, `uid=${e.userName}`, e.id, {});
      const ids = people.map((p) => p.id);
      const now = new Date();
      const whole = await compilePlans(t.db.k, ids, now);
      expect([...whole.keys()]).toEqual(ids);
      expect([...whole.values()].every((p) => p.accountRequests.length > 0)).toBe(true);
      for (const size of [1, 2, 3]) {
        const split = new Map<string, ProvisioningPlan>();
        let batches = 0;
        for await (const batch of compilePlanBatches(t.db.k, ids, now, size)) {
          batches++;
          for (const [id, plan] of batch) split.set(id, plan);
        }
        expect(batches).toBe(Math.ceil(ids.length / size));
        expect([...split.entries()]).toEqual([...whole.entries()]);
      }
    });

    it('adds the values of each entitlement attribute in schema order, each sorted', async () => {
      const name = uniqueName('app-kinds');
      const app = await t.services.applications.create(SYSTEM_ACTOR, {
        name,
        connectorKind: 'scim',
        settings: { baseUrl: 'https://scim.example.com/v2' },
        secrets: { token: 'tok' },
        accountSchema: {
          attributes: [
            { name: 'roles', type: 'string', multiValued: true, entitlementKind: 'role' },
            { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
          ],
        },
      });
      const ents = await t.services.entitlements.create(SYSTEM_ACTOR, app.id, [
        { kind: 'group' as const, nativeValue: 'g-b', name: `${name}-gb` },
        { kind: 'group' as const, nativeValue: 'g-a', name: `${name}-ga` },
        { kind: 'role' as const, nativeValue: 'r-b', name: `${name}-rb` },
        { kind: 'role' as const, nativeValue: 'r-a', name: `${name}-ra` },
      ]);
      const p = await makePerson(t.db);
      // Assigned groups first, so that the order of assignments would put groups before roles.
      for (const ent of ents) await assign(t.db, { identityId: p.id }, app.id, ent.id);
      const plan = await t.services.plans.compile(p.id);
      expect(plan.accountRequests.map((r) => r.attributeRequests.map((a) => `${a.name}=${String(a.value)}`))).toEqual([['roles=r-a', 'roles=r-b', 'groups=g-a', 'groups=g-b']]);
    });
  });

  describe('preview', () => {
    it('shows each account before and after, changing nothing', async () => {
      const p = await makePerson(t.db);
      await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, { mail: 'old@example.com', groups: ['cn=g1'] });
      const plan = { accountRequests: [{ application: w.appName, nativeIdentity: `uid=${p.userName}`, attributeRequests: [{ name: 'groups', value: 'cn=g2' }, { name: 'mail', op: 'Set', value: 'new@example.com' }] }] };
      const r = await t.services.plans.preview({ json: plan });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const [account] = r.value.accounts;
      expect(account!.before.attributes).toEqual({ mail: 'old@example.com', groups: ['cn=g1'] });
      expect(account!.after.attributes).toEqual({ mail: 'new@example.com', groups: ['cn=g1', 'cn=g2'] });
      expect(account!.attributes.find((a) => a.name === 'groups')).toMatchObject({ added: ['cn=g2'], removed: [] });
      const row = await t.db.k.selectFrom('accounts').select('attributes').where('native_identity', '=', `uid=${p.userName}`).executeTakeFirstOrThrow();
      expect(row.attributes).toEqual({ mail: 'old@example.com', groups: ['cn=g1'] });
    });
  });
});
