// Email scripts against a real SMTP server on loopback, and the decision links followed over
// HTTP: the page (GET never decides), the form (POST decides once), used and expired links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendApprovalRequestEmail, emailApprovalRunner, emailNotificationRunner } from '../../src/workflows/runners/email.ts';
import { testDbKinds } from '../support/db.ts';
import { freePort } from '../support/free-port.ts';
import { startSmtpServer, type SmtpTestServer } from '../support/smtp-server.ts';
import { APP, rejection, type, createRunnerFixture, recordingSink, startCallbackServer, type RunnerFixture } from './runner-fixtures.ts';


const linkIn = (text: string, which: 'approve' | 'deny'): string => {
  const m = new RegExp(`(http://\\S+/v1\\.0/decisions/[A-Za-z0-9_-]{43}\\?decision=${which})`).exec(text);
  if (!m) throw new Error(`no ${which} link in:\n${text}`);
  return m[1]!;
};

const post = (url: string, form: Record<string, string>) => fetch(url.split('?')[0]!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });

describe('email script validation', () => {
  it('names each missing or wrong field', () => {
    const p = emailNotificationRunner.validate(type('email_notification'), { to: ['bob@example.com', 'not an address'], subject: '' }, 'scripts[1].metadata', APP);
    expect(p.map((x) => x.field).sort()).toEqual(['scripts[1].metadata.subject', 'scripts[1].metadata.text', 'scripts[1].metadata.to[1]']);
    expect(emailApprovalRunner.validate(type('email_approval'), { to: '{{manager.email}}', subject: 'Access for {{identity.displayName}}', text: 'Approve?' }, 'm', APP)).toEqual([]);
    expect(emailApprovalRunner.validate(type('email_approval'), { subject: 's', text: 't', html: '<b>' }, 'm', APP).map((x) => x.field).sort()).toEqual(['m.html', 'm.to']);
  });
});

