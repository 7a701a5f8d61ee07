/**
 * An independent SCIM 2.0 service provider for tests and benchmarks, built on the npm
 * packages `scimmy` (protocol, schemas, filters, PATCH) and `scimmy-routers` (Express
 * routes), with an in-memory store of Users and Groups, bearer-token auth, an optional OAuth
 * 2.0 client-credentials token endpoint, and knobs: fail the next N requests, turn PATCH or
 * ETags off, seed many users at once.
 *
 * scimmy keeps its declarations and ServiceProviderConfig in module-wide singletons, so the
 * resource handlers are declared once and reach each server's own store through scimmy's
 * per-request `context`; per-server features (PATCH, ETags) are applied by middleware here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';

export interface ScimUser {
  id: string;
  userName: string;
  active?: boolean;
  [attribute: string]: unknown;
}

export interface ScimGroupMember {
  value: string;
  display?: string;
  type?: string;
}

export interface ScimGroup {
  id: string;
  displayName: string;
  members: ScimGroupMember[];
  [attribute: string]: unknown;
}

export interface ScimServerOptions {
  /** The bearer token the server accepts (default: a random one, in `token`). */
  token?: string;
  /** Offer an OAuth 2.0 client-credentials token endpoint at `tokenUrl`; tokens it issues are accepted too. */
  oauth?: { clientId: string; clientSecret: string; tokenTtlSec?: number };
  /** Whether PATCH is offered (and said to be in /ServiceProviderConfig); default true. */
  patch?: boolean;
  /** Whether ETags (meta.version, ETag, If-Match) are offered; default true. */
  etag?: boolean;
  /** Largest page the server sends whatever `count` asks for; default 10,000. */
  maxResults?: number;
}

export interface ScimRequestRecord {
  method: string;
  path: string;
  status: number;
}

export interface ScimServer {
  /** The SCIM service root, e.g. http://127.0.0.1:12345/scim/v2. */
  url: string;
  token: string;
  /** The OAuth token endpoint, when `oauth` was given. */
  tokenUrl?: string;
  close(): Promise<void>;
  /** Copies of the stored Users, in creation order, with their `groups`. */
  users(): ScimUser[];
  /** Copies of the stored Groups, in creation order. */
  groups(): ScimGroup[];
  /** The User with this userName (case-insensitive), or undefined. */
  user(userName: string): ScimUser | undefined;
  /** The password last set for a user (passwords are never returned by SCIM itself). */
  passwordOf(id: string): string | undefined;
  /** The next `n` SCIM requests answer `status` (with Retry-After when given: seconds, or an HTTP date). */
  failNext(status: number, n: number, retryAfter?: number | string): void;
  /** The next `n` changes are made at once but answered `ms` later. */
  holdNext(ms: number, n: number): void;
  /** Adds `n` users named `${prefix}${i}` straight into the store (fast); returns their ids. */
  seedUsers(n: number, options?: { prefix?: string }): string[];
  /** Adds a group straight into the store; returns it. */
  seedGroup(displayName: string, memberIds?: string[]): ScimGroup;
  /** Turns PATCH on or off (and says so in /ServiceProviderConfig). */
  setPatch(supported: boolean): void;
  /** Turns ETags on or off. */
  setEtag(supported: boolean): void;
  /** Changes a stored user behind the client's back (bumps its version), as another writer would. */
  touchUser(id: string, changes: Record<string, unknown>): void;
  /** Every request seen (the last 10,000), oldest first. */
  requests(): ScimRequestRecord[];
  clearRequests(): void;
  /** How many tokens the OAuth endpoint issued. */
  tokensIssued(): number;
  /** Forgets every OAuth token issued, as a server restart or revocation would. */
  revokeTokens(): void;
}

interface Stored<T> {
  value: T;
  version: number;
  created: string;
  lastModified: string;
}

/** One server's state; scimmy's handlers reach it through the request context. */
class Store {
  users = new Map<string, Stored<ScimUser>>();
  userNames = new Map<string, string>();
  groups = new Map<string, Stored<ScimGroup>>();
  /** userId → groupIds, so a user's `groups` is cheap to compute. */
  memberOf = new Map<string, Set<string>>();
  passwords = new Map<string, string>();
  etag: boolean;
  maxResults: number;

  constructor(etag: boolean, maxResults: number) {
    this.etag = etag;
    this.maxResults = maxResults;
  }

