import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindFilter } from './filter-bind.ts';
import { evaluateFilter } from './filter-eval.ts';
import type { FilterSqlMapping } from './filter-sql.ts';
import { compileFilter, compileSortValue, escapeLike } from './filter-sql.ts';
import { IDS, USERS } from './filter-sql.fixtures.ts';
import { parseAttributePath, parseFilter } from './filter.ts';
import { USER_RESOURCE } from './schemas.ts';
import type { TestDb } from './test-db.ts';
import { testDatabases } from './test-db.ts';

const WITH_COLUMNS: FilterSqlMapping = {
  resource: USER_RESOURCE,
  json: sql.ref('data'),
  columns: {
    id: { sql: sql.ref('id'), type: 'uuid' },
    username: { sql: sql.ref('user_name') },
    externalid: { sql: sql.ref('external_id') },
    active: { sql: sql.ref('active') },
    'meta.lastmodified': { sql: sql.ref('updated_at') },
  },
};
const JSON_ONLY: FilterSqlMapping = { resource: USER_RESOURCE, json: sql.ref('data') };

const NAME_BY_ID = new Map(USERS.map((u) => [u.id, u.resource.userName as string]));
const ALL = USERS.map((u) => u.resource.userName as string).sort();
const except = (...names: string[]) => ALL.filter((n) => !names.includes(n));

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

// [filter, userNames it selects]
const CASES: [string, string[]][] = [
  // RFC 7644 §3.4.2.2's examples
  ['userName eq "bjensen"', ['bjensen']],
  [`name.familyName co "O'Malley"`, ['JSmith']],
  ['userName sw "J"', ['JSmith']],
  ['urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', ['JSmith']],
  ['title pr', ['bjensen']],
  ['meta.lastModified gt "2011-05-13T04:42:34Z"', ['100%_sure\\path', 'JSmith', 'nobody']],
  ['meta.lastModified ge "2011-05-13T04:42:34Z"', ['100%_sure\\path', 'JSmith', 'bjensen', 'nobody']],
  ['meta.lastModified lt "2011-05-13T04:42:34Z"', ["x' OR 1=1 --"]],
  ['meta.lastModified le "2011-05-13T04:42:34Z"', ['bjensen', "x' OR 1=1 --"]],
  ['title pr and userType eq "Employee"', ['bjensen']],
  ['title pr or userType eq "Intern"', ['JSmith', 'bjensen']],
  [`schemas eq "${ENT}"`, ['100%_sure\\path', 'bjensen']],
  ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', ['bjensen']],
  ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', ['nobody', "x' OR 1=1 --"]],
  ['userType eq "Employee" and (emails.type eq "work")', ['bjensen']],
  ['userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', ['bjensen']],
  ['emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', ['bjensen']],
  // case-insensitive strings (caseExact false) and case-exact ones
  ['userName eq "BJENSEN"', ['bjensen']],
  ['displayName eq "élodie ünal"', ['nobody']],
  ['displayName sw "ÉLO"', ['nobody']],
  ['userName eq "jsmith"', ['JSmith']],
  ['externalId eq "abc-def"', []],
  ['externalId eq "ABC-def"', ['JSmith']],
  ['emails.value ew "@EXAMPLE.ORG"', ['JSmith']],
  // every operator on strings
  ['userName ne "bjensen"', except('bjensen')],
  ['userName co "smit"', ['JSmith']],
  ['userName ew "SEN"', ['bjensen']],
  ['userName gt "jsmith"', ['nobody', "x' OR 1=1 --"]],
  ['userName ge "jsmith"', ['JSmith', 'nobody', "x' OR 1=1 --"]],
  ['userName lt "b"', ['100%_sure\\path']],
  ['userName le "bjensen"', ['100%_sure\\path', 'bjensen']],
  // booleans, including Entra's "True"
  ['active eq true', ['bjensen']],
  ['active eq false', ['JSmith']],
  ['active eq "True"', ['bjensen']],
  ['active ne true', except('bjensen')],
  ['not (active eq true)', except('bjensen')],
  ['active pr', ['JSmith', 'bjensen']],
  ['active eq null', except('JSmith', 'bjensen')],
  ['active ne null', ['JSmith', 'bjensen']],
  // presence: null, "" and [] are not present
  ['emails pr', ['100%_sure\\path', 'JSmith', 'bjensen']],
  ['title eq null', except('bjensen')],
  ['name pr', ['JSmith', 'bjensen']],
  ['emails[type eq "home"]', ['bjensen']],
  ['emails.primary eq true', ['bjensen']],
  ['emails[primary eq true and type eq "work"].value co "bjensen"', ['bjensen']],
  ['addresses[type eq "work" and locality eq "hollywood"]', ['bjensen']],
  ['phoneNumbers.value sw "555"', ['bjensen']],
  ['x509Certificates.value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"', ['bjensen']],
  // the enterprise extension under its URN key
  [`${ENT}:department eq "tour operations"`, ['bjensen']],
  [`${ENT}:employeeNumber pr`, ['bjensen']],
  [`${ENT}:manager.value eq "${IDS.jsmith}"`, ['bjensen']],
  [`${ENT.toLowerCase()}:DEPARTMENT co "&"`, ['100%_sure\\path']],
  // ids: a non-UUID value matches nothing instead of failing the query
  [`id eq "${IDS.jsmith}"`, ['JSmith']],
  ['id eq "not-a-uuid"', []],
  ['id ne "not-a-uuid"', ALL],
  ['id sw "2819c223"', ['bjensen']],
  // dateTimes compare as instants, whatever the offset
  ['meta.lastModified eq "2011-05-13T06:42:34+02:00"', ['bjensen']],
  ['meta.lastModified eq "2013-02-03T08:00:00Z"', ['100%_sure\\path']],
  ['meta.lastModified gt "2014-12-31"', ['nobody']],
  ['meta.lastModified lt "2010-06-01T12:00:00.251Z"', ["x' OR 1=1 --"]],
  ['meta.created eq "2010-01-23T04:56:22Z"', ALL],
  // LIKE wildcards in values match literally
  ['userName co "%"', ['100%_sure\\path']],
  ['userName co "_"', ['100%_sure\\path']],
  ['userName sw "100%_"', ['100%_sure\\path']],
  ['userName co "\\\\"', ['100%_sure\\path']],
  ['userName co "%_s%"', []],
  ['userName ew "h"', ['100%_sure\\path', 'JSmith']],
  // injection attempts are only values
  [`userName eq "x' OR 1=1 --"`, ["x' OR 1=1 --"]],
  [`userName eq "x'' OR ''1''=''1"`, []],
  [`userName co "' OR '1'='1"`, []],
  [`userName eq "'; DROP TABLE scim_users; --"`, []],
  [`userName eq "\\u0027 OR 1=1 --"`, []],
  [`userName co "'"`, ["x' OR 1=1 --"]],
  // precedence
  ['userName eq "bjensen" or userName eq "JSmith" and active eq true', ['bjensen']],
  ['(userName eq "bjensen" or userName eq "JSmith") and active eq false', ['JSmith']],
];

