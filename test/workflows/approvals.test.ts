// Access requests through ApprovalChains, over the API: who is asked, in what order, what
// a decision does, and what time does (deadlines, reminders, expiry) with a controllable clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { makeApplication, makeGroup, makeIdentity } from '../api/app-fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(testDbKinds())('approvals on %s', (kind) => {
  let t: TestApp;
  let clock = Date.now();
  beforeAll(async () => {
    t = await createTestApp(kind, { workflows: () => ({ now: () => new Date(clock) }) });
  });
  afterAll(async () => t?.close());

  /** An identity with a manager, an application owned by someone else, and a requestable entitlement. */
  async function scene(extra: { steps?: unknown[]; chain?: Record<string, unknown> } = {}) {
    const grandManager = await makeIdentity(t.db);
    const manager = await makeIdentity(t.db);
    const owner = await makeIdentity(t.db);
    const beneficiary = await makeIdentity(t.db);
    await t.db.k.updateTable('identities').set({ manager_id: grandManager }).where('id', '=', manager).execute();
    await t.db.k.updateTable('identities').set({ manager_id: manager }).where('id', '=', beneficiary).execute();
    const applicationId = await makeApplication(t, { ownerId: owner });
    const ent = await t.db.k
      .insertInto('entitlements')
      .values({ application_id: applicationId, kind: 'group', native_value: `g-${Math.random()}`, name: 'Engineers', attributes: JSON.stringify({ risk: 'high' }) })
      .returning('id')
      .executeTakeFirstOrThrow();
    let chainId: string | undefined;
    if (extra.steps) {
      const res = await t.call(t.admin, 'POST', '/v1.0/approvalChains', { name: 'Two steps', applicationId, default: true, steps: extra.steps, ...extra.chain });
      expect(res.statusCode, res.body).toBe(201);
      chainId = res.json().id as string;
    }
    return { grandManager, manager, owner, beneficiary, applicationId, entitlementId: ent.id, chainId };
  }

  const twoSteps = [
    { name: 'Manager', approvers: [{ type: 'manager' }] },
    { name: 'Owner', approvers: [{ type: 'applicationOwner' }] },
  ];

  it('a two-step chain asks the manager, then the owner, and its last approval creates the assignment and its ActionFlow', async () => {
    const s = await scene({ steps: twoSteps });
    const asker = await t.tokenFor(s.beneficiary, 'manage-requests');
    const created = await t.call(asker, 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, entitlementId: s.entitlementId, justification: 'on-call rota' });
    expect(created.statusCode, created.body).toBe(201);
    const request = created.json();
    expect(request.status).toBe('pending');
    expect(request.approval.waitingOn).toEqual([s.manager]);

    const ownerToken = await t.tokenFor(s.owner, 'approve');
    expect((await t.call(ownerToken, 'GET', '/v1.0/approvals')).json().items).toHaveLength(0);

    const managerToken = await t.tokenFor(s.manager, 'approve');
    const mine = (await t.call(managerToken, 'GET', '/v1.0/approvals')).json().items as { id: string; request: { id: string } }[];
    expect(mine.map((m) => m.request.id)).toEqual([request.id]);
    const afterFirst = await t.call(managerToken, 'POST', `/v1.0/approvals/${mine[0]!.id}/decision`, { decision: 'approve', comment: 'fine' });
    expect(afterFirst.statusCode, afterFirst.body).toBe(200);
    expect(afterFirst.json().status).toBe('pending');
    expect(afterFirst.json().approval.currentStep).toBe(1);
    expect(afterFirst.json().approval.waitingOn).toEqual([s.owner]);
    expect(await t.db.k.selectFrom('assignments').select('id').where('identity_id', '=', s.beneficiary).execute()).toHaveLength(0);

    const ownerTask = (await t.call(ownerToken, 'GET', '/v1.0/approvals')).json().items[0] as { id: string };
    const done = await t.call(ownerToken, 'POST', `/v1.0/approvals/${ownerTask.id}/decision`, { decision: 'approve' });
    expect(done.json().status).toBe('approved');
    const assignment = await t.db.k.selectFrom('assignments').selectAll().where('id', '=', done.json().assignmentId as string).executeTakeFirstOrThrow();
    expect(assignment).toMatchObject({ identity_id: s.beneficiary, entitlement_id: s.entitlementId, source: 'request', status: 'pending' });
    const flows = (await t.call(t.admin, 'GET', `/v1.0/flows?assignmentId=${assignment.id}`)).json().items as { id: string; purpose: string; requestId: string }[];
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ purpose: 'provisioning', requestId: request.id });
    const audit = await t.db.k.selectFrom('audit_events').select('action').where('object_id', 'in', [mine[0]!.id, ownerTask.id, request.id]).execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['access_request.approve', 'access_request.create', 'approval.approve', 'approval.approve']);
  });

  it('a denial ends the request at once: no later step, no assignment', async () => {
    const s = await scene({ steps: twoSteps });
    const asker = await t.tokenFor(s.beneficiary, 'manage-requests');
    const request = (await t.call(asker, 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x' })).json();
    const managerToken = await t.tokenFor(s.manager, 'approve');
    const task = (await t.call(managerToken, 'GET', '/v1.0/approvals')).json().items[0] as { id: string };
    const denied = await t.call(managerToken, 'POST', `/v1.0/approvals/${task.id}/decision`, { decision: 'deny', comment: 'not needed' });
    expect(denied.json()).toMatchObject({ status: 'denied', assignmentId: null });
    expect(denied.json().approval.tasks).toHaveLength(1);
    expect(await t.db.k.selectFrom('assignments').select('id').where('identity_id', '=', s.beneficiary).execute()).toHaveLength(0);
    const again = await t.call(managerToken, 'POST', `/v1.0/approvals/${task.id}/decision`, { decision: 'approve' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('approval.flow_closed');
    expect((await t.call(t.admin, 'GET', `/v1.0/requests/${request.id}`)).json().status).toBe('denied');
  });

  it('nobody approves their own request: a manager asking for a report is skipped for the owner, and cannot decide', async () => {
    const s = await scene({ steps: [{ name: 'Manager', approvers: [{ type: 'manager' }], escalateTo: [{ type: 'applicationOwner' }] }] });
    const managerAsks = await t.tokenFor(s.manager, 'manage-requests', 'approve');
    const request = (await t.call(managerAsks, 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'for my report' })).json();
    expect(request.approval.waitingOn).toEqual([s.owner]);
    const taskId = request.approval.tasks[0].id as string;
    const self = await t.call(managerAsks, 'POST', `/v1.0/approvals/${taskId}/decision`, { decision: 'approve' });
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('approval.not_yours');
    const beneficiaryToken = await t.tokenFor(s.beneficiary, 'approve');
    expect((await t.call(beneficiaryToken, 'POST', `/v1.0/approvals/${taskId}/decision`, { decision: 'approve' })).statusCode).toBe(403);
  });

  it('a step with nobody but the requester to ask is refused with the reason', async () => {
    const lone = await makeIdentity(t.db);
    const applicationId = await makeApplication(t);
    const res = await t.call(await t.tokenFor(lone, 'manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: lone, applicationId, justification: 'x' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('access_request.no_approver');
    expect(await t.db.k.selectFrom('access_requests').select('id').where('beneficiary_id', '=', lone).execute()).toHaveLength(0);
  });

  it("an 'all' step waits for every group member; an approver can take back a decision while the flow is open", async () => {
    const a = await makeIdentity(t.db);
    const b = await makeIdentity(t.db);
    const group = await makeGroup(t.db, [a, b]);
    const s = await scene({ steps: [{ name: 'Board', approvers: [{ type: 'group', groupId: group }], rule: 'all' }, { name: 'Owner', approvers: [{ type: 'applicationOwner' }] }] });
    const request = (await t.call(await t.tokenFor(s.beneficiary, 'manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x' })).json();
    expect([...request.approval.waitingOn].sort()).toEqual([a, b].sort());
    const tokA = await t.tokenFor(a, 'approve');
    const tokB = await t.tokenFor(b, 'approve');
    const taskOf = (tok: string) => t.call(tok, 'GET', '/v1.0/approvals').then((r) => (r.json().items[0] as { id: string }).id);
    const taskA = await taskOf(tokA);
    const taskB = await taskOf(tokB);
    const one = (await t.call(tokA, 'POST', `/v1.0/approvals/${taskA}/decision`, { decision: 'approve' })).json();
    expect(one.approval.currentStep).toBe(0);
    expect(one.approval.waitingOn).toEqual([b]);
    const both = (await t.call(tokB, 'POST', `/v1.0/approvals/${taskB}/decision`, { decision: 'approve' })).json();
    expect(both.approval.currentStep).toBe(1);
    expect(both.approval.waitingOn).toEqual([s.owner]);
    const back = await t.call(tokB, 'POST', `/v1.0/approvals/${taskB}/withdraw`);
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json().approval.currentStep).toBe(0);
    expect(back.json().approval.waitingOn).toEqual([b]);
    expect(back.json().approval.tasks.find((x: { step: number }) => x.step === 1).status).toBe('cancelled');
    expect((await t.call(await t.tokenFor(s.owner, 'approve'), 'GET', '/v1.0/approvals')).json().items).toHaveLength(0);
  });

  it('a late task escalates to the late approver\'s manager after its deadline, with reminders before', async () => {
    const s = await scene({ steps: [{ name: 'Manager', approvers: [{ type: 'manager' }], deadlineHours: 48, remindEveryHours: 12 }] });
    clock = Date.now();
    const request = (await t.call(await t.tokenFor(s.beneficiary, 'manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x' })).json();
    clock += 13 * HOUR;
    const first = await t.services.workflows.approvals.sweep();
    expect(first.reminded).toBeGreaterThanOrEqual(1);
    expect(first.escalated).toBe(0);
    const task = await t.db.k.selectFrom('approval_tasks').selectAll().where('id', '=', request.approval.tasks[0].id as string).executeTakeFirstOrThrow();
    expect(task.reminders).toBe(1);
    clock += 36 * HOUR;
    const second = await t.services.workflows.approvals.sweep();
    expect(second.escalated).toBeGreaterThanOrEqual(1);
    const after = (await t.call(t.admin, 'GET', `/v1.0/requests/${request.id}`)).json();
    expect(after.approval.waitingOn).toEqual([s.grandManager]);
    expect(after.approval.tasks.map((x: { status: string }) => x.status).sort()).toEqual(['escalated', 'pending']);
    clock = Date.now();
  });

  it('time-bound access ends at the shorter of the end date and the chain limit, with notice, then a de-provisioning flow', async () => {
    const s = await scene({ steps: [], chain: { expiresAfterDays: 30, auditAfterDays: 20 } });
    clock = Date.now();
    const endDate = new Date(clock + 10 * DAY);
    const res = await t.call(await t.tokenFor(s.beneficiary, 'manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x', endDate: endDate.toISOString() });
    expect(res.json().status).toBe('approved');
    const assignmentId = res.json().assignmentId as string;
    const a = await t.db.k.selectFrom('assignments').selectAll().where('id', '=', assignmentId).executeTakeFirstOrThrow();
    expect(a.valid_until?.getTime()).toBe(endDate.getTime());
    expect(a.review_at?.getTime()).toBeCloseTo(clock + 20 * DAY, -4);
    clock += 4 * DAY;
    expect((await t.services.workflows.approvals.sweep()).expiryNotices).toBe(1);
    expect((await t.services.workflows.approvals.sweep()).expiryNotices).toBe(0);
    clock += 7 * DAY;
    const swept = await t.services.workflows.approvals.sweep();
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect((await t.db.k.selectFrom('assignments').select('status').where('id', '=', assignmentId).executeTakeFirstOrThrow()).status).toBe('expired');
    const flows = (await t.call(t.admin, 'GET', `/v1.0/flows?assignmentId=${assignmentId}`)).json().items as { purpose: string }[];
    expect(flows.map((f) => f.purpose).sort()).toEqual(['deprovisioning', 'provisioning']);
    clock = Date.now();
  });

  it('refuses bad chains and requests with the field and the reason, writing nothing', async () => {
    const s = await scene();
    const bad = await t.call(t.admin, 'POST', '/v1.0/approvalChains', {
      name: 'Bad',
      applicationId: s.applicationId,
      steps: [{ approvers: [{ type: 'boss' }], rule: 'most' }],
      condition: { 'beneficiary.shoeSize': ['42'] },
    });
    expect(bad.statusCode).toBe(400);
    const fields = (bad.json().error.problems as { field: string }[]).map((p) => p.field).sort();
    expect(fields).toEqual(['condition.beneficiary.shoeSize', 'steps[0].approvers[0].type', 'steps[0].rule']);
    expect(await t.db.k.selectFrom('approval_chains').select('id').where('application_id', '=', s.applicationId).execute()).toHaveLength(0);
    const past = await t.call(await t.tokenFor(s.beneficiary, 'manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x', endDate: '2001-01-01T00:00:00Z' });
    expect(past.statusCode).toBe(400);
    expect(past.json().error.problems[0].field).toBe('endDate');
    const machine = await t.call(await t.token('manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x' });
    expect(machine.json().error.code).toBe('access_request.requester_unknown');
  });

  it('chooses the chain whose condition holds, else the default', async () => {
    const s = await scene({ steps: [{ name: 'Manager', approvers: [{ type: 'manager' }] }] });
    const risky = await t.call(t.admin, 'POST', '/v1.0/approvalChains', {
      name: 'High risk',
      applicationId: s.applicationId,
      entitlementId: null,
      priority: 1,
      condition: { 'beneficiary.kind': ['contractor'] },
      steps: [{ name: 'Owner', approvers: [{ type: 'applicationOwner' }] }],
    });
    expect(risky.statusCode, risky.body).toBe(201);
    const asker = await t.tokenFor(s.beneficiary, 'manage-requests');
    const employee = (await t.call(asker, 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x' })).json();
    expect(employee.approval.chainName).toBe('Two steps');
    await t.call(asker, 'POST', `/v1.0/requests/${employee.id}/cancel`);
    await t.db.k.updateTable('identities').set({ kind: 'contractor' }).where('id', '=', s.beneficiary).execute();
    const contractor = (await t.call(asker, 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x' })).json();
    expect(contractor.approval.chainName).toBe('High risk');
    expect(contractor.approval.waitingOn).toEqual([s.owner]);
    const dup = await t.call(asker, 'POST', '/v1.0/requests', { beneficiaryId: s.beneficiary, applicationId: s.applicationId, justification: 'x' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('access_request.duplicate');
  });
});