  userOut(s: Stored<ScimUser>): Record<string, unknown> {
    const groups = [...(this.memberOf.get(s.value.id) ?? [])].map((gid) => ({
      value: gid,
      display: this.groups.get(gid)?.value.displayName,
      type: 'direct',
    }));
    return { ...s.value, ...(groups.length > 0 ? { groups } : {}), meta: this.meta(s, 'User') };
  }

  groupOut(s: Stored<ScimGroup>): Record<string, unknown> {
    return { ...s.value, meta: this.meta(s, 'Group') };
  }

  meta(s: Stored<unknown>, resourceType: string): Record<string, unknown> {
    return { resourceType, created: s.created, lastModified: s.lastModified, ...(this.etag ? { version: `W/"${s.version}"` } : {}) };
  }

  setMembers(groupId: string, members: ScimGroupMember[]): void {
    const old = this.groups.get(groupId)?.value.members ?? [];
    for (const m of old) this.memberOf.get(m.value)?.delete(groupId);
    for (const m of members) {
      let set = this.memberOf.get(m.value);
      if (set === undefined) this.memberOf.set(m.value, (set = new Set()));
      set.add(groupId);
    }
  }
}

/** What scimmy hands each handler as context: this server's store and the request's query. */
interface Ctx {
  store: Store;
  query: Record<string, unknown>;
}

type ScimmyResource = { id?: string; filter?: { match(values: unknown[]): unknown[]; expression?: string } & unknown[]; constraints?: Record<string, unknown> };

const scimError = (status: number, scimType: string | null, message: string): Error => new SCIMMY.Types.Error(status, scimType as string, message); // scimmy takes null for "no scimType"; its typings say string

const now = (): string => new Date().toISOString();

function plain<T>(v: unknown): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** The fast lookups a real server would have indexes for; anything else is matched by scimmy. */
function equalityOn(filter: ScimmyResource['filter'], attribute: string): string | undefined {
  if (filter === undefined || filter.length !== 1) return undefined;
  const expr = filter[0] as Record<string, unknown>;
  const keys = Object.keys(expr);
  if (keys.length !== 1 || keys[0]?.toLowerCase() !== attribute.toLowerCase()) return undefined;
  const e = expr[keys[0]] as unknown[];
  return Array.isArray(e) && e.length === 2 && String(e[0]).toLowerCase() === 'eq' && typeof e[1] === 'string' ? e[1] : undefined;
}

/**
 * One page of a listing. scimmy's ListResponse slices the array itself unless told the total,
 * and re-slices a page whose startIndex is within its own length, so the page is returned
 * with totalResults whenever that is safe and the whole list otherwise (a rare startIndex).
 */
function page<T>(resource: ScimmyResource, all: T[], ctx: Ctx): T[] {
  const c = resource.constraints ?? {};
  // Express 5 re-parses req.query on each read, so scimmy-routers' cast of startIndex and
  // count to numbers is lost and scimmy drops them: read them from the query here.
  const int = (v: unknown, dflt: number): number => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : typeof v === 'number' ? v : dflt);
  const start = Math.max(1, int(ctx.query.startIndex, 1));
  const count = Math.min(int(ctx.query.count, 20), ctx.store.maxResults);
  resource.constraints = { ...c, startIndex: start, count };
  const slice = all.slice(start - 1, start - 1 + count);
  if (start === 1 || slice.length < start) {
    resource.constraints.totalResults = all.length;
    return slice;
  }
  return all;
}

/** Sorts by a top-level attribute before paging (scimmy would sort within the page only). */
function sortBy<T>(resource: ScimmyResource, list: T[], get: (item: T) => Record<string, unknown>): T[] {
  const by = resource.constraints?.sortBy;
  if (typeof by !== 'string') return list;
  const desc = resource.constraints?.sortOrder === 'descending';
  const text = (item: T): string => JSON.stringify(get(item)[by] ?? '');
  return [...list].sort((a, b) => text(a).localeCompare(text(b)) * (desc ? -1 : 1));
}

let declared = false;

