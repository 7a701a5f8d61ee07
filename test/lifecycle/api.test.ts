import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { identityColumns } from '../../src/store/identities.ts';
import { uniqueName } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { createWorld, hrUser, patchOp, STATUS_PATH, type World } from './support.ts';

interface Problem { code: string; field?: string; line?: number; column?: number; message: string }
interface Impact { evaluated: number; changed: number; plans: number; gains: { entitlementId: string | null; count: number; sample: string[] }[]; losses: { count: number }[]; applications: { name: string; accounts: number; accountsToRemove: number; overThreshold: boolean }[]; held: boolean }

describe.each(testDbKinds())('lifecycle API on %s', (kind) => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld(kind, { gracePeriod: 'P3D' });
  }, 180_000);
  afterAll(() => w?.close());

  const count = async (table: 'birthright_rules' | 'assignments' | 'deprovisionings' | 'group_members') => Number((await w.db.k.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  async function people(n: number, department: string): Promise<{ id: string; userName: string }[]> {
    const out = [];
    for (let i = 0; i < n; i++) {
      const userName = uniqueName('p');
      const res = await w.call('POST', '/v2.0/Users', hrUser(userName, department));
      expect(res.statusCode, res.body).toBe(201);
      out.push({ id: res.json<{ id: string }>().id, userName });
    }
    await w.settle();
    return out;
  }

  describe('rules are checked when saved', () => {
    it('names the line and column of a syntax error, an unknown attribute and a wrong type', async () => {
      const bad = async (condition: string) => {
        const res = await w.call('POST', '/v1.0/rules', { name: uniqueName('r'), condition, grants: [{ applicationId: w.appId }] });
        expect(res.statusCode).toBe(400);
        expect(res.json<{ error: { code: string } }>().error.code).toBe('rule.invalid');
        return res.json<{ error: { problems: Problem[] } }>().error.problems;
      };
      expect(await bad('department == "Sales" and (')).toEqual([expect.objectContaining({ code: 'rule.invalid_condition', field: 'condition', line: 1, column: 28 })]);
      expect(await bad('department == "Sales"\nand jobCode == "x"')).toEqual([expect.objectContaining({ line: 2, column: 5, message: expect.stringContaining("unknown attribute 'jobCode'") })]);
      expect(await bad('active == "yes"')).toEqual([expect.objectContaining({ line: 1, column: 8, message: expect.stringContaining('two strings, two booleans') })]);
      expect(await count('birthright_rules')).toBe(0);
    });

    it('refuses grants that name nothing, each by its position', async () => {
      const res = await w.call('POST', '/v1.0/rules', { name: uniqueName('r'), condition: 'true', grants: [{ entitlementId: '00000000-0000-4000-8000-000000000001' }, {}, { applicationId: w.appId, roleId: w.appId }] });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ error: { problems: Problem[] } }>().error.problems.map((p) => p.field)).toEqual(['grants[1]', 'grants[2]']);
      const res2 = await w.call('POST', '/v1.0/rules', { name: uniqueName('r'), condition: 'true', grants: [{ entitlementId: '00000000-0000-4000-8000-000000000001' }] });
      expect(res2.json<{ error: { problems: Problem[] } }>().error.problems).toEqual([expect.objectContaining({ field: 'grants[0].entitlementId', message: expect.stringContaining('no entitlement') })]);
    });

    it('needs the manage-lifecycle privilege', async () => {
      const other = (await w.services.clients.create(SYSTEM_ACTOR, { name: uniqueName('c'), privileges: ['manage-entitlements'] })).token;
      const res = await w.app.inject({ method: 'GET', url: '/v1.0/rules', headers: { authorization: `Bearer ${other}` } });
      expect(res.statusCode).toBe(403);
    });
  });

  it('previews who gains and loses, with counts and a sample, and writes nothing', async () => {
    const ops = await people(3, 'Ops');
    const before = await Promise.all([count('birthright_rules'), count('assignments')]);
    const audit = Number((await w.db.k.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const res = await w.call('POST', '/v1.0/rules/preview', { rule: { name: 'ops vpn', condition: 'department == "Ops"', grants: [{ entitlementId: w.ents.vpn.id }] } });
    expect(res.statusCode, res.body).toBe(200);
    const impact = res.json<Impact>();
    expect(impact.gains).toEqual([expect.objectContaining({ entitlementId: w.ents.vpn.id, count: 3 })]);
    expect(impact.gains[0]!.sample.sort()).toEqual(ops.map((p) => p.userName).sort());
    expect(impact.changed).toBe(3);
    expect(impact.held).toBe(false);
    expect(await Promise.all([count('birthright_rules'), count('assignments')])).toEqual(before);
    expect(Number((await w.db.k.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)).toBe(audit);
    const neither = await w.call('POST', '/v1.0/rules/preview', {});
    expect(neither.statusCode).toBe(400);
  });

  it('holds a rule change that would remove more than 5% of an application’s accounts until an administrator confirms', async () => {
    const made = await w.call('POST', '/v1.0/rules', { name: uniqueName('support'), condition: 'department == "Support"', grants: [{ applicationId: w.appId }] });
    expect(made.statusCode, made.body).toBe(202);
    const rule = made.json<{ rule: { id: string; condition: string } }>().rule;
    expect((await w.recomputes()).map((r) => r.status)).toEqual(['applied']);
    const staff = await people(4, 'Support');
    for (const p of staff) expect(w.target(p.userName)).toBeDefined();

    const res = await w.call('PUT', `/v1.0/rules/${rule.id}`, { name: uniqueName('support'), condition: 'department == "Suport"', grants: [{ applicationId: w.appId }] });
    expect(res.statusCode, res.body).toBe(202);
    const recomputeId = res.json<{ status: string; recomputeId: string }>().recomputeId;
    expect(res.json<{ status: string }>().status).toBe('queued');
    const [run] = await w.recomputes();
    expect(run).toEqual(expect.objectContaining({ status: 'held', holdId: expect.any(String), flowIds: [] }));
    const held = (await w.call('GET', `/v1.0/lifecycle/recomputes/${recomputeId}`)).json<{ status: string; holdId: string; impact: Impact }>();
    expect(held).toEqual(expect.objectContaining({ status: 'held', holdId: run!.holdId }));
    expect(held.impact.applications).toEqual([expect.objectContaining({ name: w.appName, accountsToRemove: 4, overThreshold: true })]);
    // Held: the rule is back as it was, and the target untouched.
    expect((await w.services.lifecycle.getRule(rule.id)).condition).toBe('department == "Support"');
    for (const p of staff) expect(w.target(p.userName)!.active).not.toBe(false);

    const list = await w.call('GET', '/v1.0/lifecycle/holds?status=held');
    expect(list.json<{ items: { id: string }[] }>().items.map((h) => h.id)).toContain(held.holdId);
    const ok = await w.call('POST', `/v1.0/lifecycle/holds/${held.holdId}/confirm`);
    expect(ok.statusCode, ok.body).toBe(202);
    expect((await w.services.lifecycle.getRule(rule.id)).condition).toBe('department == "Suport"');
    const confirmed = await w.recomputes();
    expect(confirmed.map((r) => r.status)).toEqual(['applied']);
    expect((await w.call('GET', `/v1.0/lifecycle/recomputes/${ok.json<{ recomputeId: string }>().recomputeId}`)).json()).toEqual(expect.objectContaining({ status: 'applied', confirmed: true }));
    for (const p of staff) expect(w.target(p.userName)!.active).toBe(false);
    expect((await w.call('POST', `/v1.0/lifecycle/holds/${held.holdId}/confirm`)).statusCode).toBe(409);
  });

  it('recomputes everyone after a rule save in a background job whose progress the API shows; events and further saves wait for it', async () => {
    const staff = await people(2, 'Recompute');
    const res = await w.call('POST', '/v1.0/rules', { name: uniqueName('recompute'), condition: 'department == "Recompute"', grants: [{ entitlementId: w.ents.eng.id }] });
    expect(res.statusCode, res.body).toBe(202);
    const saved = res.json<{ status: string; rule: { id: string }; recomputeId: string }>();
    expect(saved.status).toBe('queued');
    // Saved, not yet applied: the rule is there, no one has the access yet.
    expect((await w.call('GET', `/v1.0/rules/${saved.rule.id}`)).statusCode).toBe(200);
    for (const p of staff) expect(w.target(p.userName)).toBeUndefined();
    const queued = await w.call('GET', `/v1.0/lifecycle/recomputes/${saved.recomputeId}`);
    expect(queued.statusCode, queued.body).toBe(200);
    expect(queued.json()).toEqual(expect.objectContaining({ id: saved.recomputeId, kind: 'rule.create', ruleId: saved.rule.id, status: 'queued', processed: 0, total: null, impact: null, holdId: null }));

    // Until it has run, another save is refused and events wait.
    const second = await w.call('POST', '/v1.0/rules', { name: uniqueName('recompute'), condition: 'department == "Other"', grants: [{ applicationId: w.appId }] });
    expect(second.statusCode).toBe(409);
    expect(second.json<{ error: { code: string } }>().error.code).toBe('lifecycle.recompute_pending');
    const waiting = uniqueName('waiting');
    await w.call('POST', '/v2.0/Users', hrUser(waiting, 'Recompute'));
    expect((await w.services.lifecycle.processEvents()).events).toBe(0);

    const [run] = await w.recomputes();
    expect(run!.status).toBe('applied');
    const total = Number((await w.db.k.selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const done = (await w.call('GET', `/v1.0/lifecycle/recomputes/${saved.recomputeId}`)).json<{ status: string; processed: number; total: number; flows: number; impact: Impact; startedAt: string; finishedAt: string }>();
    // Everyone is recomputed, the hire whose event waited too.
    expect(done).toEqual(expect.objectContaining({ status: 'applied', processed: total, total, flows: 3, startedAt: expect.any(String), finishedAt: expect.any(String) }));
    expect(done.impact.gains).toEqual([expect.objectContaining({ entitlementId: w.ents.eng.id, count: 3 })]);
    for (const userName of [...staff.map((p) => p.userName), waiting]) expect(w.target(userName)!.groupNames).toEqual(['Engineering']);
    // The waiting event is processed now.
    expect((await w.services.lifecycle.processEvents()).events).toBeGreaterThan(0);
  });

  it('shows a recompute only to manage-lifecycle, and answers 404 for an unknown one', async () => {
    const res = await w.call('POST', '/v1.0/rules', { name: uniqueName('nobody'), condition: 'department == "Nobody"', grants: [{ applicationId: w.appId }] });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ recomputeId: string }>().recomputeId;
    await w.recomputes();
    const other = (await w.services.clients.create(SYSTEM_ACTOR, { name: uniqueName('c'), privileges: ['manage-entitlements'] })).token;
    const forbidden = await w.app.inject({ method: 'GET', url: `/v1.0/lifecycle/recomputes/${id}`, headers: { authorization: `Bearer ${other}` } });
    expect(forbidden.statusCode).toBe(403);
    const lifecycleOnly = (await w.services.clients.create(SYSTEM_ACTOR, { name: uniqueName('c'), privileges: ['manage-lifecycle'] })).token;
    const allowed = await w.app.inject({ method: 'GET', url: `/v1.0/lifecycle/recomputes/${id}`, headers: { authorization: `Bearer ${lifecycleOnly}` } });
    expect(allowed.statusCode, allowed.body).toBe(200);
    expect(allowed.json()).toEqual(expect.objectContaining({ kind: 'rule.create', status: 'applied' }));
    const missing = await w.call('GET', '/v1.0/lifecycle/recomputes/00000000-0000-4000-8000-000000000001');
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('lifecycle.recompute_not_found');
  });

  it('holds a truncated HR feed that terminates many at once; discarding it changes nothing on the target', async () => {
    await w.services.lifecycle.createRule(SYSTEM_ACTOR, { name: uniqueName('legal'), condition: 'department == "Legal"', grants: [{ entitlementId: w.ents.vpn.id }] });
    const staff = await people(5, 'Legal');
    for (const p of staff) {
      const r = await w.call('PATCH', `/v2.0/Users/${p.id}`, patchOp({ op: 'replace', path: STATUS_PATH, value: 'terminated' }));
      expect(r.statusCode).toBe(200);
    }
    const out = await w.services.lifecycle.processEvents();
    expect(out.held).toBeDefined();
    for (const p of staff) expect(w.target(p.userName)!.active).not.toBe(false);
    expect((await w.services.lifecycle.processEvents()).events).toBe(0);
    const d = await w.call('POST', `/v1.0/lifecycle/holds/${out.held!}/discard`);
    expect(d.statusCode, d.body).toBe(200);
    for (const p of staff) expect(w.target(p.userName)!.active).not.toBe(false);
    // The feed is fixed: the people are active again, and nothing is held any more.
    for (const p of staff) await w.call('PATCH', `/v2.0/Users/${p.id}`, patchOp({ op: 'replace', path: STATUS_PATH, value: 'active' }));
    expect(await w.settle()).toEqual([]);
  });

  it('roles bundle entitlements; granting one gives its access, a rule granting it keeps it from deletion', async () => {
    const role = await w.call('POST', '/v1.0/roles', { name: uniqueName('role'), items: [{ entitlementId: w.ents.vpn.id }, { entitlementId: w.ents.eng.id }] });
    expect(role.statusCode, role.body).toBe(201);
    const roleId = role.json<{ id: string }>().id;
    const [p] = await people(1, 'Nowhere');
    expect(w.target(p!.userName)).toBeUndefined();
    const g = await w.call('POST', `/v1.0/roles/${roleId}/members`, { identityId: p!.id });
    expect(g.statusCode, g.body).toBe(200);
    await w.runFlows(g.json<{ flowIds: string[] }>().flowIds);
    expect(w.target(p!.userName)!.groupNames).toEqual(['Engineering', 'VPN']);
    await w.services.lifecycle.createRule(SYSTEM_ACTOR, { name: uniqueName('by-role'), condition: 'department == "Nowhere2"', grants: [{ roleId }] });
    await w.recomputes();
    expect((await w.call('DELETE', `/v1.0/roles/${roleId}`)).statusCode).toBe(409);
    const r = await w.call('DELETE', `/v1.0/roles/${roleId}/members/${p!.id}`);
    expect(r.statusCode, r.body).toBe(200);
    await w.runFlows(r.json<{ flowIds: string[] }>().flowIds);
    expect(w.target(p!.userName)!.active).toBe(false);
  });

  it('rule-based groups follow attributes, and their grants follow them', async () => {
    const grp = await w.call('POST', '/v2.0/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: uniqueName('paris') });
    expect(grp.statusCode, grp.body).toBe(201);
    const groupId = grp.json<{ id: string }>().id;
    const bad = await w.call('PUT', `/v1.0/groups/${groupId}/rule`, { condition: '"x" in groups' });
    expect(bad.statusCode).toBe(400);
    const set = await w.call('PUT', `/v1.0/groups/${groupId}/rule`, { condition: 'location == "Paris"' });
    expect(set.statusCode, set.body).toBe(200);
    await w.services.assignments.assignEntitlements(SYSTEM_ACTOR, { groupId }, [{ entitlementId: w.ents.vpn.id }]);
    const userName = uniqueName('parisian');
    const res = await w.call('POST', '/v2.0/Users', hrUser(userName, 'Somewhere', { addresses: [{ locality: 'Paris', primary: true }] }));
    const id = res.json<{ id: string }>().id;
    await w.settle();
    expect(await w.db.k.selectFrom('group_members').select('identity_id').where('group_id', '=', groupId).execute()).toEqual([{ identity_id: id }]);
    expect(w.target(userName)!.groupNames).toEqual(['VPN']);
    await w.call('PATCH', `/v2.0/Users/${id}`, patchOp({ op: 'replace', path: 'addresses', value: [{ locality: 'Lyon', primary: true }] }));
    await w.settle();
    expect(await w.db.k.selectFrom('group_members').select('identity_id').where('group_id', '=', groupId).execute()).toEqual([]);
    expect(w.target(userName)!.active).toBe(false);
  });

  it('restores one account during its grace period: the identity keeps that access', async () => {
    await w.services.lifecycle.createRule(SYSTEM_ACTOR, { name: uniqueName('qa'), condition: 'department == "QA"', grants: [{ entitlementId: w.ents.sales.id }] });
    const [p] = await people(1, 'QA');
    await w.call('PATCH', `/v2.0/Users/${p!.id}`, patchOp({ op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'Elsewhere' }));
    await w.settle();
    expect(w.target(p!.userName)!.active).toBe(false);
    const account = await w.db.k.selectFrom('accounts').select('id').where('identity_id', '=', p!.id).executeTakeFirstOrThrow();
    const res = await w.call('POST', `/v1.0/users/${p!.id}/accounts/${account.id}/restore`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ status: string }>().status).toBe('restored');
    const pending = await w.db.k.selectFrom('action_flows').select('id').where('identity_id', '=', p!.id).where('status', '=', 'pending').execute();
    await w.runFlows(pending.map((f) => f.id));
    expect(w.target(p!.userName)!.active).toBe(true);
    expect(w.target(p!.userName)!.groupNames).toEqual(['Sales']);
    expect((await w.call('POST', `/v1.0/users/${p!.id}/accounts/${account.id}/restore`)).statusCode).toBe(409);
    const direct = await w.db.k.selectFrom('assignments').select(['source', 'entitlement_id']).where('identity_id', '=', p!.id).where('status', '=', 'active').execute();
    expect(direct.map((d) => d.source)).toEqual(['direct', 'direct']);
  });

  it('records each event kind with its identity', async () => {
    const r = await w.db.k.insertInto('identities').values(identityColumns({ userName: uniqueName('ev') }, null)).returning('id').executeTakeFirstOrThrow();
    const res = await w.call('GET', `/v1.0/lifecycle/events?identityId=${r.id}`);
    expect(res.json<{ items: { kind: string; status: string }[] }>().items).toEqual([expect.objectContaining({ kind: 'identity.created', status: 'pending' })]);
    await w.settle();
  });
});
