/**
 * The `gitlab_issue_*` scripts: open an issue from a template (a task for a person where no
 * API can do the work), comment on it, label and unlabel it, assign and unassign people,
 * and close it once the work is done. They call GitLab's REST API v4 (Issues and Notes)
 * with the instance and token of a Steward application of connector kind `gitlab`, named
 * in `metadata.application` (metadata is not encrypted; the token stays in the
 * application's secrets).
 *
 * Scripts after a `gitlab_issue_create` in the same flow need no `application`, `project`
 * or `issue`: they take the latest created issue from the flow's outputs.
 *
 * Each call is safe to repeat after a crash: a created issue carries
 * `<!-- steward-script:{scriptId} -->` in its description and a comment carries the same in
 * its body, and a resumed script looks for it before making another; labels, assignees and
 * closing are set-based (PUT add_labels, the full assignee_ids list, state_event=close).
 */
import { ConnectorError, maxConcurrencyOf, parseRetryAfter, type ConnectorErrorCode } from '../../connectors/index.ts';
import type { Problem } from '../../domain/result.ts';
import type { FixedScriptType } from '../script-types.ts';
import { badMetadata, checkFields, listOf, needText, optText, type FieldSpec } from './metadata.ts';
import type { ApplicationConfig, RunnerContext, RunnerDeps, ScriptOutcome, ScriptRunner } from './types.ts';

type IssueType = Extract<FixedScriptType, `gitlab_issue_${string}`>;

const TIMEOUT_MS = 30_000;
const PER_PAGE = 100;
const MAX_PAGES = 20;

const TARGET: Record<string, FieldSpec> = {
  application: { kind: 'id', about: 'the name or id of a Steward application of connector kind gitlab; optional after a gitlab_issue_create in the same flow' },
  project: { kind: 'id', about: 'a project id, or its path such as it/access-requests' },
  issue: { kind: 'id', about: 'the issue number (iid) in the project; by default the issue the flow created last' },
};

const FIELDS: Record<IssueType, Record<string, FieldSpec>> = {
  gitlab_issue_create: {
    application: { kind: 'id', required: true, about: 'the name or id of a Steward application of connector kind gitlab' },
    project: { kind: 'id', required: true, about: 'a project id, or its path such as it/access-requests' },
    title: { kind: 'string', required: true },
    description: { kind: 'string' },
    labels: { kind: 'list' },
    assignees: { kind: 'list', about: 'usernames or user ids' },
  },
  gitlab_issue_add_comment: { ...TARGET, body: { kind: 'string', required: true, about: 'the comment, in GitLab Markdown' } },
  gitlab_issue_add_label: { ...TARGET, labels: { kind: 'list', required: true } },
  gitlab_issue_remove_label: { ...TARGET, labels: { kind: 'list', required: true } },
  gitlab_issue_close: { ...TARGET },
  gitlab_issue_assign_user: { ...TARGET, users: { kind: 'list', required: true, about: 'usernames or user ids' } },
  gitlab_issue_unassign_user: { ...TARGET, users: { kind: 'list', required: true, about: 'usernames or user ids' } },
};

/** The marker a script leaves in what it creates, to find it again after a crash. */
export const scriptMarker = (scriptId: string): string => `<!-- steward-script:${scriptId} -->`;

interface Issue {
  id: number;
  iid: number;
  project_id: number;
  description?: string | null;
  web_url?: string;
  state?: string;
  labels?: string[];
  assignees?: { id: number; username?: string }[];
}

/** The output of a gitlab_issue_create, read by the scripts after it. */
export type CreatedIssueOutput = {
  gitlabIssue: true;
  applicationId: string;
  projectId: number;
  iid: number;
  id: number;
  webUrl: string | null;
};

