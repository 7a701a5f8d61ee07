/**
 * The HTTP API for a CLI command: the running embedded server's, through the control token
 * in the data directory, when one holds the directory; else the same routes built in this
 * process over the database. Both paths check and answer alike.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../api/app.ts';
import { createAuthenticator } from '../api/auth.ts';
import type { Actor } from '../domain/actor.ts';
import { readLock } from '../store/lock.ts';
import type { Config } from './config.ts';
import { openRuntime } from './runtime.ts';
import { CONTROL_TOKEN_FILE } from './serve.ts';

const CLI_ACTOR: Actor = { kind: 'cli', id: null, name: process.env.USER ?? 'local', privileges: ['admin'] };

export type Call = (method: string, path: string, body?: unknown) => Promise<unknown>;

function answer(status: number, text: string): unknown {
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (status >= 400) throw new Error((json as { error?: { message?: string } } | undefined)?.error?.message ?? `the server answered ${status}`);
  return json;
}

/** Runs `fn` with an API caller: the running server's, or an in-process one over the database. */
export async function withApi<T>(config: Config, command: string, fn: (call: Call) => Promise<T>): Promise<T> {
  if (!config.databaseUrl) {
    const holder = readLock(config.dataDir);
    if (holder?.serverUrl) {
      const token = readFileSync(join(config.dataDir, CONTROL_TOKEN_FILE), 'utf8').trim();
      return fn(async (method, path, body) => {
        let res: Response;
        try {
          res = await fetch(holder.serverUrl + path, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        } catch (e) {
          throw new Error(`could not reach the running server (pid ${holder.pid}) at ${holder.serverUrl}: ${(e as Error).message}`, { cause: e });
        }
        return answer(res.status, await res.text());
      });
    }
  }
  const rt = await openRuntime(config, command);
  const token = randomBytes(32).toString('base64url');
  const expected = Buffer.from(token);
  const app = await buildApp({
    services: rt.services,
    logger: false,
    authenticator: createAuthenticator(rt.services.clients, (t) => {
      const given = Buffer.from(t);
      return given.length === expected.length && timingSafeEqual(given, expected) ? CLI_ACTOR : undefined;
    }),
  });
  try {
    return await fn(async (method, path, body) => {
      const res = await app.inject({ method: method as 'GET', url: path, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
      return answer(res.statusCode, res.body);
    });
  } finally {
    await app.close();
    await rt.close();
  }
}

