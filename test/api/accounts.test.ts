import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { collectPages, makeApplication, makeIdentity } from './app-fixtures.ts';

interface Account {
  id: string;
  applicationId: string;
  nativeIdentity: string;
  identityId: string | null;
  state: string;
  enabled: boolean;
  locked: boolean;
  attributes: Record<string, unknown>;
}

const MISSING = '00000000-0000-4000-8000-00000000beef';

describe.each(testDbKinds())('accounts on %s', (kind) => {
  let t: TestApp;
  let token: string;
  let appId: string;
  let otherAppId: string;
  let alice: string;
  let bob: string;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    t = await createTestApp(kind);
    token = await t.token('manage-applications');
    appId = await makeApplication(t);
    otherAppId = await makeApplication(t);
    alice = await makeIdentity(t.db);
    bob = await makeIdentity(t.db);
    // Reconciliation writes accounts; here they are written straight to the store.
    const rows = [
      { native_identity: 'uid=carol', state: 'Unmatched', identity_id: null },
      { native_identity: 'uid=alice', state: 'Matched', identity_id: alice, attributes: JSON.stringify({ mail: 'alice@example.com', groups: ['sales'] }) },
      { native_identity: 'uid=bob', state: 'Matched', identity_id: bob, enabled: false },
      { native_identity: 'uid=bob-admin', state: 'Matched', identity_id: bob },
      { native_identity: 'svc_backup', state: 'Unmanaged', identity_id: null },
      { native_identity: 'svcXbackup', state: 'Orphan', identity_id: null, locked: true },
      { native_identity: 'uid=dave', state: 'Orphan', identity_id: null },
    ];
    const inserted = await t.db.k
      .insertInto('accounts')
      .values(rows.map((r) => ({ attributes: '{}', ...r, application_id: appId })))
      .returning(['id', 'native_identity'])
      .execute();
    for (const r of inserted) ids.set(r.native_identity, r.id);
    await t.db.k.insertInto('accounts').values({ application_id: otherAppId, native_identity: 'uid=alice', identity_id: alice, state: 'Matched', attributes: '{}' }).execute();
  });
  afterAll(() => t?.close());

  const url = (query = '') => `/appaccess/v1.0/applications/${appId}/accounts${query}`;
  const natives = (res: { json(): unknown }) => (res.json() as { items: Account[] }).items.map((a) => a.nativeIdentity);
  const fields = (res: { json(): unknown }) => (res.json() as { error: { problems: { field?: string }[] } }).error.problems.map((p) => p.field);

  it('lists every account of the application once, in native identity order, across pages', async () => {
    const all = await collectPages<Account>(async (cursor) => (await t.call(token, 'GET', url(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`))).json(), 2);
    const expected = [...ids.keys()].sort();
    expect(all.map((a) => a.nativeIdentity).sort()).toEqual(expected);
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length);
    expect(all.every((a) => a.applicationId === appId)).toBe(true);
    // The order is the database's, the same on every page: a second walk gives the same sequence.
    const again = await collectPages<Account>(async (cursor) => (await t.call(token, 'GET', url(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`))).json(), 3);
    expect(again.map((a) => a.id)).toEqual(all.map((a) => a.id));
  });

  it('filters by state, identity and native identity prefix (wildcards literal)', async () => {
    expect(natives(await t.call(token, 'GET', url('?state=Orphan'))).sort()).toEqual(['svcXbackup', 'uid=dave']);
    expect(natives(await t.call(token, 'GET', url(`?identityId=${bob}`))).sort()).toEqual(['uid=bob', 'uid=bob-admin']);
    expect(natives(await t.call(token, 'GET', url(`?identityId=${bob}&nativeIdentityPrefix=uid%3Dbob-`)))).toEqual(['uid=bob-admin']);
    expect(natives(await t.call(token, 'GET', url('?nativeIdentityPrefix=svc_')))).toEqual(['svc_backup']);
    expect(natives(await t.call(token, 'GET', url('?state=Matched&nativeIdentityPrefix=uid%3Da')))).toEqual(['uid=alice']);
  });

  it('shows one account with its state, flags and attributes', async () => {
    const res = await t.call(token, 'GET', url(`/${ids.get('uid=alice')}`));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: ids.get('uid=alice'),
      applicationId: appId,
      nativeIdentity: 'uid=alice',
      identityId: alice,
      state: 'Matched',
      enabled: true,
      locked: false,
      attributes: { mail: 'alice@example.com', groups: ['sales'] },
    });
    expect((await t.call(token, 'GET', url(`/${ids.get('svcXbackup')}`))).json()).toMatchObject({ state: 'Orphan', locked: true, identityId: null });
  });

  it("answers 404 for an unknown application, an unknown account, and another application's account", async () => {
    const noApp = await t.call(token, 'GET', `/appaccess/v1.0/applications/${MISSING}/accounts`);
    expect(noApp.statusCode).toBe(404);
    expect(noApp.json().error.code).toBe('application.not_found');
    const noAccount = await t.call(token, 'GET', url(`/${MISSING}`));
    expect(noAccount.statusCode).toBe(404);
    expect(noAccount.json().error.code).toBe('account.not_found');
    const elsewhere = await t.call(token, 'GET', `/appaccess/v1.0/applications/${otherAppId}/accounts/${ids.get('uid=alice')}`);
    expect(elsewhere.json().error.code).toBe('account.not_found');
  });

  it('refuses a bad state, identity, cursor or unknown parameter with 400 naming it', async () => {
    expect(fields(await t.call(token, 'GET', url('?state=Lost')))).toEqual(['querystring.state']);
    expect(fields(await t.call(token, 'GET', url('?identityId=bob')))).toEqual(['querystring.identityId']);
    expect(fields(await t.call(token, 'GET', url('?cursor=xyz')))).toEqual(['query.cursor']);
    expect(fields(await t.call(token, 'GET', url('?sort=desc')))).toEqual(['querystring.sort']);
    expect(fields(await t.call(token, 'GET', url('/nope')))).toEqual(['params.accountId']);
  });

  it('needs manage-applications', async () => {
    const other = await t.token('manage-entitlements');
    expect((await t.call(other, 'GET', url())).statusCode).toBe(403);
  });
});
