import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import { isPrivilege, type Privilege } from '../domain/privileges.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import { isUniqueViolation } from '../store/errors.ts';
import type { ApiClientRow } from '../store/tables.ts';

/** An API client as the API shows it: never its token or hash. */
export interface ApiClient {
  id: string;
  name: string;
  privileges: Privilege[];
  /** The identity the client acts for (as requester or approver); null for a machine client. */
  identityId: string | null;
  tokenPrefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const TOKEN_RE = /^stw_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();
/** Tokens Steward makes carry their lookup prefix; others (a chosen bootstrap token) are found by a hash prefix. */
const prefixOf = (token: string): string => TOKEN_RE.exec(token)?.[1] ?? `h${createHash('sha256').update(token).digest('hex').slice(0, 11)}`;
const MIN_CHOSEN_TOKEN = 32;

const toClient = (r: ApiClientRow): ApiClient => ({
  id: r.id,
  name: r.name,
  privileges: r.privileges.filter(isPrivilege),
  identityId: r.identity_id,
  tokenPrefix: r.token_prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** Makes a new token: a public prefix to find the client by, and 256 random bits. */
export function newToken(): { token: string; prefix: string } {
  const prefix = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, 'x').slice(0, 12).padEnd(12, 'x');
  return { token: `stw_${prefix}_${randomBytes(32).toString('base64url')}`, prefix };
}

export interface ClientService {
  create(actor: Actor, input: { name: string; privileges: string[]; token?: string; identityId?: string | null }): Promise<{ client: ApiClient; token: string }>;
  list(page: { afterName?: string; limit: number }): Promise<ApiClient[]>;
  get(id: string): Promise<ApiClient>;
  revoke(actor: Actor, id: string): Promise<ApiClient>;
  /** The client a bearer token belongs to, or undefined; compares hashes in constant time. */
  authenticate(token: string): Promise<ApiClient | undefined>;
  count(): Promise<number>;
  /** Calls `listener` with a client's id each time this service has revoked it (after the commit). */
  onRevoke(listener: (clientId: string) => void): void;
}

export function createClientService(db: Db): ClientService {
  const revokeListeners: ((clientId: string) => void)[] = [];
  const validate = (name: string, privileges: string[]): Privilege[] => {
    if (!/^[\w .@-]{1,100}$/.test(name)) {
      throw new StewardError('request.invalid', 'name: 1 to 100 letters, digits, spaces and . _ @ -', { problems: [{ code: 'request.invalid', field: 'name', message: 'must be 1 to 100 letters, digits, spaces and . _ @ -' }] });
    }
    if (privileges.length === 0) {
      throw new StewardError('client.invalid_privilege', 'privileges: name at least one privilege', { problems: [{ code: 'client.invalid_privilege', field: 'privileges', message: 'at least one privilege is needed' }] });
    }
    const bad = privileges.filter((p) => !isPrivilege(p));
    if (bad.length > 0) {
      throw new StewardError('client.invalid_privilege', `privileges: unknown privilege ${bad.map((b) => `'${b}'`).join(', ')}`, {
        problems: bad.map((b) => ({ code: 'client.invalid_privilege', field: 'privileges', message: `'${b}' is not a privilege` })),
      });
    }
    return [...new Set(privileges)] as Privilege[];
  };

  return {
    async create(actor, input) {
      const privileges = validate(input.name, input.privileges);
      let token: string;
      let prefix: string;
      if (input.token !== undefined) {
        if (input.token.length < MIN_CHOSEN_TOKEN || /\s/.test(input.token)) {
          throw new StewardError('request.invalid', `token: a chosen token needs at least ${MIN_CHOSEN_TOKEN} characters and no white space`);
        }
        token = input.token;
        prefix = prefixOf(token);
      } else {
        ({ token, prefix } = newToken());
      }
      try {
        const row = await db.tx(async (trx) => {
          if (input.identityId) {
            const who = await trx.selectFrom('identities').select('id').where('id', '=', input.identityId).executeTakeFirst();
            if (!who) throw new StewardError('identity.not_found', `identityId: no identity has id ${input.identityId}`);
          }
          const r = await trx
            .insertInto('api_clients')
            .values({ name: input.name, token_prefix: prefix, token_hash: hashToken(token), privileges, identity_id: input.identityId ?? null })
            .returningAll()
            .executeTakeFirstOrThrow();
          await appendAudit(trx, [{ actor: actorLabel(actor), action: 'client.create', objectType: 'client', objectId: r.id, after: toClient(r) }]);
          return r;
        });
        return { client: toClient(row), token };
      } catch (e) {
        if (isUniqueViolation(e, 'api_clients_name_key')) throw new StewardError('client.duplicate_name', `name: an API client named '${input.name}' exists already`);
        throw e;
      }
    },
    async list({ afterName, limit }) {
      let q = db.k.selectFrom('api_clients').selectAll();
      if (afterName !== undefined) q = q.where('name', '>', afterName);
      return (await q.orderBy('name').orderBy('id').limit(limit).execute()).map(toClient);
    },
    async get(id) {
      const r = await db.k.selectFrom('api_clients').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw new StewardError('client.not_found', `no API client has id ${id}`);
      return toClient(r);
    },
    async revoke(actor, id) {
      const client = await db.tx(async (trx) => {
        const before = await trx.selectFrom('api_clients').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
        if (!before) throw new StewardError('client.not_found', `no API client has id ${id}`);
        if (before.revoked_at) return toClient(before);
        const r = await trx.updateTable('api_clients').set({ revoked_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        await appendAudit(trx, [{ actor: actorLabel(actor), action: 'client.revoke', objectType: 'client', objectId: id, before: toClient(before), after: toClient(r) }]);
        return toClient(r);
      });
      for (const l of revokeListeners) l(client.id);
      return client;
    },
    async authenticate(token) {
      if (token.length < MIN_CHOSEN_TOKEN || token.length > 512) return undefined;
      const r = await db.k.selectFrom('api_clients').selectAll().where('token_prefix', '=', prefixOf(token)).executeTakeFirst();
      if (!r || r.revoked_at) return undefined;
      const stored = Buffer.from(r.token_hash);
      const given = hashToken(token);
      if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
      return toClient(r);
    },
    async count() {
      const r = await db.k.selectFrom('api_clients').select((eb) => eb.fn.countAll<number>().as('n')).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    onRevoke(listener) {
      revokeListeners.push(listener);
    },
  };
}
