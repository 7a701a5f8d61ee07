// Slack scripts against a loopback server that follows the Web API contract, and the
// interaction callback route against signed block_actions callbacks as Slack sends them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StewardError } from '../../src/domain/errors.ts';
import { hashDecisionToken } from '../../src/workflows/decision-tokens.ts';
import { slackApprovalRunner, slackNotificationRunner } from '../../src/workflows/runners/slack.ts';
import { testDbKinds } from '../support/db.ts';
import { startSlackServer, type SlackServer } from '../support/slack-server.ts';
import { APP, rejection, type, createRunnerFixture, recordingSink, startCallbackServer, type RunnerFixture } from './runner-fixtures.ts';


async function eventually<T>(get: () => T | undefined, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Slack script validation', () => {
  it('names each missing or wrong field', () => {
    expect(slackNotificationRunner.validate(type('slack_notification'), { channel: 'C1' }, 'scripts[0].metadata', APP)).toEqual([
      expect.objectContaining({ field: 'scripts[0].metadata.text', code: 'metadata.required' }),
    ]);
    const both = slackNotificationRunner.validate(type('slack_notification'), { channel: 'C1', user: 'U1', text: 'x' }, 'm', APP);
    expect(both.map((p) => p.field)).toEqual(['m.channel']);
    const hostile = slackNotificationRunner.validate(type('slack_notification'), { channel: 5, text: '', blocks: [{ text: 'no type' }], extra: true }, 'm', APP);
    expect(hostile.map((p) => p.field).sort()).toEqual(['m.blocks[0]', 'm.channel', 'm.extra', 'm.text']);
    expect(slackApprovalRunner.validate(type('slack_approval'), { text: 'ok?', expiresInHours: 0 }, 'm', APP).map((p) => p.field).sort()).toEqual(['m.expiresInHours', 'm.user']);
    expect(slackApprovalRunner.validate(type('slack_approval'), { user: '{{identity.attributes.slackId}}', text: 'Grant {{entitlement.name}}?' }, 'm', APP)).toEqual([]);
  });
});

