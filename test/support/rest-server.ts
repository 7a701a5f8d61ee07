/**
 * A small loopback REST API for the `rest` connector's tests: users and groups as JSON,
 * bearer auth, each pagination style selectable (page number, offset, cursor in the body,
 * Link header), and 429 with Retry-After or 503 on demand.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type PaginationStyle = 'page' | 'offset' | 'cursor' | 'link';

export interface RestUser {
  id: string;
  login: string;
  title: string | null;
  emails: string[];
  active: boolean;
  groups: string[];
}

export interface RestServer {
  url: string;
  token: string;
  style: PaginationStyle;
  users(): RestUser[];
  groups(): { id: string; name: string }[];
  seedUsers(n: number, prefix: string): void;
  seedGroup(name: string): string;
  /** The next `count` requests answer `status` (429 with Retry-After `retryAfter` seconds). */
  failNext(status: 429 | 503, count: number, retryAfter?: number): void;
  requests(): { method: string; url: string; body: unknown; headers: Record<string, string | string[] | undefined> }[];
  close(): Promise<void>;
}

export async function startRestServer(options: { token: string; style?: PaginationStyle; maxPageSize?: number }): Promise<RestServer> {
  const users = new Map<string, RestUser>();
  const groups = new Map<string, { id: string; name: string }>();
  let seq = 0;
  const failures: { status: number; retryAfter?: number }[] = [];
  const log: { method: string; url: string; body: unknown; headers: Record<string, string | string[] | undefined> }[] = [];
  const maxPage = options.maxPageSize ?? 100;
  let base = '';

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  function page(all: unknown[], q: URLSearchParams, res: ServerResponse, path: string): void {
    const size = Number(q.get('per_page') ?? '20');
    if (!Number.isInteger(size) || size < 1 || size > maxPage) return send(res, 400, { message: `per_page must be 1 to ${maxPage}` });
    switch (server.style) {
      case 'page':
      case 'link': {
        const p = Number(q.get('page') ?? '1');
        if (!Number.isInteger(p) || p < 1) return send(res, 400, { message: 'page must be a whole number ≥ 1' });
        const start = (p - 1) * size;
        const headers: Record<string, string> = {};
        if (server.style === 'link' && start + size < all.length) headers.link = `<${base}${path}?page=${p + 1}&per_page=${size}>; rel="next", <${base}${path}?page=1&per_page=${size}>; rel="first"`;
        return send(res, 200, { data: all.slice(start, start + size) }, headers);
      }
      case 'offset': {
        const start = Number(q.get('offset') ?? '0');
        if (!Number.isInteger(start) || start < 0) return send(res, 400, { message: 'offset must be a whole number ≥ 0' });
        return send(res, 200, { data: all.slice(start, start + size), total: all.length });
      }
      case 'cursor': {
        const c = q.get('cursor');
        if (c !== null && !/^c\d+$/.test(c)) return send(res, 400, { message: 'bad cursor' });
        const start = c === null ? 0 : Number(c.slice(1));
        return send(res, 200, { data: all.slice(start, start + size), next_cursor: start + size < all.length ? `c${start + size}` : null });
      }
    }
  }

  const view = (u: RestUser) => ({ ...u, groups: u.groups.map((id) => ({ id, name: groups.get(id)?.name ?? id })) });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      return send(res, 400, { message: 'the body is not JSON' });
    }
    const url = new URL(req.url ?? '/', base);
    log.push({ method: req.method ?? '', url: url.pathname + url.search, body, headers: req.headers });
    const fail = failures.shift();
    if (fail) return send(res, fail.status, { message: fail.status === 429 ? 'slow down' : 'busy' }, fail.retryAfter === undefined ? {} : { 'retry-after': String(fail.retryAfter) });
    if (req.headers.authorization !== `Bearer ${options.token}`) return send(res, 401, { message: 'invalid token' });
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'api') return send(res, 404, { message: 'no such route' });
    const [, coll, id, sub, subId] = parts;
    const m = req.method;
    if (coll === 'users' && id === undefined && m === 'GET') return page([...users.values()].map(view), url.searchParams, res, '/api/users');
    if (coll === 'users' && id === undefined && m === 'POST') {
      const b = (body ?? {}) as Partial<RestUser>;
      if (typeof b.login !== 'string' || b.login === '') return send(res, 400, { message: 'login is required' });
      if ([...users.values()].some((u) => u.login === b.login)) return send(res, 409, { message: `login '${b.login}' is taken` });
      const u: RestUser = { id: `u${++seq}`, login: b.login, title: typeof b.title === 'string' ? b.title : null, emails: Array.isArray(b.emails) ? b.emails.map(String) : [], active: true, groups: [] };
      users.set(u.id, u);
      return send(res, 201, view(u));
    }
    if (coll === 'users' && id !== undefined) {
      const u = users.get(id);
      if (u === undefined) return send(res, 404, { message: 'user not found' });
      if (sub === undefined && m === 'GET') return send(res, 200, view(u));
      if (sub === undefined && m === 'DELETE') {
        users.delete(id);
        return send(res, 204);
      }
      if (sub === undefined && m === 'PATCH') {
        const b = (body ?? {}) as Record<string, unknown>;
        if ('title' in b) u.title = typeof b.title === 'string' ? b.title : null;
        if ('emails' in b) {
          if (!Array.isArray(b.emails)) return send(res, 400, { message: 'emails must be a list' });
          u.emails = b.emails.map(String);
        }
        return send(res, 200, view(u));
      }
      if ((sub === 'disable' || sub === 'enable') && m === 'POST') {
        u.active = sub === 'enable';
        return send(res, 200, view(u));
      }
    }
    if (coll === 'groups' && id === undefined && m === 'GET') return page([...groups.values()], url.searchParams, res, '/api/groups');
    if (coll === 'groups' && id === undefined && m === 'POST') {
      const b = (body ?? {}) as { name?: unknown };
      if (typeof b.name !== 'string' || b.name === '') return send(res, 400, { message: 'name is required' });
      if ([...groups.values()].some((g) => g.name === b.name)) return send(res, 409, { message: `group '${b.name}' exists` });
      const g = { id: `g${++seq}`, name: b.name };
      groups.set(g.id, g);
      return send(res, 201, g);
    }
    if (coll === 'groups' && id !== undefined && sub === undefined && m === 'DELETE') {
      if (!groups.delete(id)) return send(res, 404, { message: 'group not found' });
      for (const u of users.values()) u.groups = u.groups.filter((x) => x !== id);
      return send(res, 204);
    }
    if (coll === 'groups' && id !== undefined && sub === 'members' && subId !== undefined) {
      const g = groups.get(id);
      const u = users.get(subId);
      if (g === undefined || u === undefined) return send(res, 404, { message: 'group or user not found' });
      if (m === 'PUT') {
        if (!u.groups.includes(id)) u.groups.push(id);
        return send(res, 204);
      }
      if (m === 'DELETE') {
        u.groups = u.groups.filter((x) => x !== id);
        return send(res, 204);
      }
    }
    if (coll === 'hooks' && id !== undefined && m === 'POST') return send(res, 200, { hook: id, received: body, query: Object.fromEntries(url.searchParams) });
    return send(res, 404, { message: 'no such route' });
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { message: String(e) }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const server: RestServer = {
    url: base,
    token: options.token,
    style: options.style ?? 'page',
    users: () => [...users.values()],
    groups: () => [...groups.values()],
    seedUsers(n, prefix) {
      for (let i = 0; i < n; i++) {
        const u: RestUser = { id: `u${++seq}`, login: `${prefix}${i}`, title: null, emails: [], active: true, groups: [] };
        users.set(u.id, u);
      }
    },
    seedGroup(name) {
      const id = `g${++seq}`;
      groups.set(id, { id, name });
      return id;
    },
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
  return server;
}

