// copyRows: COPY FROM STDIN on PostgreSQL (alone, or inside a session's transaction),
// batched INSERT on PGlite; every value comes back exactly as written, hostile ones too.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyField, copyRows, withSession, type CopyValue } from '../../src/store/copy.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

const HOSTILE = [
  'tab\there',
  'new\nline',
  'carriage\rreturn\r\n',
  'back\\slash\\',
  '\\N',
  '\\\\N',
  '\\.',
  '\\',
  "single ' and double \" quotes",
  ',comma,"csv",\n"quoted"',
  '',
  ' ',
  'ünïcödé ✓ 中文 العربية 🙂 e\u0301 \u2028\u2029 \ufeff',
  '\u0001\u0002\u001f\u007f',
  'x'.repeat(1_000_000) + '\t\n\\',
];

describe('copyField', () => {
  it('escapes backslash, newline, carriage return and tab, writes NULL as \\N and refuses NUL', () => {
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField(null)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    expect(copyField(true)).toBe('t');
    expect(copyField(12n)).toBe('12');
    expect(copyField(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05.678Z');
    expect(copyField(new Uint8Array([0, 255]))).toBe('\\\\x00ff');
    expect(copyField({ a: 'x\ty' })).toBe('{"a":"x\\\\ty"}');
    expect(() => copyField('a\0b', () => 'row 3, column name')).toThrow(/row 3, column name holds a NUL character/);
    expect(() => copyField(new Date(Number.NaN))).toThrow(/invalid Date/);
  });
});

describe.each(testDbKinds())('copyRows on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind);
    await sql`create table copy_t (id integer primary key, t text, j jsonb, b boolean, n numeric, ts timestamptz, bin bytea, "Odd ""name""" text)`.execute(db.k);
  });
  afterAll(() => db?.close());

  const COLUMNS = ['id', 't', 'j', 'b', 'n', 'ts', 'bin', 'Odd "name"'];
  const clear = () => sql`delete from copy_t`.execute(db.k);
  const read = async () => (await sql<{ id: number; t: string | null; j: unknown; b: boolean | null; n: string | null; ts: Date | null; bin: Uint8Array | null; odd: string | null }>`select id, t, j, b, n::text as n, ts, bin, "Odd ""name""" as odd from copy_t order by id`.execute(db.k)).rows;

  it('writes hostile strings, JSON, NULLs, booleans, numbers, dates and bytes exactly (a Db: its own connection on PostgreSQL)', async () => {
    await clear();
    const when = new Date('2026-11-24T10:11:12.345Z');
    const rows: CopyValue[][] = HOSTILE.map((s, i) => [i, s, { s, list: [s, null, 1.5, true], nested: { '\t key\n': s } }, i % 2 === 0, i === 0 ? '12345678901234567890.123' : i, when, Buffer.from(s.slice(0, 100), 'utf8'), s]);
    rows.push([1000, null, null, null, null, null, null, undefined]);
    expect(await copyRows(db, 'copy_t', COLUMNS, rows)).toBe(rows.length);
    const back = await read();
    expect(back).toHaveLength(rows.length);
    HOSTILE.forEach((s, i) => {
      const r = back[i]!;
      expect(r.t).toBe(s);
      expect(r.odd).toBe(s);
      expect(r.j).toEqual({ s, list: [s, null, 1.5, true], nested: { '\t key\n': s } });
      expect(r.b).toBe(i % 2 === 0);
      expect(r.n).toBe(i === 0 ? '12345678901234567890.123' : String(i));
      expect(r.ts!.getTime()).toBe(when.getTime());
      expect(Buffer.from(r.bin!).toString('utf8')).toBe(s.slice(0, 100));
    });
    expect(back[HOSTILE.length]).toEqual({ id: 1000, t: null, j: null, b: null, n: null, ts: null, bin: null, odd: null });
  });

  it('any string but NUL comes back as written (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 20 }), async (strings) => {
        await clear();
        await copyRows(db, 'copy_t', ['id', 't', 'j'], strings.map((s, i) => [i, s, [s]]));
        const back = await read();
        // The driver writes UTF-8: a lone surrogate becomes U+FFFD, as it would through INSERT.
        const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
        expect(back.map((r) => r.t)).toEqual(strings.map(utf8));
        expect(back.map((r) => r.j)).toEqual(strings.map((s) => [utf8(s)]));
      }),
      { numRuns: 25 },
    );
  });

  it("inside a session's transaction the rows commit with it, and roll back with it", async () => {
    await clear();
    await withSession(db, async (s) => {
      await s.tx(async (tx) => {
        await copyRows(tx, 'copy_t', ['id', 't'], [[1, 'kept']]);
        await sql`insert into copy_t (id, t) values (2, 'also kept')`.execute(tx);
      });
      await expect(
        s.tx(async (tx) => {
          await copyRows(tx, 'copy_t', ['id', 't'], [[3, 'rolled back']]);
          throw new Error('after the copy');
        }),
      ).rejects.toThrow('after the copy');
      // The session's connection still works after the rolled-back transaction.
      expect((await sql<{ n: number }>`select count(*)::int as n from copy_t`.execute(s.k)).rows[0]!.n).toBe(2);
    });
    expect((await read()).map((r) => r.t)).toEqual(['kept', 'also kept']);
  });

  it('an async iterable of many rows is streamed (more than one INSERT batch or COPY chunk)', async () => {
    await clear();
    async function* many() {
      for (let i = 0; i < 12_000; i++) yield [i, `row ${i}\t${'y'.repeat(i % 50)}`] as const;
    }
    expect(await copyRows(db, 'copy_t', ['id', 't'], many())).toBe(12_000);
    const r = (await sql<{ n: number; last: string }>`select count(*)::int as n, max(t) filter (where id = 11999) as last from copy_t`.execute(db.k)).rows[0]!;
    expect(r).toEqual({ n: 12_000, last: `row 11999\t${'y'.repeat(11999 % 50)}` });
  });

  it('a NUL character, a short row or a broken constraint fails the whole call, naming the row; nothing is written and the session stays usable', async () => {
    await clear();
    await withSession(db, async (s) => {
      await expect(s.tx((tx) => copyRows(tx, 'copy_t', ['id', 't'], [[1, 'fine'], [2, 'nul\0here']]))).rejects.toThrow(/row 2, column t holds a NUL character/);
      await expect(s.tx((tx) => copyRows(tx, 'copy_t', ['id', 't'], [[1, 'fine'], [2]]))).rejects.toThrow(/row 2 has 1 values for 2 columns/);
      const dup = await s.tx((tx) => copyRows(tx, 'copy_t', ['id', 't'], [[1, 'a'], [1, 'duplicate key']])).catch((e: unknown) => e as Error & { where?: string });
      expect(dup).toBeInstanceOf(Error);
      expect((dup as Error).message).toMatch(/duplicate key|unique/);
      // On PostgreSQL the rows went through COPY, on the session's connection.
      if (kind === 'postgres') expect((dup as { where?: string }).where).toMatch(/^COPY copy_t, line 2/);
      await s.tx((tx) => copyRows(tx, 'copy_t', ['id', 't'], [[5, 'after the failures']]));
    });
    expect((await read()).map((r) => [r.id, r.t])).toEqual([[5, 'after the failures']]);
  });

  it('refuses empty column lists and bad names', async () => {
    await expect(copyRows(db, 'copy_t', [], [[1]])).rejects.toThrow(/no columns/);
    await expect(copyRows(db, '', ['id'], [[1]])).rejects.toThrow(/table name is empty/);
    await expect(copyRows(db, 'copy_t', ['id', 'no_such_column'], [[1, 'x']])).rejects.toThrow(/no_such_column/);
  });
});
