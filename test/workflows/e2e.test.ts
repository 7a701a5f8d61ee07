// End to end: a request goes through a two-step approval, and the ActionFlow that follows
// creates the user in a real SCIM server, adds it to a group, posts to Slack and sends an
// email, with the job queue and its workers running as in `steward serve`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.ts';
import { ALL_RUNNERS } from '../../src/workflows/runners/all.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';
import { startSlackServer, type SlackServer } from '../support/slack-server.ts';
import { startSmtpServer, type SmtpTestServer } from '../support/smtp-server.ts';
import { makeIdentity } from '../api/app-fixtures.ts';
import { until } from '../support/until.ts';

describe.each(testDbKinds())('request to provisioning, end to end on %s', (kind) => {
  let t: TestApp;
  let queue: JobQueue;
  let scim: ScimServer;
  let slack: SlackServer;
  let smtp: SmtpTestServer;
  let applicationId: string;
  let groupEntitlement: string;
  let scimGroupId: string;

  beforeAll(async () => {
    scim = await startScimServer({ token: 'e2e-scim-token-0123456789' });
    slack = await startSlackServer();
    slack.addChannel('C0ACCESS');
    smtp = await startSmtpServer();
    t = await createTestApp(kind, {
      workflows: (db) => {
        queue = createJobQueue({ db });
        return {
          queue,
          runners: ALL_RUNNERS,
          publicUrl: 'http://steward.test',
          mail: { transport: smtp.url, from: 'Steward <steward@example.org>' },
          slack: { apiUrl: slack.apiUrl, botToken: slack.botToken, signingSecret: slack.signingSecret },
          retry: { baseDelayMs: 100, maxDelayMs: 2_000, maxAttempts: 6 },
        };
      },
    });
    await queue.start();
    await t.services.workflows.work({ concurrency: 4 });

    const owner = await makeIdentity(t.db);
    const app = await t.call(t.admin, 'POST', '/v1.0/applications', {
      name: `scim-e2e-${kind}`,
      connectorKind: 'scim',
      settings: { baseUrl: scim.url, retries: 0 },
      secrets: { token: scim.token },
      ownerId: owner,
      accountSchema: {
        attributes: [
          { name: 'userName', type: 'string', multiValued: false, required: true },
          { name: 'name.givenName', type: 'string', multiValued: false },
          { name: 'name.familyName', type: 'string', multiValued: false },
          { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
        ],
      },
      attributeMappings: [
        { accountAttribute: 'userName', identityAttribute: 'userName' },
        { accountAttribute: 'name.givenName', identityAttribute: 'name.givenName' },
        { accountAttribute: 'name.familyName', identityAttribute: 'name.familyName' },
      ],
    });
    expect(app.statusCode, app.body).toBe(201);
    applicationId = app.json().id as string;
    scimGroupId = scim.seedGroup('Engineers').id;
    groupEntitlement = (
      await t.db.k.insertInto('entitlements').values({ application_id: applicationId, kind: 'group', native_value: scimGroupId, name: 'Engineers', attributes: '{}' }).returning('id').executeTakeFirstOrThrow()
    ).id;
    const chain = await t.call(t.admin, 'PUT', `/v1.0/applications/${applicationId}/actionChains/provisioning`, {
      entitlementId: groupEntitlement,
      scripts: [
        { type: 'scim_api_create_user', metadata: {} },
        { type: 'scim_api_add_user_to_group', metadata: {} },
        { type: 'slack_notification', metadata: { channel: 'C0ACCESS', text: '{{identity.userName}} now has {{entitlement.name}} in {{application.name}}' } },
        { type: 'email_notification', metadata: { to: '{{identity.email}}', subject: 'Access granted: {{entitlement.name}}', text: 'Reason given: {{request.justification}}' } },
      ],
    });
    expect(chain.statusCode, chain.body).toBe(200);
    const approvals = await t.call(t.admin, 'POST', '/v1.0/approvalChains', {
      name: 'Manager then owner',
      applicationId,
      default: true,
      steps: [
        { name: 'Manager', approvers: [{ type: 'manager' }] },
        { name: 'Owner', approvers: [{ type: 'applicationOwner' }] },
      ],
    });
    expect(approvals.statusCode, approvals.body).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await queue?.stop();
    await t?.close();
    await Promise.all([scim?.close(), slack?.close(), smtp?.close()]);
  });

  async function hire(name: string) {
    const manager = await makeIdentity(t.db);
    const id = await makeIdentity(t.db, `${name}@example.org`);
    await t.db.k.updateTable('identities').set({ manager_id: manager, user_name: name, given_name: 'Grace', family_name: name, email: `${name}@example.org` }).where('id', '=', id).execute();
    return { id, manager };
  }

  async function approveAll(requestId: string) {
    for (let step = 0; step < 2; step++) {
      const r = (await t.call(t.admin, 'GET', `/v1.0/requests/${requestId}`)).json();
      const task = (r.approval.tasks as { id: string; status: string }[]).find((x) => x.status === 'pending')!;
      const res = await t.call(await t.tokenFor((r.approval.waitingOn as string[])[0]!, 'approve'), 'POST', `/v1.0/approvals/${task.id}/decision`, { decision: 'approve' });
      expect(res.statusCode, res.body).toBe(200);
    }
  }

  const flowOf = (requestId: string) =>
    until(`the flow of ${requestId} to end`, async () => {
      const items = (await t.call(t.admin, 'GET', `/v1.0/flows?requestId=${requestId}`)).json().items as { id: string; status: string }[];
      const f = items[0];
      if (!f || !['succeeded', 'failed', 'cancelled'].includes(f.status)) return undefined;
      return (await t.call(t.admin, 'GET', `/v1.0/flows/${f.id}`)).json<{ status: string; scripts: { type: string; status: string; attempts: number; lastError: { kind: string; retryAfterMs?: number } | null }[] }>();
    });

  it('approved: the user exists in the SCIM server, in the group, and Slack and email were sent', async () => {
    const who = await hire(`grace-${kind}`);
    const asker = await t.tokenFor(who.id, 'manage-requests');
    const req = await t.call(asker, 'POST', '/v1.0/requests', { beneficiaryId: who.id, applicationId, entitlementId: groupEntitlement, justification: 'joins the platform team' });
    expect(req.statusCode, req.body).toBe(201);
    await approveAll(req.json().id as string);
    const flow = await flowOf(req.json().id as string);
    expect(flow.scripts.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(flow.status).toBe('succeeded');
    const user = scim.user(`grace-${kind}`);
    expect(user).toBeDefined();
    expect(scim.groups().find((g) => g.id === scimGroupId)!.members?.map((m) => m.value)).toContain(user!.id);
    expect(slack.messages('C0ACCESS').map((m) => m.text)).toContain(`grace-${kind} now has Engineers in scim-e2e-${kind}`);
    const mail = await until('the email', async () => smtp.mails().find((m) => m.to.includes(`grace-${kind}@example.org`)));
    expect(mail.headers.subject).toBe('Access granted: Engineers');
    expect(mail.text).toContain('joins the platform team');
    const assignment = await t.db.k.selectFrom('assignments').selectAll().where('identity_id', '=', who.id).executeTakeFirstOrThrow();
    expect(assignment.status).toBe('active');
  }, 120_000);

  it('denied: nothing is created anywhere', async () => {
    const who = await hire(`denied-${kind}`);
    const req = (await t.call(await t.tokenFor(who.id, 'manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: who.id, applicationId, entitlementId: groupEntitlement, justification: 'x' })).json();
    const task = req.approval.tasks[0] as { id: string };
    const res = await t.call(await t.tokenFor(who.manager, 'approve'), 'POST', `/v1.0/approvals/${task.id}/decision`, { decision: 'deny' });
    expect(res.json().status).toBe('denied');
    await new Promise((r) => setTimeout(r, 1500));
    expect(scim.user(`denied-${kind}`)).toBeUndefined();
    expect((await t.call(t.admin, 'GET', `/v1.0/flows?requestId=${req.id as string}`)).json().items).toHaveLength(0);
  }, 60_000);

  it('a plan carried out by POST /v1.0/plans/execute runs one ActionFlow per AccountRequest; an invalid plan makes none', async () => {
    const who = await hire(`planned-${kind}`);
    const bad = await t.call(t.admin, 'POST', '/v1.0/plans/execute', { identity: `planned-${kind}`, accountRequests: [{ application: `scim-e2e-${kind}`, op: 'Create', attributeRequests: [{ name: 'shoeSize', op: 'Set', value: '42' }] }] });
    expect(bad.statusCode).toBe(422);
    expect((await t.call(t.admin, 'GET', `/v1.0/flows?identityId=${who.id}`)).json().items).toHaveLength(0);
    const res = await t.call(t.admin, 'POST', '/v1.0/plans/execute', {
      identity: `planned-${kind}`,
      accountRequests: [
        { application: `scim-e2e-${kind}`, op: 'Create', attributeRequests: [{ name: 'userName', op: 'Set', value: `planned-${kind}` }, { name: 'name.familyName', op: 'Set', value: 'Planned' }] },
        { application: 'Steward', nativeIdentity: `planned-${kind}`, op: 'Modify', attributeRequests: [{ name: 'assignedRoles', op: 'Add', value: 'Auditor' }] },
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    const out = res.json<{ flowIds: string[]; skipped: { index: number }[] }>();
    expect(out.flowIds).toHaveLength(1);
    expect(out.skipped.map((x) => x.index)).toEqual([1]);
    const flow = await until('the plan flow to end', async () => {
      const f = (await t.call(t.admin, 'GET', `/v1.0/flows/${out.flowIds[0]!}`)).json<{ status: string; purpose: string; scripts: { type: string; status: string }[] }>();
      return ['succeeded', 'failed'].includes(f.status) ? f : undefined;
    });
    expect(flow).toMatchObject({ status: 'succeeded', purpose: 'plan', scripts: [{ type: 'scim_api_create_user', status: 'succeeded' }] });
    expect((scim.user(`planned-${kind}`)?.name as { familyName?: string } | undefined)?.familyName).toBe('Planned');
  }, 120_000);

  it('a target answering 503 and then 429 with Retry-After is retried until it recovers', async () => {
    const who = await hire(`flaky-${kind}`);
    const req = (await t.call(await t.tokenFor(who.id, 'manage-requests'), 'POST', '/v1.0/requests', { beneficiaryId: who.id, applicationId, entitlementId: groupEntitlement, justification: 'x' })).json();
    // The last approval enqueues the flow; the target then fails the first calls it gets.
    const r = (await t.call(t.admin, 'GET', `/v1.0/requests/${req.id as string}`)).json();
    const first = r.approval.tasks[0] as { id: string };
    await t.call(await t.tokenFor(who.manager, 'approve'), 'POST', `/v1.0/approvals/${first.id}/decision`, { decision: 'approve' });
    scim.failNext(503, 2);
    scim.failNext(429, 1, 1);
    const r2 = (await t.call(t.admin, 'GET', `/v1.0/requests/${req.id as string}`)).json();
    const second = (r2.approval.tasks as { id: string; status: string }[]).find((x) => x.status === 'pending')!;
    await t.call(await t.tokenFor((r2.approval.waitingOn as string[])[0]!, 'approve'), 'POST', `/v1.0/approvals/${second.id}/decision`, { decision: 'approve' });
    const flow = await flowOf(req.id as string);
    expect(flow.status).toBe('succeeded');
    const create = flow.scripts[0]!;
    expect(create.attempts).toBeGreaterThanOrEqual(2);
    expect(flow.scripts.reduce((n, s) => n + s.attempts, 0)).toBeGreaterThanOrEqual(flow.scripts.length + 3);
    expect(scim.user(`flaky-${kind}`)).toBeDefined();
    expect(scim.users().filter((u) => u.userName === `flaky-${kind}`)).toHaveLength(1);
  }, 120_000);
});
