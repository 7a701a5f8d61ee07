// The identity change feed: the database announces, after commit, which identities' Users
// may read differently; `sync` waits until every change committed before it has arrived.
import { createServer, connect, type AddressInfo } from 'node:net';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgChangeFeed, type ChangedIds } from '../../src/store/change-feed.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';
import { until } from '../support/until.ts';

describe.each(testDbKinds())('identity change feed on %s', (kind) => {
  let db: Db;
  const heard: ChangedIds[] = [];
  beforeAll(async () => {
    db = await createTestDb(kind);
    db.changes.subscribe((ids) => heard.push(ids));
    expect(await db.changes.sync()).toBe(true);
  });
  afterAll(() => db?.close());

  /** What was announced from now until the next sync, flattened. */
  const announced = async (fn: () => Promise<unknown>): Promise<ChangedIds[]> => {
    heard.length = 0;
    await fn();
    expect(await db.changes.sync()).toBe(true);
    return [...heard];
  };
  const people = async (n: number): Promise<string[]> => {
    const names = Array.from({ length: n }, () => `p${Math.random().toString(36).slice(2)}`);
    const r = await sql<{ id: string }>`insert into identities (user_name, data) select u, '{}'::jsonb from unnest(${names}::text[]) u returning id`.execute(db.k);
    return r.rows.map((x) => x.id);
  };

  it('announces nothing for new identities, and the ids of updated and deleted ones after they commit', async () => {
    let ids: string[] = [];
    expect(await announced(async () => (ids = await people(3)))).toEqual([]);
    const [a, b, c] = ids;
    expect(await announced(() => sql`update identities set title = 'T' where id in (${a}, ${b})`.execute(db.k))).toEqual([expect.arrayContaining([a, b])]);
    expect(await announced(() => sql`delete from identities where id = ${c}`.execute(db.k))).toEqual([[c]]);
  });

  it('announces nothing for a rolled-back transaction', async () => {
    const [a] = await people(1);
    const heardNow = await announced(() =>
      db
        .tx(async (trx) => {
          await sql`update identities set title = 'rolled back' where id = ${a}`.execute(trx);
          throw new Error('roll back');
        })
        .catch(() => undefined),
    );
    expect(heardNow).toEqual([]);
  });

  it('announces members added to and removed from a group, and the members of a renamed group', async () => {
    const [a, b, outsider] = await people(3);
    const g = (await sql<{ id: string }>`insert into groups (display_name) values (${`g${Math.random()}`}) returning id`.execute(db.k)).rows[0]!.id;
    expect(await announced(() => sql`insert into group_members (group_id, identity_id) values (${g}, ${a}), (${g}, ${b})`.execute(db.k))).toEqual([expect.arrayContaining([a, b])]);
    const renamed = await announced(() => sql`update groups set display_name = ${`renamed ${Math.random()}`} where id = ${g}`.execute(db.k));
    expect(renamed).toEqual([expect.arrayContaining([a, b])]);
    expect(renamed.flat()).not.toContain(outsider);
    // A change to a group that leaves its name alone changes no member's User.
    expect(await announced(() => sql`update groups set description = 'd' where id = ${g}`.execute(db.k))).toEqual([]);
    expect(await announced(() => sql`delete from group_members where group_id = ${g} and identity_id = ${a}`.execute(db.k))).toEqual([[a]]);
  });

  it('announces "*" for a statement that touches more than 200 identities, and for a truncate', async () => {
    const ids = await people(201);
    expect(await announced(() => sql`update identities set title = 'many' where id = any(${ids}::uuid[])`.execute(db.k))).toEqual(['*']);
    const few = ids.slice(0, 200);
    const two = await announced(() => sql`update identities set title = 'fewer' where id = any(${few}::uuid[])`.execute(db.k));
    expect(two).toHaveLength(1);
    expect([...two[0]!].sort()).toEqual([...few].sort());
    expect(await announced(() => sql`truncate group_members`.execute(db.k))).toEqual(['*']);
  });

  if (kind === 'pglite') {
    it('has announced a change by the time the commit that made it returns', async () => {
      const [a] = await people(1);
      heard.length = 0;
      await db.tx(async (trx) => {
        await sql`update identities set title = 'seen at commit' where id = ${a}`.execute(trx);
      });
      expect(heard).toEqual([[a]]);
    });
  }

  if (kind === 'postgres') {
    it('answers every sync asked for while its listening connection is still being set up', async () => {
      // A server's first reads all come at once, while the feed connects. A marker sent before
      // the connection LISTENs for it never comes back (another listener in the database has
      // already read past it), and four such markers stalled every read for the life of the
      // process. The listening connection goes through a proxy that delays what it sends by
      // 50 ms, so reads arrive while it sets up; markers go straight to the database.
      const upstream = new URL(db.url!);
      const proxy = createServer((down) => {
        const up = connect(Number(upstream.port || 5432), upstream.hostname);
        down.on('data', (d) => setTimeout(() => up.write(d), 50));
        up.on('data', (d) => down.write(d));
        for (const s of [up, down]) s.on('error', () => undefined).on('close', () => (up.destroy(), down.destroy()));
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const via = new URL(db.url!);
      via.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const feed = pgChangeFeed(via.toString(), (text, params) => db.k.executeQuery(CompiledQuery.raw(text, params)));
      try {
        const syncs: Promise<boolean>[] = [Promise.resolve(feed.sync())];
        let first = false;
        void syncs[0]!.then(() => (first = true));
        // A sync every millisecond until the first is answered: many land between the
        // connection opening and its LISTEN statements.
        while (!first) {
          syncs.push(Promise.resolve(feed.sync()));
          await new Promise((r) => setTimeout(r, 1));
        }
        expect(syncs.length).toBeGreaterThan(20);
        const answered = await Promise.race([Promise.all(syncs), new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 5000))]);
        expect(answered).not.toBe('stalled');
        expect(answered).toEqual(syncs.map(() => true));
        // And the feed goes on answering.
        for (let i = 0; i < 10; i++) expect(await feed.sync()).toBe(true);
      } finally {
        await feed.close();
        proxy.close();
      }
    });

    it('takes its connection for lost when a marker does not come back, and recovers', async () => {
      // Markers that never reach the database (dropped by the sender) stand for any that do
      // not come back: their reads must not wait for ever.
      let drop = 4;
      const errors: Error[] = [];
      const feed = pgChangeFeed(
        db.url!,
        async (text, params) => {
          if (drop > 0) {
            drop--;
            return;
          }
          await db.k.executeQuery(CompiledQuery.raw(text, params));
        },
        { markerTimeoutMs: 300, retryMs: 100, onError: (e) => errors.push(e) },
      );
      const own: ChangedIds[] = [];
      feed.subscribe((ids) => own.push(ids));
      try {
        // Four reads, each on a marker of its own (one per turn), all dropped; a fifth waits for a free marker.
        const stuck: Promise<boolean>[] = [];
        for (let i = 0; i < 5; i++) {
          stuck.push(Promise.resolve(feed.sync()));
          await new Promise((r) => setTimeout(r, 20));
        }
        const answered = await Promise.race([Promise.all(stuck), new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 5000))]);
        expect(answered).toEqual([false, false, false, false, false]);
        expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/marker \d+ did not come back within 300 ms/)]);
        expect(own).toContain('*');
        await new Promise((r) => setTimeout(r, 150));
        expect(await feed.sync()).toBe(true);
      } finally {
        await feed.close();
      }
    });

    it('sync waits for the changes another session committed before it', async () => {
      const [a] = await people(1);
      const other = new pg.Client({ connectionString: db.url });
      await other.connect();
      try {
        for (let i = 0; i < 20; i++) {
          heard.length = 0;
          await other.query(`update identities set title = $1 where id = $2`, [`t${i}`, a]);
          expect(await db.changes.sync()).toBe(true);
          expect(heard).toEqual([[a]]);
        }
      } finally {
        await other.end();
      }
    });

    it('announces "*" when its connection is lost, cannot sync until it is back, then syncs again', async () => {
      const feed = pgChangeFeed(db.url!, (text, params) => db.k.executeQuery(CompiledQuery.raw(text, params)), { retryMs: 200 });
      const own: ChangedIds[] = [];
      feed.subscribe((ids) => own.push(ids));
      try {
        expect(await feed.sync()).toBe(true);
        own.length = 0;
        const admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        // Both feeds' listening connections (this one's and the app's).
        const killed = await admin.query(`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and application_name = 'steward change feed' and pid <> pg_backend_pid()`);
        await admin.end();
        expect(killed.rowCount).toBeGreaterThan(0);
        await until('the feed to announce "*"', () => (own.includes('*') ? true : undefined));
        expect(await feed.sync()).toBe(false);
        await new Promise((r) => setTimeout(r, 250));
        const [a] = await people(1);
        await sql`update identities set title = 'after reconnect' where id = ${a}`.execute(db.k);
        expect(await feed.sync()).toBe(true);
        own.length = 0;
        await sql`update identities set title = 'after reconnect 2' where id = ${a}`.execute(db.k);
        expect(await feed.sync()).toBe(true);
        expect(own).toEqual([[a]]);
      } finally {
        await feed.close();
      }
    });
  }
});
