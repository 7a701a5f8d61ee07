// Logs are structured JSON and never carry a token, even at the most verbose level.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type StewardApp } from '../../src/api/app.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createServices } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb } from '../support/db.ts';

describe('logs', () => {
  let db: Db;
  let app: StewardApp;
  const lines: string[] = [];
  beforeAll(async () => {
    db = await createTestDb('pglite');
    const services = createServices({ db, secrets: createSecretBox(randomBytes(32)) });
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    app = await buildApp({ services, logger: { level: 'trace', stream } });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('are JSON lines without the bearer token or a created token', async () => {
    const { token } = await createServices({ db, secrets: createSecretBox(randomBytes(32)) }).clients.create(SYSTEM_ACTOR, { name: 'logger-admin', privileges: ['admin'] });
    const res = await app.inject({ method: 'POST', url: '/v1.0/clients', headers: { authorization: `Bearer ${token}` }, payload: { name: 'made', privileges: ['approve'] } });
    const made = res.json<{ token: string }>().token;
    await app.inject({ method: 'GET', url: '/v1.0/clients', headers: { authorization: `Bearer ${made}` } });
    await app.inject({ method: 'GET', url: '/v1.0/clients', headers: { authorization: 'Bearer stw_aaaaaaaaaaaa_wrongwrongwrongwrongwrongwrongwrongwrongwro' } });
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
    const all = lines.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(made);
    expect(all).not.toContain('wrongwrongwrong');
  });
});
