// GitLab issue scripts against a loopback server following the REST API v4 Issues and Notes
// contract, with the instance and token taken from a Steward application of kind gitlab.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { gitlabIssueRunner, scriptMarker } from '../../src/workflows/runners/gitlab-issues.ts';
import type { RunnerContext } from '../../src/workflows/runners/types.ts';
import { uniqueName } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { startGitlabServer, type GitlabServer } from '../support/gitlab-server.ts';
import { APP, rejection, type, createRunnerFixture, type RunnerFixture } from './runner-fixtures.ts';


describe('GitLab issue script validation', () => {
  it('names each missing or wrong field', () => {
    expect(gitlabIssueRunner.validate(type('gitlab_issue_create'), { project: 'it/access', labels: [] }, 'scripts[2].metadata', APP).map((p) => p.field).sort()).toEqual([
      'scripts[2].metadata.application',
      'scripts[2].metadata.labels',
      'scripts[2].metadata.title',
    ]);
    expect(gitlabIssueRunner.validate(type('gitlab_issue_add_comment'), {}, 'm', APP).map((p) => p.field)).toEqual(['m.body']);
    expect(gitlabIssueRunner.validate(type('gitlab_issue_close'), { issue: 'abc', label: 'x' }, 'm', APP).map((p) => p.field).sort()).toEqual(['m.issue', 'm.label']);
    expect(gitlabIssueRunner.validate(type('gitlab_issue_close'), { issue: '{{outputs.0.iid}}' }, 'm', APP)).toEqual([]);
    expect(gitlabIssueRunner.validate(type('gitlab_issue_assign_user'), { users: '{{manager.userName}}', issue: 7 }, 'm', APP)).toEqual([]);
    expect(gitlabIssueRunner.handles(type('slack_notification'))).toBe(false);
  });
});

