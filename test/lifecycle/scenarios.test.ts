import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { uniqueName } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { createWorld, hrUser, patchOp, STATUS_PATH, type World } from './support.ts';

describe.each(testDbKinds())('joiner, mover, leaver on %s, checked on a SCIM target', (kind) => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld(kind);
    // Everyone gets an account; each department its group.
    for (const [dept, ent] of [['Sales', w.ents.sales], ['Engineering', w.ents.eng]] as const) {
      await w.services.lifecycle.createRule(SYSTEM_ACTOR, { name: `${dept} staff`, condition: `department == "${dept}" and kind == "employee"`, grants: [{ entitlementId: ent.id }] });
      expect((await w.recomputes()).map((r) => r.status)).toEqual(['applied']);
    }
  }, 180_000);
  afterAll(() => w?.close());

  async function hire(dept: string): Promise<{ id: string; userName: string }> {
    const userName = uniqueName('hire');
    const res = await w.call('POST', '/v2.0/Users', hrUser(userName, dept));
    expect(res.statusCode, res.body).toBe(201);
    await w.settle();
    return { id: res.json<{ id: string }>().id, userName };
  }
  const patch = async (id: string, ...ops: { op: string; path?: string; value: unknown }[]) => {
    const res = await w.call('PATCH', `/v2.0/Users/${id}`, patchOp(...ops));
    expect(res.statusCode, res.body).toBe(200);
  };
  const requestVpn = async (identityId: string) => {
    await w.db.k.insertInto('assignments').values({ identity_id: identityId, group_id: null, application_id: w.appId, entitlement_id: w.ents.vpn.id, source: 'request', status: 'active', valid_from: null, valid_until: null }).execute();
    await w.settle();
  };
  const graceRows = (identityId: string) => w.db.k.selectFrom('deprovisionings').select(['status', 'action', 'due_at']).where('identity_id', '=', identityId).execute();

  it('joiner: a new hire pushed over SCIM gets an account in their department group on the target', async () => {
    const p = await hire('Sales');
    const u = w.target(p.userName);
    expect(u).toBeDefined();
    expect(u!.groupNames).toEqual(['Sales']);
    expect(u!.active).not.toBe(false);
    const actions = (await w.db.k.selectFrom('audit_events').select('action').where('object_type', '=', 'assignment').where('actor', '=', 'lifecycle').execute()).map((a) => a.action);
    expect(actions).toContain('assignment.create');
  });

  it('mover: the old department group goes, the new one comes, requested access stays', async () => {
    const p = await hire('Sales');
    await requestVpn(p.id);
    expect(w.target(p.userName)!.groupNames).toEqual(['Sales', 'VPN']);
    await patch(p.id, { op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'Engineering' });
    await w.settle();
    expect(w.target(p.userName)!.groupNames).toEqual(['Engineering', 'VPN']);
  });

  it('mover: a rule that ends requested access on a move takes it away', async () => {
    const rule = await w.services.lifecycle.createRule(SYSTEM_ACTOR, { name: uniqueName('finance'), condition: 'department == "Finance"', grants: [{ applicationId: w.appId }], revokeRequestedOnMove: true });
    expect((await w.recomputes()).map((r) => r.status)).toEqual(['applied']);
    const p = await hire('Finance');
    await requestVpn(p.id);
    expect(w.target(p.userName)!.groupNames).toEqual(['VPN']);
    await patch(p.id, { op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'Sales' });
    await w.settle();
    expect(w.target(p.userName)!.groupNames).toEqual(['Sales']);
    await w.services.lifecycle.deleteRule(SYSTEM_ACTOR, rule.value.id);
    expect((await w.recomputes()).map((r) => r.status)).toEqual(['applied']);
  });

  it('leaver: the account is suspended at once and its deletion waits for the grace period', async () => {
    const p = await hire('Sales');
    await patch(p.id, { op: 'replace', path: STATUS_PATH, value: 'terminated' });
    await w.settle();
    const u = w.target(p.userName);
    expect(u).toBeDefined();
    expect(u!.active).toBe(false);
    expect(await graceRows(p.id)).toEqual([expect.objectContaining({ status: 'grace', action: 'Delete' })]);
    const steps = (await w.db.k.selectFrom('audit_events').select('action').where('object_type', 'in', ['deprovisioning', 'identity']).where('object_id', 'in', [p.id, ...(await w.db.k.selectFrom('deprovisionings').select('id').where('identity_id', '=', p.id).execute()).map((d) => d.id)]).orderBy('seq').execute()).map((e) => e.action);
    expect(steps).toEqual(expect.arrayContaining(['identity.leave', 'deprovisioning.start']));
  });

  it('re-hire within the grace period restores the account and everything it had', async () => {
    const p = await hire('Sales');
    await requestVpn(p.id);
    await patch(p.id, { op: 'replace', path: STATUS_PATH, value: 'terminated' });
    await w.settle();
    expect(w.target(p.userName)!.active).toBe(false);
    w.clock.now = new Date(w.clock.now.getTime() + 3 * 86_400_000);
    await patch(p.id, { op: 'replace', path: STATUS_PATH, value: 'active' });
    await w.settle();
    const u = w.target(p.userName)!;
    expect(u.active).toBe(true);
    expect(u.groupNames).toEqual(['Sales', 'VPN']);
    expect(await graceRows(p.id)).toEqual([expect.objectContaining({ status: 'restored' })]);
    // The grace job, had it been missed, leaves this account alone.
    w.clock.now = new Date(w.clock.now.getTime() + 30 * 86_400_000);
    const done = await w.services.lifecycle.completeGrace();
    await w.runFlows(done.flowIds);
    expect(done.plans.some((plan) => plan.identity === p.id)).toBe(false);
    expect(w.target(p.userName)?.active).toBe(true);
  });

  it('a leaver whose grace period ends has the account deleted on the target', async () => {
    const p = await hire('Engineering');
    await patch(p.id, { op: 'replace', path: STATUS_PATH, value: 'terminated' });
    await w.settle();
    const before = await w.services.lifecycle.completeGrace();
    expect(before.completed).toBe(0);
    expect(w.target(p.userName)).toBeDefined();
    w.clock.now = new Date(w.clock.now.getTime() + 7 * 86_400_000 + 1000);
    const r = await w.services.lifecycle.completeGrace();
    expect(r.completed).toBeGreaterThanOrEqual(1);
    await w.runFlows(r.flowIds);
    expect(w.target(p.userName)).toBeUndefined();
    expect(await graceRows(p.id)).toEqual([expect.objectContaining({ status: 'completed' })]);
    // A re-hire now is a new joiner: rules give back what they grant; the leave is closed.
    await patch(p.id, { op: 'replace', path: STATUS_PATH, value: 'active' });
    await w.settle();
    expect(w.target(p.userName)!.groupNames).toEqual(['Engineering']);
  });

  it('restore by an administrator during the grace period reverses a leave', async () => {
    const p = await hire('Sales');
    await patch(p.id, { op: 'replace', path: STATUS_PATH, value: 'terminated' });
    await w.settle();
    const res = await w.call('POST', `/v1.0/users/${p.id}/restore`);
    expect(res.statusCode, res.body).toBe(200);
    await w.settle();
    const pending = await w.db.k.selectFrom('action_flows').select('id').where('identity_id', '=', p.id).where('status', '=', 'pending').execute();
    await w.runFlows(pending.map((f) => f.id));
    expect(w.target(p.userName)!.active).toBe(true);
    expect(w.target(p.userName)!.groupNames).toEqual(['Sales']);
    const again = await w.call('POST', `/v1.0/users/${p.id}/restore`);
    expect(again.statusCode).toBe(409);
  });
});