describe.each(testDbKinds())('email scripts and decision links on %s', (kind) => {
  let f: RunnerFixture;
  let smtp: SmtpTestServer;
  const sink = recordingSink();
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    smtp = await startSmtpServer({ user: 'steward', password: 'mail-pass-1' });
    f = await createRunnerFixture(kind);
    server = await startCallbackServer({ db: f.db, sink });
    f.deps.publicUrl = server.url;
    f.deps.mail = { transport: smtp.url, from: 'Steward <steward@example.com>' };
  });
  afterAll(async () => {
    await server?.close();
    await f?.close();
    await smtp?.close();
  });

  it('sends a notification with a Message-ID made from the script id, and no header injection', async () => {
    const ctx = await f.script('email_notification', { to: 'bob@example.com, carol@example.com', cc: ['it@example.com'], subject: 'Access granted\r\nBcc: evil@example.com', text: 'Bob now has Admins.' });
    const out = await f.run(emailNotificationRunner, ctx);
    expect(out.status).toBe('succeeded');
    const mail = smtp.mails().at(-1)!;
    expect(mail.to.sort()).toEqual(['bob@example.com', 'carol@example.com', 'it@example.com']);
    expect(mail.headers['message-id']).toBe(`<steward-script-${ctx.script.id}@127.0.0.1>`);
    expect(mail.headers.subject).toBe('Access granted Bcc: evil@example.com');
    expect(mail.headers.bcc).toBeUndefined();
    expect(mail.headers['auto-submitted']).toBe('auto-generated');
    expect(mail.text?.trim()).toBe('Bob now has Admins.');
    expect(out.output).toMatchObject({ messageId: mail.headers['message-id'] });
    // Resent after a crash: same Message-ID.
    await f.run(emailNotificationRunner, { ...ctx, script: { ...ctx.script, resumed: true } });
    expect(smtp.mails().at(-1)!.headers['message-id']).toBe(mail.headers['message-id']);
  });

  it('an approval mail carries links; GET shows a form and decides nothing; POST decides once', async () => {
    const ctx = await f.script('email_approval', { to: 'alice@example.com', subject: 'Approve Admins for Bob?', text: 'Bob asks for Admins.\nJustification: on call' });
    const out = await f.run(emailApprovalRunner, ctx);
    expect(out.status).toBe('waiting');
    const mail = smtp.mails().at(-1)!;
    expect(mail.to).toEqual(['alice@example.com']);
    const approve = linkIn(mail.text!, 'approve');
    expect(linkIn(mail.text!, 'deny').split('?')[0]).toBe(approve.split('?')[0]);
    expect(mail.html).toContain('Approve</a>');
    expect(mail.html).toContain('Justification: on call');

    const page = await fetch(approve);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('<form method="post"');
    expect(html).toContain('value="approve"');
    expect(html).toContain('Confirm: approve');
    // A scanner following the link twice decides nothing.
    await fetch(approve);
    expect(sink.calls).toHaveLength(0);
    const token = await f.db.k.selectFrom('decision_tokens').selectAll().where('script_id', '=', ctx.script.id).executeTakeFirstOrThrow();
    expect(token.used_at).toBeNull();

    const done = await post(approve, { decision: 'approve' });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('approved');
    expect(sink.calls).toEqual([{ kind: 'script', id: ctx.script.id, decision: 'approve', comment: null, via: 'email' }]);

    const again = await post(approve, { decision: 'deny' });
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('used already (approved');
    expect((await fetch(approve)).status).toBe(410);
    expect(sink.calls).toHaveLength(1);
  });

  it('of many clicks at once on one link, exactly one decides', async () => {
    const ctx = await f.script('email_approval', { to: 'alice@example.com', subject: 'race', text: 'race' });
    await f.run(emailApprovalRunner, ctx);
    const approve = linkIn(smtp.mails().at(-1)!.text!, 'approve');
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => post(approve, { decision: i % 2 === 0 ? 'approve' : 'deny' }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 410)).toHaveLength(7);
    expect(sink.calls.filter((c) => c.id === ctx.script.id)).toHaveLength(1);
  });

  it('an expired link is refused, on the page and on the form', async () => {
    const ctx = await f.script('email_approval', { to: 'alice@example.com', subject: 's', text: 't', expiresInHours: 1 });
    await f.run(emailApprovalRunner, ctx);
    const deny = linkIn(smtp.mails().at(-1)!.text!, 'deny');
    const row = await f.db.k.selectFrom('decision_tokens').select(['expires_at']).where('script_id', '=', ctx.script.id).executeTakeFirstOrThrow();
    expect(Math.abs(row.expires_at.getTime() - Date.now() - 3_600_000)).toBeLessThan(60_000);
    await f.db.k.updateTable('decision_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('script_id', '=', ctx.script.id).execute();
    const page = await fetch(deny);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('expired');
    expect((await post(deny, { decision: 'deny' })).status).toBe(410);
    expect(sink.calls.filter((c) => c.id === ctx.script.id)).toHaveLength(0);
  });

  it('an approval task gets the same links; the page describes the request and the comment reaches the sink', async () => {
    const beneficiary = await f.db.k.insertInto('identities').values({ user_name: `bob-${Date.now()}`, display_name: 'Bob <Builder>', data: '{}' }).returning('id').executeTakeFirstOrThrow();
    const approver = await f.db.k.insertInto('identities').values({ user_name: `alice-${Date.now()}`, display_name: 'Alice', data: '{}' }).returning('id').executeTakeFirstOrThrow();
    const request = await f.db.k
      .insertInto('access_requests')
      .values({ requested_by: 'client:test', beneficiary_id: beneficiary.id, application_id: f.appId, justification: 'needs <script>alert(1)</script> access' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const flow = await f.db.k.insertInto('approval_flows').values({ request_id: request.id, chain: JSON.stringify({}) }).returning('id').executeTakeFirstOrThrow();
    const task = await f.db.k.insertInto('approval_tasks').values({ flow_id: flow.id, step: 0, approver_id: approver.id }).returning('id').executeTakeFirstOrThrow();

    await sendApprovalRequestEmail(f.deps, { taskId: task.id, to: ['alice@example.com'], subject: 'Please decide', text: 'Bob asks for access.', expiresAt: new Date(Date.now() + 3_600_000) });
    const mail = smtp.mails().at(-1)!;
    expect(mail.headers['message-id']).toMatch(new RegExp(`^<steward-task-${task.id}-`));
    const deny = linkIn(mail.text!, 'deny');
    const html = await (await fetch(deny)).text();
    expect(html).toContain('Bob &lt;Builder&gt;');
    expect(html).toContain('needs &lt;script&gt;alert(1)&lt;/script&gt; access');
    expect(html).not.toContain('<script>');
    expect(html).toContain('name="comment"');
    expect(html).toContain('Confirm: deny');
    const r = await post(deny, { decision: 'deny', comment: '  not needed  ' });
    expect(r.status).toBe(200);
    expect(sink.calls.at(-1)).toEqual({ kind: 'task', id: task.id, decision: 'deny', comment: 'not needed', via: 'email' });
  });

  it('answers unknown, malformed and hostile requests without deciding', async () => {
    const calls = sink.calls.length;
    const unknown = `${server.url}/v1.0/decisions/${'A'.repeat(43)}`;
    expect((await fetch(unknown)).status).toBe(404);
    expect((await post(unknown, { decision: 'approve' })).status).toBe(404);
    expect((await fetch(`${server.url}/v1.0/decisions/${encodeURIComponent('../../etc')}`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1.0/decisions/${'x'.repeat(500)}`)).status).toBe(414); // longer than any token: Fastify's path parameter limit
    expect((await fetch(`${unknown}?decision=maybe`)).status).toBe(400);
    const ctx = await f.script('email_approval', { to: 'alice@example.com', subject: 's', text: 't' });
    await f.run(emailApprovalRunner, ctx);
    const approve = linkIn(smtp.mails().at(-1)!.text!, 'approve');
    expect((await post(approve, {})).status).toBe(400);
    expect((await post(approve, { decision: 'maybe' })).status).toBe(400);
    expect((await fetch(approve.split('?')[0]!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"decision":"approve"}' })).status).toBe(200);
    expect(sink.calls.length).toBe(calls + 1);
  });

  it('classifies SMTP failures: 550 permanent, 451 retried, bad credentials, nothing listening, no mail settings', async () => {
    const ctx = await f.script('email_notification', { to: 'gone@example.com', subject: 's', text: 't' });
    smtp.refuseNext(550, 'No such user here');
    const e550 = await rejection(f.run(emailNotificationRunner, ctx));
    expect([e550.kind, e550.status]).toEqual(['permanent', 550]);
    smtp.refuseNext(451, 'Try again later');
    const e451 = await rejection(f.run(emailNotificationRunner, ctx));
    expect([e451.kind, e451.status]).toEqual(['retryable', 451]);
    const badAuth = await rejection(emailNotificationRunner.run(ctx, { ...f.deps, mail: { transport: smtp.url.replace('mail-pass-1', 'wrong'), from: 's@example.com' } }));
    expect([badAuth.kind, badAuth.code]).toEqual(['permanent', 'auth_failed']);
    const port = await freePort();
    const down = await rejection(emailNotificationRunner.run(ctx, { ...f.deps, mail: { transport: `smtp://127.0.0.1:${port}`, from: 's@example.com' } }));
    expect(down.kind).toBe('retryable');
    expect((await rejection(emailNotificationRunner.run(ctx, { ...f.deps, mail: undefined }))).code).toBe('invalid_settings');
    const empty = await f.script('email_notification', { to: '', subject: 's', text: 't' });
    expect((await rejection(f.run(emailNotificationRunner, empty))).message).toContain('metadata.to');
  });
});
