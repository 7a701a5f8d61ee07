import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, testDbKinds } from '../../test/support/db.ts';
import { withSession } from './copy.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import type { Db } from './db.ts';
import { appendAudit, auditHash, listAudit, verifyAudit } from './audit.ts';

describe.each(testDbKinds())('audit chain on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind);
  });
  afterAll(() => db?.close());

  it('links each event to the one before and verifies the whole chain', async () => {
    await db.tx((trx) =>
      appendAudit(trx, [
        { actor: 'client:a', action: 'identity.create', objectType: 'identity', objectId: '1', after: { userName: 'ann', n: 1 } },
        { actor: 'client:a', action: 'identity.update', objectType: 'identity', objectId: '1', before: { userName: 'ann' }, after: { userName: 'ann2', tags: ['x'] } },
      ]),
    );
    await db.tx((trx) => appendAudit(trx, [{ actor: 'client:b', action: 'identity.delete', objectType: 'identity', objectId: '1', before: { b: 2, a: 1 } }]));
    const events = await listAudit(db.k, { limit: 10 });
    expect(events.map((e) => e.action)).toEqual(['identity.create', 'identity.update', 'identity.delete']);
    expect(events[1]!.prev_hash).toBe(events[0]!.hash);
    expect(events[2]!.prev_hash).toBe(events[1]!.hash);
    expect(await verifyAudit(db.k)).toMatchObject({ ok: true, events: 3 });
  });

  it('reports the first event whose content was changed', async () => {
    const events = await listAudit(db.k, { limit: 10 });
    await sql`update audit_events set after = '{"userName":"mallory"}' where seq = ${events[1]!.seq}`.execute(db.k);
    const v = await verifyAudit(db.k);
    expect(v).toMatchObject({ ok: false, brokenAt: events[1]!.seq });
  });

  it('reports a removed event as a broken link', async () => {
    const d2 = await createTestDb(kind);
    try {
      for (let i = 0; i < 3; i++) await d2.tx((trx) => appendAudit(trx, [{ actor: 'x', action: 'a', objectType: 't', objectId: String(i) }]));
      const events = await listAudit(d2.k, { limit: 10 });
      await sql`delete from audit_events where seq = ${events[1]!.seq}`.execute(d2.k);
      expect(await verifyAudit(d2.k)).toMatchObject({ ok: false, brokenAt: events[2]!.seq });
    } finally {
      await d2.close();
    }
  });

  it('rolls the audit back with the change it records', async () => {
    const before = (await listAudit(db.k, { limit: 100 })).length;
    await expect(
      db.tx(async (trx) => {
        await appendAudit(trx, [{ actor: 'x', action: 'a', objectType: 't', objectId: 'gone' }]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await listAudit(db.k, { limit: 100 })).length).toBe(before);
  });

  it('writes the same events through copyRows (COPY in a session on PostgreSQL) as through its JSON statement', async () => {
    const events = [
      { actor: 'client:c', action: 'identity.create', objectType: 'identity', objectId: 'c1', after: { userName: 'tab\there', note: 'back\\slash\nnew line', n: 1.5 } },
      { actor: 'client:c', action: 'identity.update', objectType: 'identity', objectId: 'c1', before: { userName: 'tab\there' }, after: ['a', null, true] },
      { actor: 'client:c', action: 'identity.delete', objectType: 'identity', objectId: null, before: 'a string' },
    ];
    // Both ways onto the same chain: the JSON statement, then copyRows; the two runs must match.
    const seen = (await listAudit(db.k, { limit: 1000 })).length;
    await db.tx((trx) => appendAudit(trx, events));
    await withSession(db, (s) => s.tx((trx) => appendAudit(trx, events, { copy: true })));
    const strip = (rows: Awaited<ReturnType<typeof listAudit>>) => rows.map(({ id: _i, seq: _s, at: _a, hash: _h, prev_hash: _p, ...rest }) => rest);
    const all = await listAudit(db.k, { limit: 1000 });
    expect(all).toHaveLength(seen + 6);
    const [plain, copied] = [all.slice(seen, seen + 3), all.slice(seen + 3)];
    expect(strip(copied)).toEqual(strip(plain));
    expect(copied[2]!.after).toBeNull();
    expect(copied[0]!.prev_hash).toBe(plain[2]!.hash);
    // The stored rows give back the hashes they were written with (what verifyAudit checks).
    for (const e of copied) {
      expect(auditHash(e.prev_hash, { at: e.at, actor: e.actor, action: e.action, objectType: e.object_type, objectId: e.object_id, before: e.before, after: e.after })).toBe(e.hash);
    }
    // Rolled back with its transaction, like the JSON statement.
    await expect(
      withSession(db, (s) =>
        s.tx(async (trx) => {
          await appendAudit(trx, events, { copy: true });
          throw new Error('boom');
        }),
      ),
    ).rejects.toThrow('boom');
    expect(await listAudit(db.k, { limit: 1000 })).toHaveLength(seen + 6);
  });

  it('stores before and after as the canonical JSON text the hash covers, on both write paths', async () => {
    const after = { zeta: 'last', alpha: { b: 2, a: [1, 'two', null] }, n: 1.5, s: 'quote " and \\ and é' };
    const before = { b: true, a: {} };
    const event = { actor: 'client:t', action: 'identity.update', objectType: 'identity', objectId: 'text1', before, after };
    await db.tx((trx) => appendAudit(trx, [event]));
    await withSession(db, (s) => s.tx((trx) => appendAudit(trx, [event], { copy: true })));
    const rows = await sql<{ before: string; after: string; hash: string; prev_hash: string; at: Date }>`
      select before::text as before, after::text as after, hash, prev_hash, at from audit_events where object_id = 'text1' order by seq`.execute(db.k);
    expect(rows.rows).toHaveLength(2);
    for (const r of rows.rows) {
      // Byte for byte what was hashed: keys sorted, no spaces (jsonb would give its own text back).
      expect(r.after).toBe(canonicalJson(after));
      expect(r.before).toBe(canonicalJson(before));
      const body = `{"action":"identity.update","actor":"client:t","after":${r.after},"at":${JSON.stringify(r.at.toISOString())},"before":${r.before},"objectId":"text1","objectType":"identity"}`;
      expect(createHash('sha256').update(`${r.prev_hash}\n${body}`).digest('hex')).toBe(r.hash);
    }
  });
});
