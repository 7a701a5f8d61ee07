// Staging: the snapshot hash computed in the process equals the one the database computed
// before staging was written with COPY (md5 of the jsonb text), so stored accounts' hashes
// stay valid; and a staged page keeps hostile values intact.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountItem } from '../../src/connectors/index.ts';
import { jsonbText, snapshotHash, stageAccounts } from '../../src/reconcile/stage.ts';
import { withSession } from '../../src/store/copy.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

const noNul = (v: unknown): boolean => !JSON.stringify(v).includes('\\u0000');

describe.each(testDbKinds())('staging on %s', (kind) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kind);
  });
  afterAll(() => db?.close());

  const dbText = async (v: unknown) => (await sql<{ t: string }>`select (${JSON.stringify(v)}::jsonb)::text as t`.execute(db.k)).rows[0]!.t;
  const dbHash = async (a: unknown, e: boolean, l: boolean, g: unknown) =>
    (await sql<{ h: string }>`select md5(jsonb_build_array(${JSON.stringify(a)}::jsonb, ${e}::boolean, ${l}::boolean, ${JSON.stringify(g)}::jsonb)::text) as h`.execute(db.k)).rows[0]!.h;

  it('jsonbText prints a value as the database prints it as jsonb: key order, spacing, escapes, numbers', async () => {
    const values: unknown[] = [
      { b: 1, a: 2, aa: 3, ä: 4, z: 5, '': 6, 'é\u0301': 7, '🙂': 8 },
      { nested: { y: [1, 2.5, -0.125, true, false, null, 'x'], x: {} }, list: [] },
      { n: [1e21, 1.5e-7, -2e-10, 123456789012345680000, 0.1, 5e-324, 1.7976931348623157e308] },
      { s: 'tab\t nl\n cr\r quote" back\\ ctrl\u0001\u001f del\u007f \u2028 ünï 中 🙂 </script>' },
    ];
    for (const v of values) expect(jsonbText(v)).toBe(await dbText(v));
  });

  it('the snapshot hash equals md5 of jsonb_build_array(attributes, enabled, locked, entitlements)::text (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()).filter(noNul), fc.boolean(), fc.boolean(), async (attributes, enabled, locked) => {
        const entitlements = [{ kind: 'group' as const, nativeValue: 'cn=ops' }];
        // Through JSON first, as the value reaches the database: -0 and the like as JSON has them.
        const a = JSON.parse(JSON.stringify(attributes)) as Record<string, unknown>;
        expect(snapshotHash(a, enabled, locked, entitlements)).toBe(await dbHash(a, enabled, locked, entitlements));
      }),
      { numRuns: 60 },
    );
  });

  it('a page is staged with every value intact, each account once, in the transaction that writes it', async () => {
    const runId = '00000000-0000-4000-8000-000000000001';
    const hostile = 'a\tb\nc\\d \\N "q" \'s\' 🙂';
    const items: AccountItem[] = [
      { nativeIdentity: hostile, attributes: { [hostile]: hostile, list: [hostile, 'x'] }, enabled: true, locked: false, entitlements: [{ kind: 'group' as const, nativeValue: 'b' }, { kind: 'group' as const, nativeValue: 'a' }] },
      { nativeIdentity: 'twice', attributes: { v: 1 }, enabled: false, locked: true, entitlements: [] },
      { nativeIdentity: 'twice', attributes: { v: 2 }, enabled: false, locked: true, entitlements: [] },
    ];
    await withSession(db, async (s) => {
      await expect(
        s.tx(async (tx) => {
          await stageAccounts(tx, runId, 0, items);
          throw new Error('the cursor write failed');
        }),
      ).rejects.toThrow('the cursor write failed');
      expect(await s.tx((tx) => stageAccounts(tx, runId, 3, items))).toBe(2);
    });
    const rows = await db.k.selectFrom('reconciliation_staging').selectAll().where('run_id', '=', runId).orderBy('native_identity').execute();
    expect(rows.map((r) => [r.native_identity, r.page, r.attributes, r.enabled, r.locked, r.entitlements])).toEqual([
      [hostile, 3, { [hostile]: hostile, list: [hostile, 'x'] }, true, false, [{ kind: 'group', nativeValue: 'a' }, { kind: 'group', nativeValue: 'b' }]],
      ['twice', 3, { v: 1 }, false, true, []],
    ]);
    expect(rows[0]!.hash).toBe(await dbHash(rows[0]!.attributes, true, false, rows[0]!.entitlements));
  });
});