describe.each(testDbKinds())('Slack scripts and interactions on %s', (kind) => {
  let f: RunnerFixture;
  let slack: SlackServer;
  const sink = recordingSink();
  let server: { url: string; close(): Promise<void> };
  let target: string;

  beforeAll(async () => {
    slack = await startSlackServer();
    slack.addChannel('C0ACCESS');
    slack.addUser('U0ALICE');
    slack.addUser('U0BOB');
    f = await createRunnerFixture(kind, {});
    f.deps.slack = { apiUrl: slack.apiUrl, botToken: slack.botToken, signingSecret: slack.signingSecret };
    server = await startCallbackServer({ db: f.db, sink, slack: { signingSecret: slack.signingSecret } });
    target = `${server.url}/v1.0/slack/interactions`;
  });
  afterAll(async () => {
    await server?.close();
    await f?.close();
    await slack?.close();
  });

  it('posts a notification to a channel with the script id in its metadata, bearer-authenticated', async () => {
    const ctx = await f.script('slack_notification', { channel: 'C0ACCESS', text: 'Alice now has *Admins*', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Alice now has *Admins*' } }] });
    const out = await f.run(slackNotificationRunner, ctx);
    expect(out.status).toBe('succeeded');
    const msgs = slack.messages('C0ACCESS');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.metadata).toEqual({ event_type: 'steward_script', event_payload: { scriptId: ctx.script.id } });
    expect(msgs[0]!.blocks).toHaveLength(1);
    expect(out.output).toEqual({ channel: 'C0ACCESS', ts: msgs[0]!.ts });
  });

  it('sends to a user through the direct-message conversation', async () => {
    const ctx = await f.script('slack_notification', { user: 'U0ALICE', text: 'Your access is ready' });
    const out = await f.run(slackNotificationRunner, ctx);
    expect(slack.calls('conversations.open').at(-1)!.params.users).toBe('U0ALICE');
    expect(out.output?.channel).toBe('D0ALICE');
    expect(slack.messages('D0ALICE').map((m) => m.text)).toEqual(['Your access is ready']);
  });

  it('posts nothing twice when resumed: finds its earlier message through paged history with metadata', async () => {
    const ctx = await f.script('slack_notification', { channel: 'C0ACCESS', text: 'once only' });
    await f.run(slackNotificationRunner, ctx);
    slack.seedHistory('C0ACCESS', 450); // newer messages push it to the third page of 200
    const before = slack.messages('C0ACCESS').length;
    const historyCalls = slack.calls('conversations.history').length;
    const again = await f.run(slackNotificationRunner, { ...ctx, script: { ...ctx.script, resumed: true, attempt: 2 } });
    expect(again.output).toMatchObject({ alreadyPosted: true });
    expect(slack.messages('C0ACCESS').length).toBe(before);
    const calls = slack.calls('conversations.history').slice(historyCalls);
    expect(calls).toHaveLength(3);
    expect(calls[0]!.params.include_all_metadata).toBe('true');
    expect(calls[1]!.params.cursor).toBeTruthy();
    // A resumed script whose post never happened posts now.
    const lost = await f.script('slack_notification', { channel: 'C0ACCESS', text: 'lost before posting' }, { resumed: true });
    expect((await f.run(slackNotificationRunner, lost)).output).not.toHaveProperty('alreadyPosted');
    expect(slack.messages('C0ACCESS').at(-1)!.text).toBe('lost before posting');
  });

  it('classifies Slack errors: ok:false bodies, 429 with Retry-After, 5xx, bad tokens', async () => {
    const ctx = await f.script('slack_notification', { channel: 'C0NOWHERE', text: 'x' });
    const nf = await rejection(f.run(slackNotificationRunner, ctx));
    expect([nf.kind, nf.code, nf.message]).toEqual(['permanent', 'not_found', 'Slack chat.postMessage: channel_not_found']);

    const ok = await f.script('slack_notification', { channel: 'C0ACCESS', text: 'x' });
    slack.failNext({ status: 429, retryAfter: 7 });
    const rl = await rejection(f.run(slackNotificationRunner, ok));
    expect([rl.kind, rl.retryAfterMs, rl.status]).toEqual(['rate_limited', 7000, 429]);
    slack.failNext({ status: 503 });
    expect((await rejection(f.run(slackNotificationRunner, ok))).kind).toBe('retryable');
    slack.failNext({ error: 'internal_error' });
    expect((await rejection(f.run(slackNotificationRunner, ok))).kind).toBe('retryable');
    slack.failNext({ error: 'missing_scope' });
    expect((await rejection(f.run(slackNotificationRunner, ok))).code).toBe('forbidden');

    const bad = await rejection(slackNotificationRunner.run(ok, { ...f.deps, slack: { ...f.deps.slack!, botToken: 'xoxb-wrong' } }));
    expect([bad.kind, bad.code]).toEqual(['permanent', 'auth_failed']);
    const none = await rejection(slackNotificationRunner.run(ok, { ...f.deps, slack: undefined }));
    expect(none.code).toBe('invalid_settings');
    const unknownUser = await rejection(f.run(slackNotificationRunner, await f.script('slack_notification', { user: 'U0NOBODY', text: 'x' })));
    expect(unknownUser.code).toBe('not_found');
  });

  it('an approval prompt waits; Approve pressed by its user resumes the script through the sink', async () => {
    const ctx = await f.script('slack_approval', { user: 'U0ALICE', text: 'Give Bob *Admins*?' });
    const out = await f.run(slackApprovalRunner, ctx);
    expect(out.status).toBe('waiting');
    const msg = slack.messages('D0ALICE').at(-1)!;
    expect(msg.metadata?.event_payload).toEqual({ scriptId: ctx.script.id });
    const actions = msg.blocks!.find((b) => b.type === 'actions') as { elements: { action_id: string; value: string; style: string }[] };
    expect(actions.elements.map((e) => [e.action_id, e.style])).toEqual([
      ['steward_approve', 'primary'],
      ['steward_deny', 'danger'],
    ]);
    const token = actions.elements[0]!.value.split(':')[0]!;
    const row = await f.db.k.selectFrom('decision_tokens').selectAll().where('token_hash', '=', hashDecisionToken(token)).executeTakeFirstOrThrow();
    expect([row.channel, row.script_id, row.task_id, row.used_at]).toEqual(['slack', ctx.script.id, null, null]);
    expect(row.expires_at.getTime() - Date.now()).toBeGreaterThan(7 * 24 * 3600_000 - 60_000);

    const res = await slack.click(target, msg, 'steward_approve', 'U0ALICE');
    expect(res.status).toBe(200);
    expect(sink.calls.at(-1)).toEqual({ kind: 'script', id: ctx.script.id, decision: 'approve', comment: null, via: 'slack:U0ALICE' });
    const reply = await eventually(() => slack.responses().find((r) => String(r.text).includes('Approved by <@U0ALICE>')));
    expect(reply.replace_original).toBe(true);

    // The same button again (a new, validly signed request) changes nothing.
    const calls = sink.calls.length;
    expect((await slack.click(target, msg, 'steward_deny', 'U0ALICE')).status).toBe(200);
    expect(sink.calls.length).toBe(calls);
    await eventually(() => slack.responses().find((r) => String(r.text).includes('decided already (approved)')));
  });

  it('Deny passes deny; a click by someone else decides nothing', async () => {
    const ctx = await f.script('slack_approval', { user: 'U0ALICE', text: 'Remove Bob?', approveLabel: 'Yes', denyLabel: 'No' });
    await f.run(slackApprovalRunner, ctx);
    const msg = slack.messages('D0ALICE').at(-1)!;
    const calls = sink.calls.length;
    expect((await slack.click(target, msg, 'steward_approve', 'U0BOB')).status).toBe(200);
    expect(sink.calls.length).toBe(calls);
    await eventually(() => slack.responses().find((r) => r.response_type === 'ephemeral' && String(r.text).includes('<@U0ALICE>')));
    await slack.click(target, msg, 'steward_deny', 'U0ALICE');
    expect(sink.calls.at(-1)).toMatchObject({ id: ctx.script.id, decision: 'deny', via: 'slack:U0ALICE' });
  });

  it('a resumed approval finds its prompt and posts no second one', async () => {
    const ctx = await f.script('slack_approval', { user: 'U0BOB', text: 'Approve?' });
    await f.run(slackApprovalRunner, ctx);
    const n = slack.messages('D0BOB').length;
    const tokens = await f.db.k.selectFrom('decision_tokens').select('id').where('script_id', '=', ctx.script.id).execute();
    const again = await f.run(slackApprovalRunner, { ...ctx, script: { ...ctx.script, resumed: true } });
    expect(again).toMatchObject({ status: 'waiting', output: { alreadyPosted: true } });
    expect(slack.messages('D0BOB').length).toBe(n);
    expect(await f.db.k.selectFrom('decision_tokens').select('id').where('script_id', '=', ctx.script.id).execute()).toHaveLength(tokens.length);
  });

  it('refuses callbacks with a bad signature, an old timestamp, a replay, or no headers', async () => {
    const ctx = await f.script('slack_approval', { user: 'U0ALICE', text: 'Signed?' });
    await f.run(slackApprovalRunner, ctx);
    const msg = slack.messages('D0ALICE').at(-1)!;
    const calls = sink.calls.length;
    const expect401 = async (r: Response, words: string) => {
      expect(r.status).toBe(401);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('slack.unauthorized');
      expect(body.error.message).toContain(words);
    };
    await expect401(await slack.click(target, msg, 'steward_approve', 'U0ALICE', { secret: 'not-the-secret' }), 'does not match');
    await expect401(await slack.click(target, msg, 'steward_approve', 'U0ALICE', { timestamp: Math.floor(Date.now() / 1000) - 301 }), 'away from');
    await expect401(await slack.click(target, msg, 'steward_approve', 'U0ALICE', { unsigned: true }), 'required');
    await expect401(await slack.click(target, msg, 'steward_approve', 'U0ALICE', { signature: 'v1=abc' }), 'v0=');
    await expect401(await slack.sendSigned(target, 'payload=%7B%7D', { timestamp: Number.NaN }), 'seconds');
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U0ALICE' }, actions: [] }))}`;
    const ts = Math.floor(Date.now() / 1000);
    const first = await slack.sendSigned(target, body, { timestamp: ts });
    expect(first.status).toBe(200);
    await expect401(await slack.sendSigned(target, body, { timestamp: ts }), 'replay');
    expect(sink.calls.length).toBe(calls);
    // JSON instead of a form: no raw form body to verify.
    const json = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([401, 415]).toContain(json.status);
  });

  it('answers hostile payloads without deciding anything', async () => {
    const calls = sink.calls.length;
    expect((await slack.sendSigned(target, 'payload=not%20json')).status).toBe(400);
    expect((await slack.sendSigned(target, 'nothing=here')).status).toBe(400);
    expect((await slack.sendSigned(target, `payload=${encodeURIComponent('{"type":"view_submission"}')}`)).status).toBe(200);
    expect((await slack.sendSigned(target, `payload=${encodeURIComponent('null')}`)).status).toBe(200);
    const forged = { type: 'block_actions', user: { id: 'U0ALICE' }, response_url: 'http://127.0.0.1:9/x', actions: [{ action_id: 'steward_approve', value: 'not-a-token:U0ALICE' }, { action_id: 5 }] };
    expect((await slack.sendSigned(target, `payload=${encodeURIComponent(JSON.stringify(forged))}`)).status).toBe(200);
    expect(sink.calls.length).toBe(calls);
  });

  it('a decision the sink refuses leaves the token used; a transient failure gives it back', async () => {
    const ctx = await f.script('slack_approval', { user: 'U0ALICE', text: 'Refused?' });
    await f.run(slackApprovalRunner, ctx);
    const msg = slack.messages('D0ALICE').at(-1)!;
    sink.failWith = new Error('database went away');
    expect((await slack.click(target, msg, 'steward_approve', 'U0ALICE')).status).toBe(500);
    sink.failWith = new StewardError('flow.not_waiting', 'script is cancelled, not waiting for a decision');
    expect((await slack.click(target, msg, 'steward_approve', 'U0ALICE')).status).toBe(200);
    await eventually(() => slack.responses().find((r) => String(r.text).includes('could not record the decision: script is cancelled')));
    sink.failWith = undefined;
    const calls = sink.calls.length;
    await slack.click(target, msg, 'steward_approve', 'U0ALICE');
    expect(sink.calls.length).toBe(calls);
  });
});