function declareResources(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    egress: (resource: ScimmyResource, ctx: Ctx) => {
      const { store } = ctx;
      if (resource.id !== undefined) {
        const s = store.users.get(resource.id);
        if (s === undefined) throw scimError(404, null, `Resource ${resource.id} not found`);
        return store.userOut(s);
      }
      const byName = equalityOn(resource.filter, 'userName');
      let list: Stored<ScimUser>[];
      if (byName !== undefined) {
        const id = store.userNames.get(byName.toLowerCase());
        const s = id === undefined ? undefined : store.users.get(id);
        list = s === undefined ? [] : [s];
      } else if (resource.filter !== undefined) {
        const matched = new Set(resource.filter.match([...store.users.values()].map((s) => store.userOut(s))).map((u) => (u as ScimUser).id));
        list = [...store.users.values()].filter((s) => matched.has(s.value.id));
      } else {
        list = [...store.users.values()];
      }
      return page(resource, sortBy(resource, list, (s) => s.value), ctx).map((s) => store.userOut(s));
    },
    ingress: (resource: ScimmyResource, instance: unknown, { store }: Ctx) => {
      // scimmy keeps a write-only password out of the instance's JSON, so read it directly.
      const pw = (instance as { password?: unknown }).password;
      const password = typeof pw === 'string' ? pw : undefined;
      const data = plain<Record<string, unknown>>(instance);
      delete data.password;
      delete data.groups;
      delete data.meta;
      const userName = typeof data.userName === 'string' ? data.userName : '';
      const clash = store.userNames.get(userName.toLowerCase());
      if (clash !== undefined && clash !== resource.id) throw scimError(409, 'uniqueness', `userName '${userName}' is already taken`);
      const t = now();
      let stored: Stored<ScimUser>;
      if (resource.id === undefined) {
        const id = randomUUID();
        stored = { value: { ...data, id, userName }, version: 1, created: t, lastModified: t };
        store.users.set(id, stored);
      } else {
        const old = store.users.get(resource.id);
        if (old === undefined) throw scimError(404, null, `Resource ${resource.id} not found`);
        store.userNames.delete(old.value.userName.toLowerCase());
        stored = { value: { ...data, id: resource.id, userName }, version: old.version + 1, created: old.created, lastModified: t };
        store.users.set(resource.id, stored);
      }
      store.userNames.set(userName.toLowerCase(), stored.value.id);
      if (password !== undefined) store.passwords.set(stored.value.id, password);
      return store.userOut(stored);
    },
    degress: (resource: ScimmyResource, { store }: Ctx) => {
      const id = resource.id ?? '';
      const s = store.users.get(id);
      if (s === undefined) throw scimError(404, null, `Resource ${id} not found`);
      store.users.delete(id);
      store.userNames.delete(s.value.userName.toLowerCase());
      store.passwords.delete(id);
      for (const gid of store.memberOf.get(id) ?? []) {
        const g = store.groups.get(gid);
        if (g !== undefined) g.value.members = g.value.members.filter((m) => m.value !== id);
      }
      store.memberOf.delete(id);
    },
  });
  SCIMMY.Resources.declare(SCIMMY.Resources.Group, {
    egress: (resource: ScimmyResource, ctx: Ctx) => {
      const { store } = ctx;
      if (resource.id !== undefined) {
        const s = store.groups.get(resource.id);
        if (s === undefined) throw scimError(404, null, `Resource ${resource.id} not found`);
        return store.groupOut(s);
      }
      let list = [...store.groups.values()].map((s) => store.groupOut(s));
      if (resource.filter !== undefined) list = resource.filter.match(list) as Record<string, unknown>[];
      return page(resource, sortBy(resource, list, (g) => g), ctx);
    },
    ingress: (resource: ScimmyResource, instance: unknown, { store }: Ctx) => {
      const data = plain<Record<string, unknown>>(instance);
      delete data.meta;
      const members = (Array.isArray(data.members) ? (data.members as ScimGroupMember[]) : []).filter((m, i, all) => all.findIndex((x) => x.value === m.value) === i);
      for (const m of members) {
        if (!store.users.has(m.value)) throw scimError(400, 'invalidValue', `member '${m.value}' is not a User of this service provider`);
      }
      const t = now();
      const id = resource.id ?? randomUUID();
      const old = store.groups.get(id);
      if (resource.id !== undefined && old === undefined) throw scimError(404, null, `Resource ${resource.id} not found`);
      const value: ScimGroup = { ...data, id, displayName: typeof data.displayName === 'string' ? data.displayName : '', members: members.map((m) => ({ value: m.value, display: store.users.get(m.value)?.value.userName, type: 'User' })) };
      store.setMembers(id, value.members);
      const stored: Stored<ScimGroup> = { value, version: (old?.version ?? 0) + 1, created: old?.created ?? t, lastModified: t };
      store.groups.set(id, stored);
      return store.groupOut(stored);
    },
    degress: (resource: ScimmyResource, { store }: Ctx) => {
      const id = resource.id ?? '';
      if (!store.groups.has(id)) throw scimError(404, null, `Resource ${id} not found`);
      store.setMembers(id, []);
      store.groups.delete(id);
    },
  });
  SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
}