/** Settings of the `rest` kind for this server, with the given pagination style. */
export function restSettingsFor(url: string, style: PaginationStyle): Record<string, unknown> {
  const member = (method: 'PUT' | 'DELETE') => ({ method, url: '/api/groups/{{entitlement}}/members/{{nativeIdentity}}' });
  return {
    baseUrl: url,
    auth: 'bearer',
    pagination: { style },
    pageSize: 50,
    attributes: [
      { name: 'login', type: 'string', multiValued: false, required: true },
      { name: 'title', type: 'string', multiValued: false },
      { name: 'emails', type: 'string', multiValued: true },
    ],
    accountMapping: {
      nativeIdentity: 'id',
      attributes: { login: 'login', title: 'title', emails: 'emails' },
      enabled: 'active',
      entitlements: { groups: { path: 'groups', kind: 'group', value: 'id' } },
    },
    entitlementMapping: { kind: 'group', nativeValue: 'id', name: 'name' },
    operations: {
      listAccounts: { method: 'GET', url: '/api/users', items: 'data' },
      getAccount: { method: 'GET', url: '/api/users/{{nativeIdentity}}' },
      listEntitlements: { method: 'GET', url: '/api/groups', items: '/data' },
      createUser: { method: 'POST', url: '/api/users', body: { login: '{{attributes.login}}', title: '{{attributes.title}}', emails: '{{attributes.emails}}' } },
      updateUser: { method: 'PATCH', url: '/api/users/{{nativeIdentity}}', body: '{{attributes}}' },
      deleteUser: { method: 'DELETE', url: '/api/users/{{nativeIdentity}}' },
      disableUser: { method: 'POST', url: '/api/users/{{nativeIdentity}}/disable' },
      enableUser: { method: 'POST', url: '/api/users/{{nativeIdentity}}/enable' },
      addUserToGroup: member('PUT'),
      removeUserFromGroup: member('DELETE'),
      createGroup: { method: 'POST', url: '/api/groups', body: { name: '{{name}}' } },
      deleteGroup: { method: 'DELETE', url: '/api/groups/{{nativeValue}}' },
    },
    endpoints: {
      notify: { method: 'POST', url: '/api/hooks/{{params.hook}}', headers: { 'x-steward-user': '{{nativeIdentity}}' }, body: { user: '{{nativeIdentity}}', groups: '{{params.groups}}', source: 'steward {{settings.baseUrl}}' } },
    },
  };
}
