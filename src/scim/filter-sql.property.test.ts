// Random filters, run three ways (SQL with columns, SQL over jsonb only, in memory): the
// three must select the same users, so the SQL and the PATCH-side evaluator cannot drift.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindFilter } from './filter-bind.ts';
import { evaluateFilter } from './filter-eval.ts';
import type { FilterSqlMapping } from './filter-sql.ts';
import { compileFilter } from './filter-sql.ts';
import { USERS } from './filter-sql.fixtures.ts';
import { parseFilter } from './filter.ts';
import { USER_RESOURCE } from './schemas.ts';
import type { TestDb } from './test-db.ts';
import { testDatabases } from './test-db.ts';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const STRING_ATTRS = ['userName', 'title', 'userType', 'name.familyName', 'externalId', 'emails', 'emails.value', 'emails.type', `${ENT}:department`, 'id'];
const STRING_VALUES = ['bjensen', 'J', 'j', 'smith', 'example', '@example.com', 'work', 'home', '%', '_', '\\', "'", '', 'Tour', 'tour operations', 'R&D', 'o', 'ABC-def', 'abc-def', '2819c223'];
const DATES = ['2011-05-13T04:42:34Z', '2011-05-13T06:42:34+02:00', '2012-01-01', '2013-02-03T08:00:00Z', '2010-06-01T12:00:00.25Z', '2020-01-01T00:00:00Z'];
const STRING_OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const ORDER_OPS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];

const q = (s: string) => JSON.stringify(s);
const leaf = fc.oneof(
  fc.tuple(fc.constantFrom(...STRING_ATTRS), fc.constantFrom(...STRING_OPS), fc.constantFrom(...STRING_VALUES)).map(([a, o, v]) => `${a} ${o} ${q(v)}`),
  fc.tuple(fc.constantFrom('active', 'emails.primary'), fc.constantFrom('eq', 'ne'), fc.constantFrom('true', 'false', 'null')).map(([a, o, v]) => `${a} ${o} ${v}`),
  fc.tuple(fc.constantFrom('meta.lastModified', 'meta.created'), fc.constantFrom(...ORDER_OPS), fc.constantFrom(...DATES)).map(([a, o, v]) => `${a} ${o} ${q(v)}`),
  fc.constantFrom(...STRING_ATTRS, 'active', 'name', 'emails', 'ims', `${ENT}:manager`, 'meta.lastModified').map((a) => `${a} pr`),
  fc
    .tuple(fc.constantFrom('type', 'value', 'display'), fc.constantFrom(...STRING_OPS), fc.constantFrom(...STRING_VALUES), fc.boolean())
    .map(([a, o, v, primary]) => `emails[${a} ${o} ${q(v)}${primary ? ' and primary eq true' : ''}]`),
);

const filterText: fc.Arbitrary<string> = fc.letrec<{ f: string }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('f'), fc.constantFrom('and', 'or'), tie('f')).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie('f').map((a) => `not (${a})`),
    tie('f').map((a) => `(${a})`),
  ),
})).f;

const WITH_COLUMNS: FilterSqlMapping = {
  resource: USER_RESOURCE,
  json: sql.ref('data'),
  columns: {
    username: { sql: sql.ref('user_name') },
    externalid: { sql: sql.ref('external_id') },
    active: { sql: sql.ref('active') },
    'meta.lastmodified': { sql: sql.ref('updated_at') },
  },
};
const JSON_ONLY: FilterSqlMapping = { resource: USER_RESOURCE, json: sql.ref('data') };

describe.each(testDatabases())('SQL and in-memory filters agree on $name', ({ open }) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await open();
    for (const u of USERS) {
      const r = u.resource;
      await t.db
        .insertInto('scim_users')
        .values({
          id: u.id,
          user_name: r.userName as string,
          external_id: (r.externalId as string | undefined) ?? null,
          active: (r.active as boolean | undefined) ?? null,
          updated_at: (r.meta as { lastModified: string }).lastModified,
          data: JSON.stringify(r),
        })
        .execute();
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('on 300 random filters', async () => {
    await fc.assert(
      fc.asyncProperty(filterText, async (text) => {
        const parsed = parseFilter(text);
        if (!parsed.ok) throw new Error(`${text}: ${parsed.errors[0]!.message}`);
        const bound = bindFilter(parsed.value, USER_RESOURCE);
        if (!bound.ok) throw new Error(`${text}: ${bound.errors[0]!.message}`);
        const expected = USERS.filter((u) => evaluateFilter(bound.value, u.resource)).map((u) => u.id).sort();
        for (const mapping of [WITH_COLUMNS, JSON_ONLY]) {
          const where = compileFilter(parsed.value, mapping);
          if (!where.ok) throw new Error(where.errors[0]!.message);
          const rows = await t.db.selectFrom('scim_users').select('id').where(where.value).execute();
          expect(rows.map((r) => r.id).sort(), text).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
