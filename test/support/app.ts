// An API under test: a fresh database, the services over it, and the app for inject().
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type StewardApp } from '../../src/api/app.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import type { Privilege } from '../../src/domain/privileges.ts';
import { createServices, type Services, type WorkflowOptions } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db, DbKind } from '../../src/store/db.ts';
import { createTestDb } from './db.ts';

export interface TestApp {
  app: StewardApp;
  db: Db;
  services: Services;
  /** A token of a new client holding exactly these privileges. */
  token(...privileges: Privilege[]): Promise<string>;
  /** A token of a new client acting for this identity, holding these privileges. */
  tokenFor(identityId: string, ...privileges: Privilege[]): Promise<string>;
  /** An admin token, made once. */
  admin: string;
  /** inject() with a bearer token. */
  call(token: string | undefined, method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let counter = 0;
export const uniqueName = (prefix: string): string => `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;

export interface TestAppOptions {
  /** The workflows' queue, runners and settings, made once the database exists. */
  workflows?: (db: Db) => WorkflowOptions | Promise<WorkflowOptions>;
}

export async function createTestApp(kind: DbKind, options: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDb(kind);
  const workflows = options.workflows ? await options.workflows(db) : undefined;
  const services = createServices({ db, secrets: createSecretBox(randomBytes(32)), ...(workflows ? { workflows } : {}) });
  const app = await buildApp({ services, logger: false });
  const token = async (...privileges: Privilege[]) => (await services.clients.create(SYSTEM_ACTOR, { name: uniqueName('client'), privileges })).token;
  const admin = await token('admin');
  const tokenFor = async (identityId: string, ...privileges: Privilege[]) =>
    (await services.clients.create(SYSTEM_ACTOR, { name: uniqueName('client'), privileges, identityId })).token;
  return {
    app,
    db,
    services,
    token,
    tokenFor,
    admin,
    call: (tok, method, url, body, headers = {}) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers },
        ...(body === undefined ? {} : typeof body === 'string' || Buffer.isBuffer(body) ? { payload: body } : { payload: body as object }),
      }),
    async close() {
      await app.close();
      await services.connectorAccess.close();
      await db.close();
    },
  };
}