function gitlabErrorText(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return typeof body === 'string' && body.trim() !== '' ? body.trim().slice(0, 300) : undefined;
  const b = body as { message?: unknown; error?: unknown };
  if (typeof b.message === 'string') return b.message;
  if (b.message !== null && typeof b.message === 'object') return Object.entries(b.message as Record<string, unknown>).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : JSON.stringify(v)}`).join('; ');
  return typeof b.error === 'string' ? b.error : undefined;
}

function statusError(method: string, path: string, status: number, body: unknown, retryAfter: string | null): ConnectorError {
  const text = gitlabErrorText(body);
  const message = `GitLab ${method} ${path} → ${status}${text ? `: ${text}` : ''}`;
  const opts = { status, ...(text ? { targetMessage: text } : {}) };
  if (status === 429) {
    const ms = parseRetryAfter(retryAfter);
    return new ConnectorError('rate_limited', 'rate_limited', message, { ...opts, ...(ms === undefined ? {} : { retryAfterMs: ms }) });
  }
  if (status >= 500 || status === 408) return new ConnectorError('retryable', status === 408 ? 'timeout' : 'unavailable', message, opts);
  const code: ConnectorErrorCode = status === 401 ? 'auth_failed' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'target_error';
  return new ConnectorError('permanent', code, message, opts);
}

interface GitlabClient {
  call<T>(method: 'GET' | 'POST' | 'PUT', path: string, init?: { json?: Record<string, unknown>; query?: Record<string, string> }): Promise<{ body: T; nextPage: string | null }>;
}

function gitlabClient(app: ApplicationConfig, doFetch: typeof fetch): GitlabClient {
  const base = typeof app.settings.baseUrl === 'string' ? app.settings.baseUrl.replace(/\/+$/, '') : '';
  const token = app.secrets.token;
  if (!/^https?:\/\//.test(base) || !token) throw new ConnectorError('permanent', 'invalid_settings', `application '${app.name}' has no baseUrl setting or no token secret`);
  return {
    async call(method, path, init = {}) {
      const url = new URL(`${base}/api/v4${path}`);
      for (const [k, v] of Object.entries(init.query ?? {})) url.searchParams.set(k, v);
      let res: Response;
      try {
        res = await doFetch(url, {
          method,
          headers: { 'private-token': token, accept: 'application/json', ...(init.json ? { 'content-type': 'application/json' } : {}) },
          ...(init.json ? { body: JSON.stringify(init.json) } : {}),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (e) {
        const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
        throw new ConnectorError('retryable', timeout ? 'timeout' : 'unreachable', `GitLab ${method} ${path}: ${timeout ? `no answer within ${TIMEOUT_MS} ms` : `could not connect to ${url.origin}`}`, { cause: e });
      }
      const text = await res.text().catch(() => '');
      let body: unknown;
      try {
        body = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch {
        body = text;
      }
      if (res.status >= 400) throw statusError(method, path, res.status, body, res.headers.get('retry-after'));
      const next = res.headers.get('x-next-page');
      return { body: body as never, nextPage: next === null || next === '' ? null : next };
    },
  };
}

const projectPath = (project: string): string => `/projects/${encodeURIComponent(project)}`;

/** The latest issue a gitlab_issue_create of this flow made, from the outputs so far. */
function createdIssue(outputs: RunnerContext['outputs']): CreatedIssueOutput | undefined {
  const positions = Object.keys(outputs).map(Number).sort((a, b) => b - a);
  for (const p of positions) {
    const o = outputs[p];
    if (o && o.gitlabIssue === true && typeof o.iid === 'number' && typeof o.projectId === 'number') return o as unknown as CreatedIssueOutput;
  }
  return undefined;
}

interface Target {
  app: ApplicationConfig;
  client: GitlabClient;
  project: string;
  iid: number;
}

async function appOf(deps: RunnerDeps, ref: string): Promise<ApplicationConfig> {
  if (!deps.applicationConfig) throw new ConnectorError('permanent', 'invalid_settings', 'this process cannot read application settings (RunnerDeps.applicationConfig is not wired)');
  const app = await deps.applicationConfig(ref);
  if (app.connectorKind !== 'gitlab') throw badMetadata('application', `'${app.name}' is a ${app.connectorKind} application; GitLab issue scripts need one of connector kind gitlab`);
  return app;
}

async function targetOf(ctx: RunnerContext, deps: RunnerDeps): Promise<Target> {
  const m = ctx.script.metadata;
  const created = createdIssue(ctx.outputs);
  const appRef = optText(m, 'application') ?? created?.applicationId;
  if (appRef === undefined) throw badMetadata('application', 'is required when no gitlab_issue_create ran earlier in this flow');
  const app = await appOf(deps, appRef);
  const project = optText(m, 'project') ?? (created && created.applicationId === app.id ? String(created.projectId) : undefined);
  if (project === undefined) throw badMetadata('project', 'is required when no gitlab_issue_create of this application ran earlier in this flow');
  const issueText = optText(m, 'issue');
  let iid: number;
  if (issueText !== undefined) {
    const t = issueText.replace(/^#/, '');
    if (!/^\d{1,10}$/.test(t)) throw badMetadata('issue', `'${issueText}' is not an issue number`);
    iid = Number(t);
  } else if (created) iid = created.iid;
  else throw badMetadata('issue', 'is required when no gitlab_issue_create ran earlier in this flow');
  return { app, client: gitlabClient(app, deps.fetch), project, iid };
}

/** Runs `fn` under the application's limit on concurrent calls, like its connector's calls. */
const limited = <T>(deps: RunnerDeps, app: ApplicationConfig, fn: () => Promise<T>): Promise<T> => deps.limiter.run(app.id, fn, maxConcurrencyOf(app.settings));

/** Pages through a listing until `match` finds an item. */
async function findPaged<T>(client: GitlabClient, path: string, query: Record<string, string>, match: (item: T) => boolean): Promise<T | undefined> {
  let page = '1';
  for (let i = 0; i < MAX_PAGES; i++) {
    const r = await client.call<T[]>('GET', path, { query: { ...query, page, per_page: String(PER_PAGE) } });
    const found = (Array.isArray(r.body) ? r.body : []).find(match);
    if (found) return found;
    if (r.nextPage === null) return undefined;
    page = r.nextPage;
  }
  return undefined;
}

/** User ids from usernames or ids; an unknown username is a permanent error naming it. */
async function userIds(client: GitlabClient, refs: string[], field: string): Promise<number[]> {
  const ids: number[] = [];
  for (const ref of refs) {
    const r = ref.replace(/^@/, '');
    if (/^\d+$/.test(r)) {
      ids.push(Number(r));
      continue;
    }
    const found = await client.call<{ id: number; username: string }[]>('GET', '/users', { query: { username: r } });
    const user = Array.isArray(found.body) ? found.body.find((u) => u.username.toLowerCase() === r.toLowerCase()) : undefined;
    if (!user) throw badMetadata(field, `GitLab has no user '${r}'`);
    ids.push(user.id);
  }
  return ids;
}

const issueOutput = (app: ApplicationConfig, i: Issue): CreatedIssueOutput => ({ gitlabIssue: true, applicationId: app.id, projectId: i.project_id, iid: i.iid, id: i.id, webUrl: i.web_url ?? null });

async function createIssue(ctx: RunnerContext, deps: RunnerDeps): Promise<ScriptOutcome> {
  const m = ctx.script.metadata;
  const app = await appOf(deps, needText(m, 'application'));
  const client = gitlabClient(app, deps.fetch);
  const project = needText(m, 'project');
  const marker = scriptMarker(ctx.script.id);
  return limited(deps, app, async () => {
    if (ctx.script.resumed) {
      const found = await findPaged<Issue>(client, `${projectPath(project)}/issues`, { search: `steward-script:${ctx.script.id}`, in: 'description', state: 'all' }, (i) => (i.description ?? '').includes(marker));
      if (found) return { status: 'succeeded' as const, output: { ...issueOutput(app, found), alreadyCreated: true } };
    }
    const description = optText(m, 'description') ?? '';
    const labels = listOf(m, 'labels');
    const assignees = await userIds(client, listOf(m, 'assignees'), 'assignees');
    const r = await client.call<Issue>('POST', `${projectPath(project)}/issues`, {
      json: {
        title: needText(m, 'title').slice(0, 255),
        description: `${description}${description === '' ? '' : '\n\n'}${marker}`,
        ...(labels.length > 0 ? { labels: labels.join(',') } : {}),
        ...(assignees.length > 0 ? { assignee_ids: assignees } : {}),
      },
    });
    return { status: 'succeeded' as const, output: issueOutput(app, r.body) };
  });
}

async function changeIssue(type: Exclude<IssueType, 'gitlab_issue_create'>, ctx: RunnerContext, deps: RunnerDeps): Promise<ScriptOutcome> {
  const m = ctx.script.metadata;
  const t = await targetOf(ctx, deps);
  const path = `${projectPath(t.project)}/issues/${t.iid}`;
  const done = (extra: Record<string, unknown> = {}) => ({ status: 'succeeded' as const, output: { projectId: t.project, iid: t.iid, ...extra } });
  return limited(deps, t.app, async () => {
    switch (type) {
      case 'gitlab_issue_add_comment': {
        const marker = scriptMarker(ctx.script.id);
        if (ctx.script.resumed) {
          const found = await findPaged<{ id: number; body: string }>(t.client, `${path}/notes`, { sort: 'desc', order_by: 'created_at' }, (n) => typeof n.body === 'string' && n.body.includes(marker));
          if (found) return done({ noteId: found.id, alreadyCommented: true });
        }
        const r = await t.client.call<{ id: number }>('POST', `${path}/notes`, { json: { body: `${needText(m, 'body')}\n\n${marker}` } });
        return done({ noteId: r.body.id });
      }
      case 'gitlab_issue_add_label':
      case 'gitlab_issue_remove_label': {
        const labels = listOf(m, 'labels');
        if (labels.length === 0) throw badMetadata('labels', 'names no label once its placeholders are filled in');
        const r = await t.client.call<Issue>('PUT', path, { json: { [type === 'gitlab_issue_add_label' ? 'add_labels' : 'remove_labels']: labels.join(',') } });
        return done({ labels: r.body.labels ?? [] });
      }
      case 'gitlab_issue_close': {
        const r = await t.client.call<Issue>('PUT', path, { json: { state_event: 'close' } });
        return done({ state: r.body.state ?? 'closed' });
      }
      case 'gitlab_issue_assign_user':
      case 'gitlab_issue_unassign_user': {
        const refs = listOf(m, 'users');
        if (refs.length === 0) throw badMetadata('users', 'names no user once its placeholders are filled in');
        const ids = await userIds(t.client, refs, 'users');
        const current = (await t.client.call<Issue>('GET', path)).body.assignees?.map((a) => a.id) ?? [];
        const next = type === 'gitlab_issue_assign_user' ? [...new Set([...current, ...ids])] : current.filter((id) => !ids.includes(id));
        if (next.length === current.length && next.every((id) => current.includes(id))) return { status: 'skipped' as const, output: { projectId: t.project, iid: t.iid, assigneeIds: current } };
        // GitLab: an empty list (or 0) unassigns everyone.
        const r = await t.client.call<Issue>('PUT', path, { json: { assignee_ids: next.length === 0 ? [0] : next } });
        return done({ assigneeIds: r.body.assignees?.map((a) => a.id) ?? next });
      }
    }
  });
}

const isIssueType = (t: string): t is IssueType => t in FIELDS;

export const gitlabIssueRunner: ScriptRunner = {
  handles: (t) => t.family === 'fixed' && isIssueType(t.type),
  validate(t, metadata, field): Problem[] {
    if (t.family !== 'fixed' || !isIssueType(t.type)) return [];
    const problems = checkFields(metadata, field, FIELDS[t.type]);
    const issue = metadata.issue;
    if ((typeof issue === 'number' && !(Number.isInteger(issue) && issue > 0)) || (typeof issue === 'string' && !issue.includes('{{') && !/^#?\d{1,10}$/.test(issue))) {
      problems.push({ code: 'metadata.invalid', field: `${field}.issue`, message: 'must be an issue number (iid), such as 42' });
    }
    if (typeof metadata.title === 'string' && metadata.title.length > 255) problems.push({ code: 'metadata.invalid', field: `${field}.title`, message: 'GitLab takes at most 255 characters' });
    return problems;
  },
  run(ctx, deps) {
    const p = ctx.script.parsed;
    if (p.family !== 'fixed' || !isIssueType(p.type)) throw new Error(`not a GitLab issue script: ${ctx.script.type}`);
    return p.type === 'gitlab_issue_create' ? createIssue(ctx, deps) : changeIssue(p.type, ctx, deps);
  },
};