describe.each(testDatabases())('compileFilter on $name', ({ open }) => {
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

  async function select(filter: string, mapping: FilterSqlMapping): Promise<string[]> {
    const parsed = parseFilter(filter);
    if (!parsed.ok) throw new Error(parsed.errors[0]!.message);
    const where = compileFilter(parsed.value, mapping);
    if (!where.ok) throw new Error(where.errors[0]!.message);
    const rows = await t.db.selectFrom('scim_users').select('id').where(where.value).execute();
    return rows.map((r) => NAME_BY_ID.get(r.id)!).sort();
  }

  function inMemory(filter: string): string[] {
    const parsed = parseFilter(filter);
    if (!parsed.ok) throw new Error(parsed.errors[0]!.message);
    const bound = bindFilter(parsed.value, USER_RESOURCE);
    if (!bound.ok) throw new Error(bound.errors[0]!.message);
    return USERS.filter((u) => evaluateFilter(bound.value, u.resource))
      .map((u) => u.resource.userName as string)
      .sort();
  }

  it.each(CASES)('%s', async (filter, expected) => {
    const sorted = [...expected].sort();
    expect(await select(filter, WITH_COLUMNS)).toEqual(sorted);
    expect(await select(filter, JSON_ONLY)).toEqual(sorted);
    expect(inMemory(filter)).toEqual(sorted);
  });

  it('binds every value as a parameter and never writes it into the SQL text', () => {
    for (const evil of ["x' OR 1=1 --", "'; DROP TABLE scim_users; --", "') OR true --", "\\' OR 1=1", '%']) {
      const parsed = parseFilter(`userName eq ${JSON.stringify(evil)} or name.familyName co ${JSON.stringify(evil)}`);
      const where = compileFilter(parsed.ok ? parsed.value : (undefined as never), WITH_COLUMNS);
      const compiled = t.db.selectFrom('scim_users').select('id').where(where.ok ? where.value : (undefined as never)).compile();
      expect(compiled.sql).not.toContain(evil === '%' ? '%%' : evil);
      expect(compiled.parameters).toContain(evil);
      expect(compiled.parameters).toContain(`%${escapeLike(evil)}%`);
    }
  });

  it('compares a uuid column case-insensitively, as UUIDs are', async () => {
    expect(await select(`id eq "${IDS.jsmith.toUpperCase()}"`, WITH_COLUMNS)).toEqual(['JSmith']);
    expect(await select('id sw "2819C223"', WITH_COLUMNS)).toEqual(['bjensen']);
  });

  it('leaves the table intact after a DROP TABLE attempt', async () => {
    expect(await select(`userName eq "'; DROP TABLE scim_users; --" or userName eq "bjensen"`, WITH_COLUMNS)).toEqual(['bjensen']);
    const count = await t.db.selectFrom('scim_users').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(USERS.length);
  });

  it('sorts by a column, a JSON attribute and the primary value of a multi-valued one', async () => {
    const order = async (path: string) => {
      const p = parseAttributePath(path);
      const v = compileSortValue(p.ok ? p.value : (undefined as never), WITH_COLUMNS);
      if (!v.ok) throw new Error(v.errors[0]!.message);
      const rows = await t.db.selectFrom('scim_users').select('id').orderBy(v.value).orderBy('id').execute();
      return rows.map((r) => NAME_BY_ID.get(r.id));
    };
    expect(await order('meta.lastModified')).toEqual(["x' OR 1=1 --", 'bjensen', 'JSmith', '100%_sure\\path', 'nobody']);
    // ties (no family name) fall back to the id order
    expect(await order('name.familyName')).toEqual(['bjensen', 'JSmith', '100%_sure\\path', 'nobody', "x' OR 1=1 --"]);
    // primary email of bjensen is bjensen@…; users without emails sort last (NULLs last ascending)
    expect((await order('emails')).slice(0, 3)).toEqual(['bjensen', 'JSmith', '100%_sure\\path']);
  });
});

