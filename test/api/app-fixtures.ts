// Fixtures for the application, entitlement and account tests: rows written straight to
// the store, with unique names, so each test builds what it needs.
import { identityColumns } from '../../src/store/identities.ts';
import type { Db } from '../../src/store/db.ts';
import { uniqueName, type TestApp } from '../support/app.ts';

/** A new identity; its id. */
export async function makeIdentity(db: Db, email?: string): Promise<string> {
  const userName = uniqueName('user');
  const r = await db.k
    .insertInto('identities')
    .values(identityColumns({ userName, ...(email ? { emails: [{ value: email, primary: true }] } : {}) }, null))
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

/** A new group holding these identities; its id. */
export async function makeGroup(db: Db, members: string[] = []): Promise<string> {
  const g = await db.k.insertInto('groups').values({ display_name: uniqueName('group'), data: '{}' }).returning('id').executeTakeFirstOrThrow();
  if (members.length > 0) await db.k.insertInto('group_members').values(members.map((identity_id) => ({ group_id: g.id, identity_id }))).execute();
  return g.id;
}

/** A valid scim application body; `token` is its secret. */
export const scimApp = <E extends Record<string, unknown> = Record<never, never>>(name: string, extra: E = {} as E) => ({
  name,
  connectorKind: 'scim',
  settings: { baseUrl: 'https://scim.example.com/v2' },
  secrets: { token: `tok-${name}-PLAINTEXT` },
  ...extra,
});

/** Creates an application through the API; its id. */
export async function makeApplication(t: TestApp, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.call(t.admin, 'POST', '/v1.0/applications', scimApp(uniqueName('app'), extra));
  if (res.statusCode !== 201) throw new Error(`application not created: ${res.body}`);
  return res.json().id as string;
}

/** Walks a paged GET (or search POST) to the end; every item of every page, in order. */
export async function collectPages<T>(fetchPage: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>, limit: number): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await fetchPage(cursor);
    if (page.items.length > limit) throw new Error(`a page held ${page.items.length} items, over the limit ${limit}`);
    all.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) return all;
  }
  throw new Error('paging did not end');
}
