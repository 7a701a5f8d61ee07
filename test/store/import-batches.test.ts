// The CSV import over many small batches: on PostgreSQL two batches are in flight at once (one
// writes its people while the one before it writes its audit events and commits), on PGlite one.
// What a single-batch upload cannot show: rows that share a person or a manager across batches,
// a clash with a row of the batch before, and the audit chain and lifecycle events across them.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { importUsers } from '../../src/services/import-users.ts';
import { GENESIS_HASH, appendAudit, appendPreparedAudit, auditHash, prepareAudit, sealAudit, verifyAudit } from '../../src/store/audit.ts';
import { withSession } from '../../src/store/copy.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

const csv = (lines: string[]) => Readable.from([lines.join('\n') + '\n']);

describe.each(testDbKinds())('CSV import in many batches on %s', (kind) => {
  let db: Db;
  const identity = (userName: string) => db.k.selectFrom('identities').selectAll().where('user_name', '=', userName).executeTakeFirstOrThrow();
  const events = (id: string) =>
    db.k.selectFrom('lifecycle_events').select('kind').where('identity_id', '=', id).orderBy('seq').execute().then((r) => r.map((e) => e.kind));

  beforeAll(async () => {
    db = await createTestDb(kind);
  });
  afterAll(() => db?.close());

  it('writes every batch once, in order, with its audit events and lifecycle events, managers from earlier batches set at creation', async () => {
    const lines = ['userName,externalId,givenName,manager'];
    for (let i = 0; i < 40; i++) lines.push(`p${i},X${i},Given${i},${i === 0 ? '' : `p${i - 1}`}`);
    // A person seen again later in the file: the later row wins, as an update of the first.
    lines.push('p3,X3,Third,p2');
    // externalId of p5, under another name: clashes with a row of an earlier batch and is rejected alone.
    lines.push('dup,X5,Dup,');
    lines.push('q0,Q0,Last,');
    const report = await importUsers(db, SYSTEM_ACTOR, csv(lines), { key: 'userName', batchSize: 3 });
    expect(report).toMatchObject({ rows: 43, created: 41, updated: 1, unchanged: 0, rejectedCount: 1 });
    expect(report.rejected).toEqual([{ line: 43, key: 'dup', reason: "externalId 'X5' belongs to another identity" }]);
    expect(report.warnings).toEqual([]);

    expect((await identity('p1')).manager_id).toBe((await identity('p0')).id);
    // Batches of three: p9 opens a batch, and its manager p8 is in the batch before.
    const p9 = await identity('p9');
    expect(p9.manager_id).toBe((await identity('p8')).id);
    expect((await identity('p3')).given_name).toBe('Third');
    // One create event and one lifecycle event, nothing more: the manager was set when p9 was written.
    expect(await events(p9.id)).toEqual(['identity.created']);
    const audit = await db.k.selectFrom('audit_events').select(['action', 'object_id']).where('object_id', '=', p9.id).execute();
    expect(audit.map((a) => a.action)).toEqual(['identity.create']);
    const p3 = await identity('p3');
    expect(await events(p3.id)).toEqual(['identity.created', 'identity.attributes_changed']);
    const all = await db.k.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(all.n)).toBe(42);
    expect(await verifyAudit(db.k)).toMatchObject({ ok: true, events: 42 });
    // New people get time-ordered ids (UUIDv7), in the order of the file.
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => identity(`p${i}`).then((r) => r.id)));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
  });

  it('a re-import of the same file in many batches changes nothing and writes no event', async () => {
    const lines = ['userName,externalId,givenName,manager'];
    for (let i = 0; i < 12; i++) lines.push(`r${i},R${i},Given${i},${i === 0 ? '' : `r${i - 1}`}`);
    expect(await importUsers(db, SYSTEM_ACTOR, csv(lines), { key: 'userName', batchSize: 2 })).toMatchObject({ created: 12, updated: 0 });
    const before = await db.k.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow();
    expect(await importUsers(db, SYSTEM_ACTOR, csv(lines), { key: 'userName', batchSize: 2 })).toMatchObject({ created: 0, updated: 0, unchanged: 12 });
    const after = await db.k.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirstOrThrow();
    expect(after.seq).toBe(before.seq);
    expect(await verifyAudit(db.k)).toMatchObject({ ok: true });
  });

  it('without a batch size, the first batch is 100 rows and each next one twice the one before, up to the batch size', async () => {
    const lines = ['userName,givenName'];
    for (let i = 0; i < 1000; i++) lines.push(`ramp${i},Given${i}`);
    const created: number[] = [];
    const report = await importUsers(db, SYSTEM_ACTOR, csv(lines), { key: 'userName', onProgress: (p) => created.push(p.created) });
    expect(report).toMatchObject({ rows: 1000, created: 1000 });
    // Batches of 100, 200, 400, then the 300 left (the batch size is 500 on PGlite, 2000 on PostgreSQL).
    expect(created).toEqual([100, 300, 700, 1000]);
  });

  it('imports a body handed over in one piece longer than several parse slices, characters cut between slices included', async () => {
    const names = Array.from({ length: 800 }, (_, i) => `Élodie-ß-日本-${i}-${'é'.repeat(i % 7)}`);
    const body = Buffer.from(['userName,givenName', ...names.map((n, i) => `slice${i},${n}`)].join('\n') + '\n');
    expect(body.length).toBeGreaterThan(3 * 8192);
    const report = await importUsers(db, SYSTEM_ACTOR, Readable.from([body]), { key: 'userName' });
    expect(report).toMatchObject({ rows: 800, created: 800, rejectedCount: 0 });
    const stored = await db.k.selectFrom('identities').select(['user_name', 'given_name']).where('user_name', 'like', 'slice%').execute();
    expect(new Map(stored.map((r) => [r.user_name, r.given_name]))).toEqual(new Map(names.map((n, i) => [`slice${i}`, n])));
  });

  it('prepared audit events hash and store exactly as the chain verifies them', async () => {
    const odd = { b: 'tab\there, newline\nthere, back\\slash, "quotes", é, \u2028', a: [1, null, { z: true, y: 2.5 }], '10': 'ten', '9': 'nine' };
    const prepared = prepareAudit([
      { actor: 'tester\t1', action: 'thing.update', objectType: 'thing', objectId: null, before: odd, after: { ...odd, b: 'changed' } },
      { actor: 'tester', action: 'thing.create', objectType: 'thing', objectId: 'x\ny' },
    ]);
    const last = await db.k.selectFrom('audit_events').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    await withSession(db, (s) => s.tx((trx) => appendPreparedAudit(trx, prepared, { copy: kind === 'postgres' })));
    const rows = await db.k.selectFrom('audit_events').selectAll().where('object_type', '=', 'thing').orderBy('seq').execute();
    expect(rows.map((r) => [r.actor, r.object_id, r.before, r.after])).toEqual([
      ['tester\t1', null, odd, { ...odd, b: 'changed' }],
      ['tester', 'x\ny', null, null],
    ]);
    expect(rows[0]!.prev_hash).toBe(last?.hash ?? GENESIS_HASH);
    const e = rows[1]!;
    expect(e.hash).toBe(auditHash(rows[0]!.hash, { at: e.at, actor: e.actor, action: e.action, objectType: e.object_type, objectId: e.object_id, before: e.before, after: e.after }));
    expect(await verifyAudit(db.k)).toMatchObject({ ok: true });
  });

  it('events linked ahead of the lock are written with those links while the chain still ends there, and linked again after another writer', async () => {
    const copy = kind === 'postgres';
    const last = async () => (await db.k.selectFrom('audit_events').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst())?.hash ?? GENESIS_HASH;
    const write = (p: ReturnType<typeof prepareAudit>) => withSession(db, (s) => s.tx((trx) => appendPreparedAudit(trx, p, { copy })));
    const pause = () => new Promise((r) => setTimeout(r, 5));

    const first = prepareAudit([
      { actor: 'sealer', action: 'thing.seal', objectType: 'thing', objectId: 's1', after: { n: 1 } },
      { actor: 'sealer', action: 'thing.seal', objectType: 'thing', objectId: 's2', after: { n: 2 } },
    ]);
    const sealedHash = sealAudit(first, await last(), { copy });
    // Later than the link: events linked again now would get another time, and another hash.
    await pause();
    await write(first);
    expect(await last()).toBe(sealedHash);

    const second = prepareAudit([{ actor: 'sealer', action: 'thing.seal', objectType: 'thing', objectId: 's3' }]);
    const staleHash = sealAudit(second, await last(), { copy });
    await db.tx((trx) => appendAudit(trx, [{ actor: 'other', action: 'thing.touch', objectType: 'thing', objectId: 'o1' }]));
    const other = await last();
    await write(second);
    const s3 = await db.k.selectFrom('audit_events').selectAll().where('object_id', '=', 's3').executeTakeFirstOrThrow();
    expect(s3.prev_hash).toBe(other);
    expect(s3.hash).not.toBe(staleHash);
    expect(await verifyAudit(db.k)).toMatchObject({ ok: true });
  });
});