function sendError(res: Response, status: number, detail: string, scimType?: string): void {
  res
    .status(status)
    .type('application/scim+json')
    .send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail, ...(scimType === undefined ? {} : { scimType }) });
}

/** Starts a SCIM server on a free loopback port. */
export async function startScimServer(options: ScimServerOptions = {}): Promise<ScimServer> {
  declareResources();
  const token = options.token ?? randomBytes(16).toString('hex');
  const store = new Store(options.etag ?? true, options.maxResults ?? 10_000);
  let patch = options.patch ?? true;
  const failures: { status: number; retryAfter?: number | string }[] = [];
  const holds: number[] = [];
  const oauthTokens = new Map<string, number>();
  let tokensIssued = 0;
  let log: ScimRequestRecord[] = [];

  const app = express();
  app.disable('x-powered-by');
  // Express's own body-hash ETags would pose as resource versions; versions are set below.
  app.set('etag', false);

  app.use((req, res, next) => {
    res.on('finish', () => {
      log.push({ method: req.method, path: req.originalUrl, status: res.statusCode });
      if (log.length > 10_000) log = log.slice(-5_000);
    });
    next();
  });

  if (options.oauth !== undefined) {
    const { clientId, clientSecret, tokenTtlSec = 3600 } = options.oauth;
    app.post('/oauth/token', express.urlencoded({ extended: false }), (req, res) => {
      const body = req.body as Record<string, string | undefined>;
      let id = body.client_id;
      let secret = body.client_secret;
      const basic = /^Basic (.+)$/i.exec(req.header('authorization') ?? '');
      if (basic?.[1] !== undefined) {
        const [u = '', p = ''] = Buffer.from(basic[1], 'base64').toString().split(':');
        id = decodeURIComponent(u);
        secret = decodeURIComponent(p);
      }
      if (body.grant_type !== 'client_credentials') {
        res.status(400).json({ error: 'unsupported_grant_type' });
        return;
      }
      if (id !== clientId || secret !== clientSecret) {
        res.status(401).json({ error: 'invalid_client', error_description: 'unknown client or wrong secret' });
        return;
      }
      const issued = randomBytes(16).toString('hex');
      tokensIssued++;
      oauthTokens.set(issued, Date.now() + tokenTtlSec * 1000);
      res.json({ access_token: issued, token_type: 'Bearer', expires_in: tokenTtlSec });
    });
  }

  const scim = express.Router();
  // Knob: answer the next N changes (POST, PUT, PATCH, DELETE) late: the change is made at
  // once, its answer waits — a caller that dies meanwhile never learns it happened.
  scim.use((req, res, next) => {
    const hold = req.method !== 'GET' ? holds.shift() : undefined;
    if (hold !== undefined) {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        setTimeout(() => json(body), hold);
        return res;
      };
    }
    next();
  });
  // Knob: fail the next N SCIM requests.
  scim.use((req, res, next) => {
    const f = failures.shift();
    if (f === undefined) {
      next();
      return;
    }
    if (f.retryAfter !== undefined) res.setHeader('Retry-After', String(f.retryAfter));
    sendError(res, f.status, f.status === 429 ? 'Too many requests' : 'Service temporarily unavailable');
  });
  // Per-server features scimmy cannot hold apart: PATCH, ETags and If-Match.
  scim.use((req, res, next) => {
    if (req.method === 'PATCH' && !patch) {
      sendError(res, 501, 'PATCH is not supported by this service provider');
      return;
    }
    const m = /^\/(Users|Groups)\/([^/?]+)/.exec(req.path);
    const ifMatch = req.header('if-match');
    if (m !== null && store.etag && ifMatch !== undefined && ifMatch !== '*' && ['PUT', 'PATCH', 'DELETE'].includes(req.method)) {
      const id = decodeURIComponent(m[2]!);
      const s = m[1] === 'Users' ? store.users.get(id) : store.groups.get(id);
      if (s !== undefined && ifMatch !== `W/"${s.version}"`) {
        sendError(res, 412, `If-Match ${ifMatch} does not match the current version W/"${s.version}"`);
        return;
      }
    }
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      if (body !== null && typeof body === 'object') {
        const b = body as { meta?: { version?: unknown }; Resources?: unknown; patch?: { supported?: boolean }; etag?: { supported?: boolean } };
        if (req.path === '/ServiceProviderConfig') {
          const copy = plain<Record<string, unknown>>(body);
          copy.patch = { supported: patch };
          copy.etag = { supported: store.etag };
          copy.filter = { supported: true, maxResults: store.maxResults };
          return json(copy);
        }
        if (store.etag && typeof b.meta?.version === 'string' && b.Resources === undefined) res.setHeader('ETag', b.meta.version);
      }
      return json(body);
    };
    next();
  });
  scim.use(
    new SCIMMYRouters({
      type: 'bearer',
      handler: (req: Request) => {
        const header = req.header('authorization') ?? '';
        const presented = /^Bearer (.+)$/i.exec(header)?.[1];
        if (presented === token) return 'steward-test';
        const exp = presented === undefined ? undefined : oauthTokens.get(presented);
        if (exp !== undefined && exp > Date.now()) return 'steward-test';
        throw new Error(presented === undefined ? 'Authorization header missing' : 'Bearer token not recognised');
      },
      context: (req: Request): Ctx => ({ store, query: req.query }),
    }),
  );
  app.use('/scim/v2', scim);
  // scimmy-routers answers 5xx itself and then passes the error on; nothing is left to send.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return;
    next(err);
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  server.keepAliveTimeout = 60_000;
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;

  return {
    url: `${base}/scim/v2`,
    token,
    ...(options.oauth === undefined ? {} : { tokenUrl: `${base}/oauth/token` }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
    users: () => [...store.users.values()].map((s) => plain<ScimUser>(store.userOut(s))),
    groups: () => [...store.groups.values()].map((s) => plain<ScimGroup>(s.value)),
    user: (userName) => {
      const id = store.userNames.get(userName.toLowerCase());
      const s = id === undefined ? undefined : store.users.get(id);
      return s === undefined ? undefined : plain<ScimUser>(store.userOut(s));
    },
    passwordOf: (id) => store.passwords.get(id),
    failNext: (status, n, retryAfter) => {
      for (let i = 0; i < n; i++) failures.push({ status, ...(retryAfter === undefined ? {} : { retryAfter }) });
    },
    holdNext: (ms, n) => {
      for (let i = 0; i < n; i++) holds.push(ms);
    },
    seedUsers: (n, opts = {}) => {
      const prefix = opts.prefix ?? 'user';
      const t = now();
      const ids: string[] = [];
      const start = store.users.size;
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        const userName = `${prefix}${start + i}`;
        const value: ScimUser = {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          id,
          userName,
          name: { givenName: 'Given', familyName: `Family${start + i}` },
          displayName: `Given Family${start + i}`,
          emails: [{ value: `${userName}@example.org`, type: 'work', primary: true }],
          active: true,
        };
        store.users.set(id, { value, version: 1, created: t, lastModified: t });
        store.userNames.set(userName.toLowerCase(), id);
        ids.push(id);
      }
      return ids;
    },
    seedGroup: (displayName, memberIds = []) => {
      const id = randomUUID();
      const t = now();
      const value: ScimGroup = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id, displayName, members: memberIds.map((m) => ({ value: m, type: 'User' })) };
      store.setMembers(id, value.members);
      store.groups.set(id, { value, version: 1, created: t, lastModified: t });
      return plain<ScimGroup>(value);
    },
    setPatch: (on) => {
      patch = on;
    },
    setEtag: (on) => {
      store.etag = on;
    },
    touchUser: (id, changes) => {
      const s = store.users.get(id);
      if (s === undefined) throw new Error(`no user ${id}`);
      s.value = { ...s.value, ...changes, id };
      s.version++;
      s.lastModified = now();
    },
    requests: () => [...log],
    clearRequests: () => {
      log = [];
    },
    tokensIssued: () => tokensIssued,
    revokeTokens: () => oauthTokens.clear(),
  };
}
