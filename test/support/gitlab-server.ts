/**
 * A loopback server following GitLab's REST API v4 contract, for the parts the `gitlab`
 * connector uses: PRIVATE-TOKEN auth (401 for an unknown token, 403 for a non-admin on
 * admin endpoints), offset pagination with x-page/x-per-page/x-next-page/x-total/Link
 * headers (page ≥ 1, per_page 1–100 — larger is cut to 100, as GitLab does), the Users,
 * User emails, Groups and Group members APIs with their required fields and their error
 * bodies (409 `{"message":{"username":["has already been taken"]}}`, 404
 * `{"message":"404 User Not Found"}`), and 429 with Retry-After or 503 on demand.
 *
 * Projects, issues and notes follow the Issues and Notes APIs: a project by id or by its
 * URL-encoded path, issues numbered per project (`iid`), `search` with `in=title,description`,
 * `state`, `labels` as a comma-separated string, `add_labels`/`remove_labels`,
 * `state_event=close|reopen`, `assignee_ids` (empty or `[0]` unassigns all), notes with a
 * required `body`, and GitLab's 400/404 bodies (`{"error":"title is missing"}`,
 * `{"message":"404 Issue Not Found"}`).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GlUser {
  id: number;
  username: string;
  name: string;
  email: string;
  job_title: string;
  state: 'active' | 'blocked';
  is_admin: boolean;
  emails: { id: number; email: string }[];
}

export interface GlGroup {
  id: number;
  name: string;
  path: string;
  description: string;
  members: Map<number, number>;
}

export interface GlIssue {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  description: string;
  state: 'opened' | 'closed';
  labels: string[];
  assignee_ids: number[];
  notes: { id: number; body: string; system: boolean }[];
}

export interface GlProject {
  id: number;
  path_with_namespace: string;
  issues: GlIssue[];
}

export interface GitlabServer {
  url: string;
  adminToken: string;
  userToken: string;
  users(): GlUser[];
  groups(): GlGroup[];
  seedUsers(n: number, prefix: string): void;
  seedGroup(name: string): string;
  /** A project at `path` (e.g. `it/access-requests`); answers its id. */
  seedProject(path: string): number;
  projects(): GlProject[];
  failNext(status: 429 | 503, count: number, retryAfter?: number): void;
  requests(): { method: string; url: string; body: unknown }[];
  close(): Promise<void>;
}

const VALID_LEVELS = new Set([0, 5, 10, 20, 30, 40, 50]);