describe('compileFilter errors', () => {
  const compile = (text: string) => {
    const parsed = parseFilter(text);
    if (!parsed.ok) throw new Error(parsed.errors[0]!.message);
    return compileFilter(parsed.value, WITH_COLUMNS);
  };

  it.each([
    ['foo eq "x"', 'foo', 1, "unknown attribute 'foo' (the User schema has no such attribute)"],
    ['userName eq "x" and name.nickname eq "y"', 'name.nickname', 21, "unknown sub-attribute 'nickname' of 'name' (it has formatted, familyName, givenName, middleName, honorificPrefix, honorificSuffix)"],
    ['urn:example:Foo:bar eq "x"', 'urn:example:Foo:bar', 1, "unknown schema 'urn:example:Foo'"],
    [`${ENT}:salary gt 5`, `${ENT}:salary`, 1, `unknown attribute 'salary' (the ${ENT} schema has no such attribute)`],
    ['emails[kind eq "work"]', 'kind', 8, "unknown sub-attribute 'kind' of 'emails' (it has value, display, type, primary)"],
    ['userName.x eq "y"', 'userName.x', 1, "'userName' is not complex, so it has no sub-attribute 'x'"],
    ['active gt true', 'active', 1, "'gt' does not apply to the boolean 'active'; use eq or ne"],
    ['active eq "yes"', 'active', 1, "'active' is boolean, so the value must be true or false, not \"yes\""],
    ['meta.lastModified gt "yesterday"', 'meta.lastModified', 1, 'is not an ISO 8601 date-time'],
    ['meta.lastModified gt "2021-02-30T00:00:00Z"', 'meta.lastModified', 1, 'is not an ISO 8601 date-time'],
    ['meta.lastModified co "2011"', 'meta.lastModified', 1, "'co' applies to strings, not to the dateTime 'meta.lastModified'"],
    ['userName eq 5', 'userName', 1, "'userName' is a string, so the value must be a \"quoted string\", not 5"],
    ['name eq "x"', 'name', 1, "'name' is complex; compare one of its sub-attributes instead"],
    ['userName gt null', 'userName', 1, "only eq and ne accept null"],
    ['userName[value eq "x"]', 'userName', 1, "'userName' is not complex, so it cannot take a value filter"],
    ['x509Certificates.value gt "A"', 'x509Certificates.value', 1, "'gt' does not apply to the binary"],
  ])('%s', (text, field, column, message) => {
    const r = compile(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ code: 'scim.invalid_filter', scimType: 'invalidFilter', field, column });
    expect(r.errors[0]!.message).toContain(message);
  });
});