describe.each(testDbKinds())('GitLab issue scripts on %s', (kind) => {
  let f: RunnerFixture;
  let gl: GitlabServer;
  let appName: string;
  let projectId: number;
  const project = 'it/access-requests';

  beforeAll(async () => {
    gl = await startGitlabServer({ adminToken: 'glpat-admin-secret-1' });
    projectId = gl.seedProject(project);
    f = await createRunnerFixture(kind);
    appName = uniqueName('GitLab');
    await f.services.applications.create(SYSTEM_ACTOR, { name: appName, connectorKind: 'gitlab', settings: { baseUrl: gl.url }, secrets: { token: gl.adminToken } });
  });
  afterAll(async () => {
    await f?.close();
    await gl?.close();
  });

  const issues = () => gl.projects().find((p) => p.id === projectId)!.issues;
  const follow = async (t: string, metadata: Record<string, unknown>, created: RunnerContext, output: Record<string, unknown>, resumed = false) => {
    const ctx = await f.script(t, metadata, { outputs: { [created.script.position]: output }, resumed });
    return f.run(gitlabIssueRunner, ctx);
  };

  it('creates an issue from a template (by project path, application by name), with labels, assignees and the marker', async () => {
    const ctx = await f.script('gitlab_issue_create', { application: appName.toUpperCase(), project, title: 'Create an account for Bob', description: 'Bob needs **Admins**.', labels: 'access, onboarding', assignees: ['plain', '1'] });
    const out = await f.run(gitlabIssueRunner, ctx);
    expect(out.status).toBe('succeeded');
    const issue = issues().at(-1)!;
    expect(issue.title).toBe('Create an account for Bob');
    expect(issue.description).toBe(`Bob needs **Admins**.\n\n${scriptMarker(ctx.script.id)}`);
    expect(issue.labels).toEqual(['access', 'onboarding']);
    expect(issue.assignee_ids.sort()).toEqual([1, 2]);
    expect(out.output).toMatchObject({ gitlabIssue: true, projectId, iid: issue.iid, id: issue.id, webUrl: `${gl.url}/${project}/-/issues/${issue.iid}` });
    const post = gl.requests().filter((r) => r.method === 'POST' && r.url.includes('/issues')).at(-1)!;
    expect(post.url).toBe(`/api/v4/projects/${encodeURIComponent(project)}/issues`);
  });

  it('creates nothing twice when resumed: finds its issue by the marker', async () => {
    const ctx = await f.script('gitlab_issue_create', { application: appName, project: String(projectId), title: 'Once' });
    const first = await f.run(gitlabIssueRunner, ctx);
    const count = issues().length;
    const again = await f.run(gitlabIssueRunner, { ...ctx, script: { ...ctx.script, resumed: true } });
    expect(issues().length).toBe(count);
    expect(again.output).toMatchObject({ iid: first.output!.iid, alreadyCreated: true });
    // Resumed but never created: creates now.
    const lost = await f.script('gitlab_issue_create', { application: appName, project, title: 'Lost' }, { resumed: true });
    expect((await f.run(gitlabIssueRunner, lost)).output).not.toHaveProperty('alreadyCreated');
    expect(issues().length).toBe(count + 1);
  });

  it('later scripts work on the issue the flow created: comment, labels, assignees, close', async () => {
    const created = await f.script('gitlab_issue_create', { application: appName, project, title: 'Grant Admins', labels: ['access'] });
    const out = (await f.run(gitlabIssueRunner, created)).output!;
    const issue = issues().find((i) => i.iid === out.iid)!;

    const comment = await follow('gitlab_issue_add_comment', { body: 'Done by Steward' }, created, out);
    expect(comment.status).toBe('succeeded');
    expect(issue.notes.at(-1)!.body).toContain('Done by Steward');
    expect((await follow('gitlab_issue_add_label', { labels: ['done', 'access'] }, created, out)).output).toMatchObject({ labels: ['access', 'done'] });
    expect((await follow('gitlab_issue_remove_label', { labels: 'access' }, created, out)).output).toMatchObject({ labels: ['done'] });
    await follow('gitlab_issue_assign_user', { users: ['@plain', 'root'] }, created, out);
    expect(issue.assignee_ids.sort()).toEqual([1, 2]);
    expect((await follow('gitlab_issue_assign_user', { users: 'plain' }, created, out)).status).toBe('skipped');
    await follow('gitlab_issue_unassign_user', { users: 'plain' }, created, out);
    expect(issue.assignee_ids).toEqual([1]);
    await follow('gitlab_issue_unassign_user', { users: '1' }, created, out);
    expect(issue.assignee_ids).toEqual([]);
    expect(gl.requests().filter((r) => r.method === 'PUT').at(-1)!.body).toEqual({ assignee_ids: [0] });
    expect((await follow('gitlab_issue_close', {}, created, out)).output).toMatchObject({ state: 'closed' });
    expect(issue.state).toBe('closed');
    // Closing again is harmless.
    expect((await follow('gitlab_issue_close', {}, created, out)).status).toBe('succeeded');
  });

  it('a resumed comment pages through the notes to find its own and posts no second one', async () => {
    const created = await f.script('gitlab_issue_create', { application: appName, project, title: 'Chatty' });
    const out = (await f.run(gitlabIssueRunner, created)).output!;
    const ctx = await f.script('gitlab_issue_add_comment', { body: 'Account created' }, { outputs: { 0: out } });
    await f.run(gitlabIssueRunner, ctx);
    const issue = issues().find((i) => i.iid === out.iid)!;
    for (let i = 0; i < 150; i++) issue.notes.push({ id: 100_000 + i, body: `noise ${i}`, system: false });
    const before = gl.requests().length;
    const again = await f.run(gitlabIssueRunner, { ...ctx, script: { ...ctx.script, resumed: true } });
    expect(again.output).toMatchObject({ alreadyCommented: true });
    expect(issue.notes.filter((n) => n.body.includes('Account created'))).toHaveLength(1);
    expect(gl.requests().slice(before).filter((r) => r.url.includes('/notes')).map((r) => new URLSearchParams(r.url.split('?')[1]).get('page'))).toEqual(['1', '2']);
  });

  it('an explicit issue number, application and project override the flow’s issue', async () => {
    const ctx = await f.script('gitlab_issue_add_label', { application: appName, project, issue: '#1', labels: 'explicit' });
    await f.run(gitlabIssueRunner, ctx);
    expect(issues().find((i) => i.iid === 1)!.labels).toContain('explicit');
  });

  it('classifies failures and names the metadata at fault', async () => {
    const nf = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_create', { application: appName, project: 'no/such', title: 't' })));
    expect([nf.kind, nf.code, nf.status, nf.targetMessage]).toEqual(['permanent', 'not_found', 404, '404 Project Not Found']);
    const ctx = await f.script('gitlab_issue_create', { application: appName, project, title: 't' });
    gl.failNext(429, 1, 3);
    const rl = await rejection(f.run(gitlabIssueRunner, ctx));
    expect([rl.kind, rl.retryAfterMs]).toEqual(['rate_limited', 3000]);
    gl.failNext(503, 1);
    expect((await rejection(f.run(gitlabIssueRunner, ctx))).kind).toBe('retryable');
    const noIssue = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_close', { application: appName, project, issue: 9999 })));
    expect([noIssue.code, noIssue.targetMessage]).toEqual(['not_found', '404 Issue Not Found']);
    const orphan = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_close', {})));
    expect(orphan.message).toContain('metadata.application');
    const who = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_create', { application: appName, project, title: 't', assignees: 'nobody-here' })));
    expect([who.kind, who.message]).toEqual(['permanent', "metadata.assignees: GitLab has no user 'nobody-here'"]);
    const unknownApp = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_create', { application: 'no such app', project, title: 't' })));
    expect(unknownApp.code).toBe('invalid_settings');

    const badName = uniqueName('GitLabBadToken');
    await f.services.applications.create(SYSTEM_ACTOR, { name: badName, connectorKind: 'gitlab', settings: { baseUrl: gl.url }, secrets: { token: 'glpat-wrong-000000' } });
    const auth = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_create', { application: badName, project, title: 't' })));
    expect([auth.kind, auth.code]).toEqual(['permanent', 'auth_failed']);
    expect(auth.message).not.toContain('glpat-wrong');

    const scimName = uniqueName('Scim');
    await f.services.applications.create(SYSTEM_ACTOR, { name: scimName, connectorKind: 'scim', settings: { baseUrl: 'https://scim.example.com/v2' }, secrets: { token: 'tok-scim-123' } });
    const wrongKind = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_create', { application: scimName, project, title: 't' })));
    expect(wrongKind.message).toContain('connector kind gitlab');
    const badIssue = await rejection(f.run(gitlabIssueRunner, await f.script('gitlab_issue_close', { application: appName, project, issue: '1 OR 1=1' })));
    expect(badIssue.message).toContain('metadata.issue');
  });
});