export async function startGitlabServer(options: { adminToken: string; userToken?: string }): Promise<GitlabServer> {
  const users = new Map<number, GlUser>();
  const groups = new Map<number, GlGroup>();
  const projects = new Map<number, GlProject>();
  let issueSeq = 5000;
  let noteSeq = 9000;
  let seq = 100;
  let emailSeq = 1;
  const failures: { status: number; retryAfter?: number }[] = [];
  const log: { method: string; url: string; body: unknown }[] = [];
  const userToken = options.userToken ?? 'glpat-not-an-admin-000';
  let base = '';

  const root: GlUser = { id: 1, username: 'root', name: 'Administrator', email: 'admin@example.com', job_title: '', state: 'active', is_admin: true, emails: [] };
  users.set(1, root);
  const plain: GlUser = { id: 2, username: 'plain', name: 'Plain User', email: 'plain@example.com', job_title: '', state: 'active', is_admin: false, emails: [] };
  users.set(2, plain);

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const view = ({ emails: _emails, ...u }: GlUser) => u;

  function paged(res: ServerResponse, q: URLSearchParams, path: string, all: unknown[]): void {
    const pageText = q.get('page') ?? '1';
    const perText = q.get('per_page') ?? '20';
    if (!/^\d+$/.test(pageText)) return send(res, 400, { error: 'page is invalid' });
    if (!/^\d+$/.test(perText)) return send(res, 400, { error: 'per_page is invalid' });
    const page = Math.max(1, Number(pageText));
    const per = Math.min(100, Math.max(1, Number(perText)));
    const totalPages = Math.max(1, Math.ceil(all.length / per));
    const items = all.slice((page - 1) * per, page * per);
    const link = (p: number, rel: string) => {
      const u = new URL(base + path);
      for (const [k, v] of q) u.searchParams.set(k, v);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(per));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links = [...(page < totalPages ? [link(page + 1, 'next')] : []), ...(page > 1 ? [link(page - 1, 'prev')] : []), link(1, 'first'), link(totalPages, 'last')];
    send(res, 200, items, {
      'x-page': String(page),
      'x-per-page': String(per),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      'x-total': String(all.length),
      'x-total-pages': String(totalPages),
      link: links.join(', '),
    });
  }

  const missing = (b: Record<string, unknown>, names: string[]) => names.filter((n) => b[n] === undefined || b[n] === null || b[n] === '');
  const taken = (u: Partial<GlUser>, except?: number): Record<string, string[]> | undefined => {
    const out: Record<string, string[]> = {};
    for (const other of users.values()) {
      if (other.id === except) continue;
      if (u.username !== undefined && other.username.toLowerCase() === u.username.toLowerCase()) out.username = ['has already been taken'];
      if (u.email !== undefined && (other.email.toLowerCase() === u.email.toLowerCase() || other.emails.some((e) => e.email.toLowerCase() === u.email!.toLowerCase()))) out.email = ['has already been taken'];
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    if (text !== '') {
      try {
        body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(text));
      } catch {
        return send(res, 400, { error: 'the body is not valid JSON' });
      }
    }
    const url = new URL(req.url ?? '/', base);
    log.push({ method: req.method ?? '', url: url.pathname + url.search, body });
    const fail = failures.shift();
    if (fail) return send(res, fail.status, { message: fail.status === 429 ? 'Retry later' : '503 Service Unavailable' }, fail.retryAfter === undefined ? {} : { 'retry-after': String(fail.retryAfter) });
    const token = req.headers['private-token'];
    const me = token === options.adminToken ? root : token === userToken ? plain : undefined;
    if (me === undefined) return send(res, 401, { message: '401 Unauthorized' });
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'api' || parts[1] !== 'v4') return send(res, 404, { error: '404 Not Found' });
    const [, , coll, idText, sub, subId] = parts;
    const m = req.method;
    const admin = () => me.is_admin;
    const forbidden = () => send(res, 403, { message: '403 Forbidden' });

    if (coll === 'user' && idText === undefined && m === 'GET') return send(res, 200, view(me));

    if (coll === 'projects') return projectsApi(res, m, url, parts.slice(3), body);

    if (coll === 'users') {
      if (idText === undefined && m === 'GET') {
        const username = url.searchParams.get('username');
        const list = [...users.values()].filter((u) => username === null || u.username.toLowerCase() === username.toLowerCase());
        return paged(res, url.searchParams, '/api/v4/users', list.sort((a, b) => a.id - b.id).map(view));
      }
      if (idText === undefined && m === 'POST') {
        if (!admin()) return forbidden();
        const miss = missing(body, ['email', 'name', 'username']);
        if (miss.length > 0) return send(res, 400, { error: `${miss.join(', ')} ${miss.length > 1 ? 'are' : 'is'} missing` });
        if (body.password === undefined && body.reset_password !== true && body.force_random_password !== true) {
          return send(res, 400, { error: 'password, reset_password, force_random_password are missing, at least one parameter must be provided' });
        }
        const dup = taken({ username: String(body.username), email: String(body.email) });
        if (dup) return send(res, 409, { message: dup });
        const u: GlUser = { id: ++seq, username: String(body.username), name: String(body.name), email: String(body.email), job_title: typeof body.job_title === 'string' ? body.job_title : '', state: 'active', is_admin: false, emails: [] };
        users.set(u.id, u);
        return send(res, 201, view(u));
      }
      if (!/^\d+$/.test(idText ?? '')) return send(res, 404, { message: '404 User Not Found' });
      const u = users.get(Number(idText));
      if (u === undefined) return send(res, 404, { message: '404 User Not Found' });
      if (sub === undefined && m === 'GET') return send(res, 200, view(u));
      if (!admin()) return forbidden();
      if (sub === undefined && m === 'PUT') {
        const next = { ...(typeof body.username === 'string' ? { username: body.username } : {}), ...(typeof body.email === 'string' ? { email: body.email } : {}) };
        const dup = taken(next, u.id);
        if (dup) return send(res, 409, { message: dup });
        for (const f of ['username', 'name', 'email', 'job_title'] as const) if (typeof body[f] === 'string') u[f] = body[f];
        return send(res, 200, view(u));
      }
      if (sub === undefined && m === 'DELETE') {
        users.delete(u.id);
        for (const g of groups.values()) g.members.delete(u.id);
        return send(res, 204);
      }
      if (sub === 'block' && m === 'POST') {
        u.state = 'blocked';
        return send(res, 201, true);
      }
      if (sub === 'unblock' && m === 'POST') {
        u.state = 'active';
        return send(res, 201, true);
      }
      if (sub === 'emails' && subId === undefined && m === 'GET') return paged(res, url.searchParams, `/api/v4/users/${u.id}/emails`, u.emails);
      if (sub === 'emails' && subId === undefined && m === 'POST') {
        if (missing(body, ['email']).length > 0) return send(res, 400, { error: 'email is missing' });
        const dup = taken({ email: String(body.email) });
        if (dup) return send(res, 400, { message: dup });
        const e = { id: emailSeq++, email: String(body.email) };
        u.emails.push(e);
        return send(res, 201, { ...e, confirmed_at: body.skip_confirmation === true ? new Date().toISOString() : null });
      }
      if (sub === 'emails' && subId !== undefined && m === 'DELETE') {
        const before = u.emails.length;
        u.emails = u.emails.filter((e) => String(e.id) !== subId);
        return before === u.emails.length ? send(res, 404, { message: '404 Email Not Found' }) : send(res, 204);
      }
      if (sub === 'memberships' && m === 'GET') {
        const type = url.searchParams.get('type');
        if (type !== null && type !== 'Namespace' && type !== 'Project') return send(res, 400, { error: 'type does not have a valid value' });
        const list = type === 'Project' ? [] : [...groups.values()].filter((g) => g.members.has(u.id)).map((g) => ({ source_id: g.id, source_name: g.name, source_type: 'Namespace', access_level: g.members.get(u.id) }));
        return paged(res, url.searchParams, `/api/v4/users/${u.id}/memberships`, list);
      }
    }

    if (coll === 'groups') {
      if (idText === undefined && m === 'GET') return paged(res, url.searchParams, '/api/v4/groups', [...groups.values()].sort((a, b) => a.id - b.id).map(({ members: _m, ...g }) => ({ ...g, full_path: g.path })));
      if (idText === undefined && m === 'POST') {
        const miss = missing(body, ['name', 'path']);
        if (miss.length > 0) return send(res, 400, { error: `${miss.join(', ')} ${miss.length > 1 ? 'are' : 'is'} missing` });
        if ([...groups.values()].some((g) => g.path === body.path)) return send(res, 400, { message: { path: ['has already been taken'] } });
        const g: GlGroup = { id: ++seq, name: String(body.name), path: String(body.path), description: typeof body.description === 'string' ? body.description : '', members: new Map() };
        groups.set(g.id, g);
        const { members: _m, ...shown } = g;
        return send(res, 201, shown);
      }
      const g = groups.get(Number(idText));
      if (g === undefined) return send(res, 404, { message: '404 Group Not Found' });
      if (sub === undefined && m === 'DELETE') {
        groups.delete(g.id);
        return send(res, 202, { message: '202 Accepted' });
      }
      if (sub === 'members' && subId === undefined && m === 'POST') {
        const miss = missing(body, ['user_id', 'access_level']);
        if (miss.length > 0) return send(res, 400, { error: `${miss.join(', ')} ${miss.length > 1 ? 'are' : 'is'} missing` });
        const level = Number(body.access_level);
        if (!VALID_LEVELS.has(level)) return send(res, 400, { error: 'access_level does not have a valid value' });
        const uid = Number(body.user_id);
        if (!users.has(uid)) return send(res, 404, { message: '404 User Not Found' });
        if (g.members.has(uid)) return send(res, 409, { message: 'Member already exists' });
        g.members.set(uid, level);
        return send(res, 201, { id: uid, username: users.get(uid)!.username, access_level: level, state: 'active' });
      }
      if (sub === 'members' && subId !== undefined && m === 'DELETE') {
        if (!g.members.delete(Number(subId))) return send(res, 404, { message: '404 Member Not Found' });
        return send(res, 204);
      }
    }
    return send(res, 404, { error: '404 Not Found' });
  }

  const issueView = (p: GlProject, i: GlIssue) => ({
    id: i.id,
    iid: i.iid,
    project_id: p.id,
    title: i.title,
    description: i.description,
    state: i.state,
    labels: i.labels,
    assignees: i.assignee_ids.map((id) => ({ id, username: users.get(id)?.username ?? `user${id}` })),
    assignee: i.assignee_ids.length > 0 ? { id: i.assignee_ids[0] } : null,
    web_url: `${base}/${p.path_with_namespace}/-/issues/${i.iid}`,
  });
  const labelList = (v: unknown): string[] => (typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v.map(String) : []).map((l) => l.trim()).filter((l) => l !== '');
  const idList = (v: unknown): number[] | undefined => {
    if (v === undefined) return undefined;
    const raw = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : [v];
    return raw.map(Number).filter((n) => Number.isInteger(n) && n > 0);
  };

  function projectsApi(res: ServerResponse, m: string | undefined, url: URL, rest: string[], body: Record<string, unknown>): void {
    const [ref, sub, iidText, subSub] = rest;
    const p = ref === undefined ? undefined : /^\d+$/.test(ref) ? projects.get(Number(ref)) : [...projects.values()].find((x) => x.path_with_namespace === ref);
    if (!p) return send(res, 404, { message: '404 Project Not Found' });
    if (sub === undefined && m === 'GET') return send(res, 200, { id: p.id, path_with_namespace: p.path_with_namespace });
    if (sub !== 'issues') return send(res, 404, { error: '404 Not Found' });
    if (iidText === undefined && m === 'GET') {
      const q = url.searchParams;
      const search = q.get('search');
      const within = (q.get('in') ?? 'title,description').split(',');
      const state = q.get('state') ?? 'all';
      if (!['opened', 'closed', 'all'].includes(state)) return send(res, 400, { error: 'state does not have a valid value' });
      const list = p.issues
        .filter((i) => state === 'all' || i.state === state)
        .filter((i) => search === null || (within.includes('title') && i.title.toLowerCase().includes(search.toLowerCase())) || (within.includes('description') && i.description.toLowerCase().includes(search.toLowerCase())))
        .sort((a, b) => b.id - a.id)
        .map((i) => issueView(p, i));
      return paged(res, q, `/api/v4/projects/${p.id}/issues`, list);
    }
    if (iidText === undefined && m === 'POST') {
      if (typeof body.title !== 'string' || body.title === '') return send(res, 400, { error: 'title is missing' });
      const issue: GlIssue = {
        id: ++issueSeq,
        iid: p.issues.length + 1,
        project_id: p.id,
        title: body.title,
        description: typeof body.description === 'string' ? body.description : '',
        state: 'opened',
        labels: labelList(body.labels),
        assignee_ids: (idList(body.assignee_ids) ?? []).filter((id) => users.has(id)),
        notes: [],
      };
      p.issues.push(issue);
      return send(res, 201, issueView(p, issue));
    }
    const issue = /^\d+$/.test(iidText ?? '') ? p.issues.find((i) => i.iid === Number(iidText)) : undefined;
    if (!issue) return send(res, 404, { message: '404 Issue Not Found' });
    if (subSub === undefined && m === 'GET') return send(res, 200, issueView(p, issue));
    if (subSub === undefined && m === 'PUT') {
      if (body.state_event !== undefined && body.state_event !== 'close' && body.state_event !== 'reopen') return send(res, 400, { error: 'state_event does not have a valid value' });
      if (typeof body.title === 'string') issue.title = body.title;
      if (typeof body.description === 'string') issue.description = body.description;
      if (body.labels !== undefined) issue.labels = labelList(body.labels);
      for (const l of labelList(body.add_labels)) if (!issue.labels.includes(l)) issue.labels.push(l);
      const removing = labelList(body.remove_labels);
      issue.labels = issue.labels.filter((l) => !removing.includes(l));
      if (body.state_event === 'close') issue.state = 'closed';
      if (body.state_event === 'reopen') issue.state = 'opened';
      const ids = idList(body.assignee_ids);
      if (ids !== undefined) issue.assignee_ids = ids.filter((id) => users.has(id));
      return send(res, 200, issueView(p, issue));
    }
    if (subSub === 'notes' && m === 'GET') return paged(res, url.searchParams, `/api/v4/projects/${p.id}/issues/${issue.iid}/notes`, issue.notes.slice().reverse());
    if (subSub === 'notes' && m === 'POST') {
      if (typeof body.body !== 'string' || body.body === '') return send(res, 400, { error: 'body is missing' });
      const note = { id: ++noteSeq, body: body.body, system: false };
      issue.notes.push(note);
      return send(res, 201, note);
    }
    return send(res, 404, { error: '404 Not Found' });
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { message: String(e) }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  return {
    url: base,
    adminToken: options.adminToken,
    userToken,
    users: () => [...users.values()],
    groups: () => [...groups.values()],
    seedUsers(n, prefix) {
      for (let i = 0; i < n; i++) {
        const u: GlUser = { id: ++seq, username: `${prefix}${i}`, name: `${prefix} ${i}`, email: `${prefix}${i}@example.org`, job_title: '', state: 'active', is_admin: false, emails: [] };
        users.set(u.id, u);
      }
    },
    seedGroup(name) {
      const g: GlGroup = { id: ++seq, name, path: name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), description: '', members: new Map() };
      groups.set(g.id, g);
      return String(g.id);
    },
    seedProject(path) {
      const p: GlProject = { id: ++seq, path_with_namespace: path, issues: [] };
      projects.set(p.id, p);
      return p.id;
    },
    projects: () => [...projects.values()],
    failNext(status, count, retryAfter) {
      for (let i = 0; i < count; i++) failures.push({ status, ...(retryAfter === undefined ? {} : { retryAfter }) });
    },
    requests: () => log,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
