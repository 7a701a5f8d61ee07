import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertAccountPage } from '../../src/store/accounts.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

describe.each(testDbKinds())('writing pages of accounts on %s', (kind) => {
  let db: Db;
  let appId: string;
  beforeAll(async () => {
    db = await createTestDb(kind);
    const app = await db.k
      .insertInto('applications')
      .values({ name: 'target', connector_kind: 'csv', settings: '{}', secrets: '{}', account_schema: '{"attributes":[]}', capabilities: '[]', deprovisioning_policy: '{}', adoption_policy: '{}', remediation_policy: '{}', description: null, owner_id: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    appId = app.id;
  });
  afterAll(() => db?.close());

  it('inserts new accounts, updates changed ones and leaves unchanged ones alone', async () => {
    const page = [
      { nativeIdentity: 'a', attributes: { mail: 'a@x', groups: ['g1'] }, enabled: true, locked: false },
      { nativeIdentity: 'b', attributes: { mail: 'b@x' }, enabled: true, locked: false },
    ];
    expect(await upsertAccountPage(db.k, appId, page)).toEqual({ inserted: 2, updated: 0 });
    const before = await db.k.selectFrom('accounts').selectAll().where('native_identity', '=', 'b').executeTakeFirstOrThrow();
    const next = [
      { nativeIdentity: 'a', attributes: { mail: 'a@x', groups: ['g1', 'g2'] }, enabled: true, locked: false },
      { nativeIdentity: 'b', attributes: { mail: 'b@x' }, enabled: true, locked: false },
      { nativeIdentity: 'c', attributes: {}, enabled: false, locked: true },
    ];
    expect(await upsertAccountPage(db.k, appId, next)).toEqual({ inserted: 1, updated: 1 });
    const rows = await db.k.selectFrom('accounts').selectAll().where('application_id', '=', appId).orderBy('native_identity').execute();
    expect(rows.map((r) => [r.native_identity, r.state, r.enabled, r.locked])).toEqual([
      ['a', 'Unmatched', true, false],
      ['b', 'Unmatched', true, false],
      ['c', 'Unmatched', false, true],
    ]);
    expect(rows[0]!.attributes).toEqual({ mail: 'a@x', groups: ['g1', 'g2'] });
    expect(rows[1]!.updated_at).toEqual(before.updated_at);
  });
});
