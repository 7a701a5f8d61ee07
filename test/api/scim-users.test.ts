import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { ENTERPRISE, ERROR, LIST, STEWARD_USER, USER_SCHEMA, patchOp, q, scimClient, type ScimClient, type ScimUser as User } from '../support/scim.ts';

describe.each(testDbKinds())('SCIM Users on %s', (kind) => {
  let t: TestApp;
  let s: ScimClient;
  beforeAll(async () => {
    t = await createTestApp(kind);
    s = scimClient(t, await t.token('manage-users-and-groups'));
  });
  afterAll(() => t?.close());

  const newUser = (extra: Record<string, unknown> = {}): { userName: string; [k: string]: unknown } => {
    const userName = `${uniqueName('u')}@example.com`;
    return { schemas: [USER_SCHEMA], userName, name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: userName, type: 'work', primary: true }], active: true, ...extra };
  };
  const create = async (extra: Record<string, unknown> = {}): Promise<User> => {
    const res = await s.post('/v2.0/Users', newUser(extra));
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };

  it('creates a User and answers the SCIM resource with meta, Location, ETag and the SCIM media type', async () => {
    const body = newUser({ externalId: uniqueName('ext'), title: 'Engineer', [ENTERPRISE]: { department: 'R&D', employeeNumber: '42' } });
    const res = await s.post('/v2.0/Users', body);
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    const u = res.json<User>();
    expect(u.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(u.schemas).toEqual(expect.arrayContaining([USER_SCHEMA, ENTERPRISE, STEWARD_USER]));
    expect(u).toMatchObject({ userName: body.userName, externalId: body.externalId, title: 'Engineer', active: true, [ENTERPRISE]: { department: 'R&D', employeeNumber: '42' }, [STEWARD_USER]: { kind: 'employee', lifecycleStatus: 'active' } });
    expect(u.meta).toMatchObject({ resourceType: 'User', version: 'W/"1"' });
    expect(u.meta.location).toMatch(new RegExp(`/v2\\.0/Users/${u.id}$`));
    expect(res.headers.location).toBe(u.meta.location);
    expect(res.headers.etag).toBe('W/"1"');
    expect(Date.parse(u.meta.created)).not.toBeNaN();

    const got = await s.get(`/v2.0/Users/${u.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(u);
  });

  it('accepts application/json as well as application/scim+json', async () => {
    const res = await scimClient(t, await t.token('manage-users-and-groups'), 'application/json').post('/v2.0/Users', newUser());
    expect(res.statusCode).toBe(201);
  });

  it('keeps attributes it does not know, and accepts a password without storing or returning it', async () => {
    const custom = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User';
    const res = await s.post('/v2.0/Users', newUser({ password: 'Sup3r-Secret-Value', [custom]: { tag: '701984' }, favouriteColour: 'teal' }));
    expect(res.statusCode).toBe(201);
    const u = res.json<User>();
    expect(u).not.toHaveProperty('password');
    expect(u[custom]).toEqual({ tag: '701984' });
    expect(u.favouriteColour).toBe('teal');
    expect(u.schemas).toContain(custom);
    const row = await t.db.k.selectFrom('identities').select('data').where('id', '=', u.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row.data)).not.toContain('Sup3r-Secret-Value');
    const audit = await t.db.k.selectFrom('audit_events').select(['after']).where('object_id', '=', u.id).execute();
    expect(JSON.stringify(audit)).not.toContain('Sup3r-Secret-Value');
  });

  it('answers 404 in SCIM format for an id that is not ours, UUID or not', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', '010101001010101011001010101011']) {
      const res = await s.get(`/v2.0/Users/${id}`);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '404' });
      expect(res.json().detail).toContain(id);
    }
  });

  it('answers 401 in SCIM format without a token', async () => {
    const res = await t.call(undefined, 'GET', '/v2.0/Users');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ schemas: [ERROR], status: '401' });
  });

  it('replaces with PUT: attributes left out are removed, the id in the body is ignored', async () => {
    const u = await create({ title: 'Engineer', nickName: 'Ada' });
    const { meta: _meta, title: _title, ...rest } = u;
    const res = await s.put(`/v2.0/Users/${u.id}`, { ...rest, id: 'something-else', name: { givenName: 'Augusta', familyName: 'King' }, nickName: undefined });
    expect(res.statusCode, res.body).toBe(200);
    const v = res.json<User>();
    expect(v.id).toBe(u.id);
    expect(v.name).toEqual({ givenName: 'Augusta', familyName: 'King' });
    expect(v).not.toHaveProperty('title');
    expect(v).not.toHaveProperty('nickName');
    expect(v.meta.version).toBe('W/"2"');
  });

  it('changes with PATCH the way Entra sends it and returns the whole resource', async () => {
    const u = await create();
    const res = await s.patch(
      `/v2.0/Users/${u.id}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updated@example.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Finance' },
        { op: 'Replace', path: 'active', value: 'False' },
      ),
    );
    expect(res.statusCode, res.body).toBe(200);
    const v = res.json<User>();
    expect(v.emails).toEqual([{ value: 'updated@example.com', type: 'work', primary: true }]);
    expect(v.name?.familyName).toBe('updatedFamilyName');
    expect(v[ENTERPRISE]).toEqual({ department: 'Finance' });
    expect(v.active).toBe(false);
    const filtered = await s.get(`/v2.0/Users?filter=${q(`${ENTERPRISE}:department eq "finance" and id eq "${u.id}"`)}`);
    expect(filtered.json().totalResults).toBe(1);
  });

  it('refuses a PATCH to a read-only attribute or a broken path with the SCIM type that says why', async () => {
    const u = await create();
    const ro = await s.patch(`/v2.0/Users/${u.id}`, patchOp({ op: 'replace', path: 'groups', value: [] }));
    expect(ro.statusCode).toBe(400);
    expect(ro.json().scimType).toBe('mutability');
    const bad = await s.patch(`/v2.0/Users/${u.id}`, patchOp({ op: 'replace', path: 'emails[type eq', value: 'x' }));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().scimType).toBe('invalidPath');
    const noOps = await s.patch(`/v2.0/Users/${u.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] });
    expect(noOps.statusCode).toBe(400);
    expect(noOps.json().scimType).toBe('invalidSyntax');
    expect((await s.get(`/v2.0/Users/${u.id}`)).json().meta.version).toBe('W/"1"');
  });

  it('deletes for good: 204, then 404, with the before state in the audit trail', async () => {
    const u = await create();
    const del = await s.del(`/v2.0/Users/${u.id}`);
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await s.get(`/v2.0/Users/${u.id}`)).statusCode).toBe(404);
    expect((await s.del(`/v2.0/Users/${u.id}`)).statusCode).toBe(404);
    const ev = await t.db.k.selectFrom('audit_events').selectAll().where('object_id', '=', u.id).where('action', '=', 'identity.delete').executeTakeFirstOrThrow();
    expect(ev.before).toMatchObject({ id: u.id, userName: u.userName });
    expect(ev.after).toBeNull();
  });

  it('audits create and update in the same transaction, with before and after', async () => {
    const u = await create();
    await s.patch(`/v2.0/Users/${u.id}`, patchOp({ op: 'replace', value: { displayName: 'Countess' } }));
    const events = await t.db.k.selectFrom('audit_events').selectAll().where('object_type', '=', 'identity').where('object_id', '=', u.id).orderBy('seq').execute();
    expect(events.map((e) => e.action)).toEqual(['identity.create', 'identity.update']);
    expect(events[0]!.actor).toMatch(/^client:/);
    expect(events[1]!.before).toMatchObject({ userName: u.userName, version: 1 });
    expect(events[1]!.before).not.toHaveProperty('displayName');
    expect(events[1]!.after).toMatchObject({ displayName: 'Countess', version: 2 });
  });

  it('writes nothing and keeps the version when a replacement changes nothing', async () => {
    const u = await create();
    const { meta: _m, ...same } = u;
    const res = await s.put(`/v2.0/Users/${u.id}`, same);
    expect(res.statusCode).toBe(200);
    expect(res.json().meta.version).toBe('W/"1"');
    const n = await t.db.k.selectFrom('audit_events').select('id').where('object_id', '=', u.id).execute();
    expect(n).toHaveLength(1);
  });

  describe('validation', () => {
    const expect400 = async (body: unknown, field: string, scimType = 'invalidValue') => {
      const res = await s.post('/v2.0/Users', body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '400', scimType });
      expect(res.json().detail).toContain(field);
    };

    it('requires userName', async () => {
      await expect400({ schemas: [USER_SCHEMA], name: { givenName: 'x' } }, 'userName');
      await expect400({ schemas: [USER_SCHEMA], userName: '   ' }, 'userName');
    });

    it('checks the types of known attributes, naming them', async () => {
      await expect400(newUser({ active: 'yes' }), 'active');
      await expect400(newUser({ userName: 42 }), 'userName');
      await expect400(newUser({ emails: [{ value: 7 }] }), 'emails[0].value');
      await expect400(newUser({ name: 'Ada Lovelace' }), 'name');
      await expect400(newUser({ emails: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: true }] }), 'emails');
    });

    it('refuses unknown kind and lifecycleStatus values', async () => {
      await expect400(newUser({ [STEWARD_USER]: { kind: 'robot' } }), `${STEWARD_USER}:kind`);
      await expect400(newUser({ [STEWARD_USER]: { lifecycleStatus: 'retired' } }), `${STEWARD_USER}:lifecycleStatus`);
      const ok = await s.post('/v2.0/Users', newUser({ [STEWARD_USER]: { kind: 'Contractor', lifecycleStatus: 'suspended' } }));
      expect(ok.json()[STEWARD_USER]).toEqual({ kind: 'contractor', lifecycleStatus: 'suspended' });
    });

    it('refuses NUL characters and lone surrogates, which PostgreSQL cannot store', async () => {
      await expect400(newUser({ displayName: 'a\u0000b' }), 'displayName');
      await expect400(newUser({ name: { givenName: 'x\ud800' } }), 'name.givenName');
      await expect400(newUser({ 'bad\u0000key': 'v' }), 'attribute name');
    });

    it('refuses a body that is not an object', async () => {
      const res = await s.post('/v2.0/Users', [1, 2]);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '400' });
      expect(res.json().detail).toContain('body');
      const broken = await t.call(await t.token('manage-users-and-groups'), 'POST', '/v2.0/Users', '{"userName": ', { 'content-type': 'application/scim+json' });
      expect(broken.statusCode).toBe(400);
      expect(broken.json().schemas).toEqual([ERROR]);
    });

    it('refuses a manager that does not exist, and a manager chain that loops back', async () => {
      await expect400(newUser({ [ENTERPRISE]: { manager: { value: '00000000-0000-4000-8000-000000000001' } } }), 'manager');
      await expect400(newUser({ [ENTERPRISE]: { manager: 'not-an-id' } }), 'manager');
      const a = await create();
      const b = await create({ [ENTERPRISE]: { manager: { value: a.id } } });
      const c = await create({ [ENTERPRISE]: { manager: a.id } });
      expect(c[ENTERPRISE]).toMatchObject({ manager: { value: a.id, displayName: expect.any(String) } });
      // a → b → a would loop; so would a → a.
      const loop = await s.patch(`/v2.0/Users/${a.id}`, patchOp({ op: 'add', path: `${ENTERPRISE}:manager`, value: b.id }));
      expect(loop.statusCode).toBe(400);
      expect(loop.json().detail).toContain('manager');
      const self = await s.patch(`/v2.0/Users/${a.id}`, patchOp({ op: 'add', path: `${ENTERPRISE}:manager`, value: a.id }));
      expect(self.statusCode).toBe(400);
      const fine = await s.patch(`/v2.0/Users/${b.id}`, patchOp({ op: 'replace', path: `${ENTERPRISE}:manager`, value: { value: c.id } }));
      expect(fine.statusCode, fine.body).toBe(200);
    });

    it('clears the manager of direct reports when the manager is deleted, bumping their version', async () => {
      const boss = await create();
      const report = await create({ [ENTERPRISE]: { manager: { value: boss.id }, department: 'Ops' } });
      expect((await s.del(`/v2.0/Users/${boss.id}`)).statusCode).toBe(204);
      const after = (await s.get(`/v2.0/Users/${report.id}`)).json<User>();
      expect(after[ENTERPRISE]).toEqual({ department: 'Ops' });
      expect(after.meta.version).toBe('W/"2"');
    });
  });

  describe('uniqueness', () => {
    it('answers 409 uniqueness in SCIM format for a userName taken in any case', async () => {
      const u = await create();
      const res = await s.post('/v2.0/Users', newUser({ userName: u.userName.toUpperCase() }));
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
      expect(res.json().detail).toContain('userName');
      const other = await create();
      const clash = await s.patch(`/v2.0/Users/${other.id}`, patchOp({ op: 'replace', path: 'userName', value: u.userName }));
      expect(clash.statusCode).toBe(409);
    });

    it('answers 409 for a taken externalId', async () => {
      const externalId = uniqueName('ext');
      await create({ externalId });
      const res = await s.post('/v2.0/Users', newUser({ externalId }));
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ scimType: 'uniqueness' });
      expect(res.json().detail).toContain('externalId');
    });

    it('lets exactly one of many concurrent creates of one userName through', async () => {
      const body = newUser();
      const results = await Promise.all(Array.from({ length: 5 }, () => s.post('/v2.0/Users', body)));
      expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    });
  });

  describe('ETag and If-Match', () => {
    it('refuses a write whose If-Match names another version with 412, and applies one naming the current', async () => {
      const u = await create();
      const stale = await s.put(`/v2.0/Users/${u.id}`, { ...newUser(), userName: u.userName }, { 'if-match': 'W/"7"' });
      expect(stale.statusCode).toBe(412);
      expect(stale.json()).toMatchObject({ schemas: [ERROR], status: '412' });
      const patched = await s.patch(`/v2.0/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'CTO' }), { 'if-match': u.meta.version });
      expect(patched.statusCode).toBe(200);
      expect(patched.headers.etag).toBe('W/"2"');
      expect((await s.patch(`/v2.0/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'CEO' }), { 'if-match': u.meta.version })).statusCode).toBe(412);
      expect((await s.patch(`/v2.0/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'CEO' }), { 'if-match': '*' })).statusCode).toBe(200);
      expect((await s.del(`/v2.0/Users/${u.id}`, { 'if-match': '"2"' })).statusCode).toBe(412);
      expect((await s.get(`/v2.0/Users/${u.id}`)).json().title).toBe('CEO');
      expect((await s.del(`/v2.0/Users/${u.id}`, { 'if-match': 'W/"3"' })).statusCode).toBe(204);
    });

    it('answers 304 to If-None-Match naming the current version', async () => {
      const u = await create();
      expect((await s.get(`/v2.0/Users/${u.id}`, { 'if-none-match': 'W/"1"' })).statusCode).toBe(304);
      expect((await s.get(`/v2.0/Users/${u.id}`, { 'if-none-match': 'W/"9"' })).statusCode).toBe(200);
    });
  });

  describe('filters', () => {
    let tag: string;
    let ada: User;
    let bob: User;
    beforeAll(async () => {
      tag = uniqueName('flt');
      ada = await create({ userName: `ada.${tag}@example.com`, externalId: `ada-${tag}`, [ENTERPRISE]: { department: `Dept ${tag}` }, title: 'Analyst' });
      bob = await create({ userName: `bob.${tag}@example.com`, active: false, emails: [{ value: `bob-home@${tag}.org`, type: 'home' }], [STEWARD_USER]: { kind: 'vendor' } });
    });
    const ids = async (filter: string): Promise<string[]> => {
      const res = await s.get(`/v2.0/Users?count=1000&filter=${q(filter)}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().schemas).toEqual([LIST]);
      return (res.json().Resources as User[]).map((u) => u.id).sort();
    };

    it('finds by userName ignoring case, externalId exactly, and emails through a value filter', async () => {
      expect(await ids(`userName eq "ADA.${tag.toUpperCase()}@EXAMPLE.COM"`)).toEqual([ada.id]);
      expect(await ids(`externalId eq "ada-${tag}"`)).toEqual([ada.id]);
      expect(await ids(`externalId eq "ADA-${tag}"`)).toEqual([]);
      expect(await ids(`emails[type eq "work" and value eq "${ada.emails![0]!.value}"]`)).toEqual([ada.id]);
      expect(await ids(`emails[type eq "home"].value eq "bob-home@${tag}.org"`)).toEqual([bob.id]);
      expect(await ids(`emails co "${tag}.org"`)).toEqual([bob.id]);
    });

    it('combines and, or, not, presence, booleans, extensions and dates', async () => {
      const both = [ada.id, bob.id].sort();
      expect(await ids(`userName sw "ada.${tag}" or userName sw "bob.${tag}"`)).toEqual(both);
      expect(await ids(`userName ew "${tag}@example.com" and active eq false`)).toEqual([bob.id]);
      expect(await ids(`userName ew "${tag}@example.com" and not (active eq false)`)).toEqual([ada.id]);
      expect(await ids(`userName ew "${tag}@example.com" and title pr`)).toEqual([ada.id]);
      expect(await ids(`${ENTERPRISE}:department eq "dept ${tag}"`)).toEqual([ada.id]);
      expect(await ids(`userName ew "${tag}@example.com" and ${STEWARD_USER}:kind eq "vendor"`)).toEqual([bob.id]);
      expect(await ids(`userName ew "${tag}@example.com" and meta.created ge "${ada.meta.created}"`)).toEqual(both);
      expect(await ids(`id eq "${bob.id}"`)).toEqual([bob.id]);
      expect(await ids('id eq "not-a-uuid"')).toEqual([]);
    });

    it('treats hostile strings as plain values', async () => {
      for (const f of [`userName eq "x' OR 1=1 --"`, 'userName eq "\\"); drop table identities; --"', 'userName co "%"', 'userName sw "_"', `displayName eq "${'\\u0027'}"`]) {
        const res = await s.get(`/v2.0/Users?filter=${q(f)}`);
        expect(res.statusCode, f).toBe(200);
        expect(res.json().totalResults, f).toBe(0);
      }
      expect((await s.get('/v2.0/Users?count=1')).json().totalResults).toBeGreaterThan(1);
    });

    it('refuses bad filters with a clean 400 invalidFilter naming the position', async () => {
      const cases = [
        'userName eq',
        'userName eq "unterminated',
        'nosuchattr eq "x"',
        'active eq "maybe"',
        'userName eq "a\\u0000b"',
        `userName eq "${'x'.repeat(5000)}"`,
        `${'('.repeat(100)}userName eq "x"${')'.repeat(100)}`,
        Array.from({ length: 600 }, (_, i) => `userName eq "u${i}"`).join(' or '),
      ];
      for (const f of cases) {
        const res = await s.get(`/v2.0/Users?filter=${q(f)}`);
        expect(res.statusCode, f.slice(0, 60)).toBe(400);
        expect(res.json(), f.slice(0, 60)).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
      }
    });

    it('refuses a bad sortBy, sortOrder or count', async () => {
      expect((await s.get('/v2.0/Users?sortBy=nosuch')).json().scimType).toBe('invalidPath');
      expect((await s.get('/v2.0/Users?sortOrder=sideways')).statusCode).toBe(400);
      expect((await s.get('/v2.0/Users?count=ten')).statusCode).toBe(400);
    });
  });

  describe('pagination', () => {
    const tag = uniqueName('pg');
    const names: string[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 23; i++) {
        const u = await create({ userName: `${tag}-${String(i).padStart(2, '0')}@example.com` });
        names.push(u.userName);
      }
    });

    it('covers every matching user exactly once, page by page', async () => {
      const seen: string[] = [];
      let startIndex = 1;
      for (;;) {
        const res = await s.get(`/v2.0/Users?filter=${q(`userName sw "${tag}"`)}&startIndex=${startIndex}&count=5`);
        const body = res.json();
        expect(body.totalResults).toBe(23);
        expect(body.startIndex).toBe(startIndex);
        expect(body.itemsPerPage).toBe(body.Resources.length);
        if (body.Resources.length === 0) break;
        seen.push(...(body.Resources as User[]).map((u) => u.userName));
        startIndex += body.Resources.length;
      }
      expect(seen).toHaveLength(23);
      expect(new Set(seen)).toEqual(new Set(names));
    });

    it('sorts by an attribute in either order', async () => {
      const asc = (await s.get(`/v2.0/Users?filter=${q(`userName sw "${tag}"`)}&sortBy=userName&count=100`)).json<{ Resources: User[] }>().Resources.map((u: User) => u.userName);
      expect(asc).toEqual([...names].sort());
      const desc = (await s.get(`/v2.0/Users?filter=${q(`userName sw "${tag}"`)}&sortBy=userName&sortOrder=descending&count=3`)).json<{ Resources: User[] }>().Resources.map((u: User) => u.userName);
      expect(desc).toEqual([...names].sort().reverse().slice(0, 3));
    });

    it('reads count=0 as a count only, a startIndex below 1 as 1, and caps count at 1000', async () => {
      const zero = (await s.get(`/v2.0/Users?filter=${q(`userName sw "${tag}"`)}&count=0`)).json();
      expect(zero).toMatchObject({ totalResults: 23, itemsPerPage: 0, Resources: [] });
      const low = (await s.get(`/v2.0/Users?filter=${q(`userName sw "${tag}"`)}&startIndex=-4&count=2`)).json();
      expect(low.startIndex).toBe(1);
      expect(low.Resources).toHaveLength(2);
      const beyond = (await s.get(`/v2.0/Users?filter=${q(`userName sw "${tag}"`)}&startIndex=500`)).json();
      expect(beyond).toMatchObject({ totalResults: 23, Resources: [] });
      expect((await s.get('/v2.0/Users?count=5000')).statusCode).toBe(200);
    });
  });

  describe('attributes and excludedAttributes', () => {
    it('returns only the attributes asked for, plus id and schemas', async () => {
      const u = await create({ [ENTERPRISE]: { department: 'Ops', costCenter: '7' } });
      const res = await s.get(`/v2.0/Users/${u.id}?attributes=userName,emails.value,${ENTERPRISE}:department`);
      expect(res.json()).toEqual({ schemas: u.schemas, id: u.id, userName: u.userName, emails: [{ value: u.emails![0]!.value }], [ENTERPRISE]: { department: 'Ops' } });
      const ex = (await s.get(`/v2.0/Users?filter=${q(`id eq "${u.id}"`)}&excludedAttributes=emails,meta,name.givenName`)).json().Resources[0];
      expect(ex).not.toHaveProperty('emails');
      expect(ex).not.toHaveProperty('meta');
      expect(ex.name).toEqual({ familyName: 'Lovelace' });
      expect(ex.userName).toBe(u.userName);
      expect((await s.get(`/v2.0/Users/${u.id}?attributes=nosuch`)).json().scimType).toBe('invalidPath');
    });
  });

  it('answers concurrent reads of one User, which share one query, each with its own projection and host', async () => {
    const u = await create({ title: 'Analyst' });
    const url = `/v2.0/Users/${u.id}`;
    const [full, picked, excluded, other] = await Promise.all([
      s.get(url),
      s.get(`${url}?attributes=userName`),
      s.get(`${url}?excludedAttributes=title`),
      s.get(url, { host: 'steward.example.org' }),
    ]);
    expect(full.json()).toEqual(u);
    expect(picked.json()).toEqual({ schemas: u.schemas, id: u.id, userName: u.userName });
    expect(excluded.json()).toEqual(Object.fromEntries(Object.entries(u).filter(([k]) => k !== 'title')));
    expect(other.json<User>().meta.location).toBe(`http://steward.example.org${url}`);
    expect(full.headers.etag).toBe('W/"1"');
    // The next read after a change sees it: nothing serialised for the earlier reads is reused.
    expect((await s.patch(url, patchOp({ op: 'replace', path: 'title', value: 'Lead' }))).statusCode).toBe(200);
    const [after, again] = await Promise.all([s.get(url), s.get(url)]);
    expect(after.json<User>().title).toBe('Lead');
    expect(after.headers.etag).toBe('W/"2"');
    expect(again.body).toBe(after.body);
  });

  it('fills the read-only groups attribute from memberships', async () => {
    const u = await create();
    const g = await s.post('/v2.0/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: uniqueName('grp'), members: [{ value: u.id }] });
    expect(g.statusCode, g.body).toBe(201);
    const got = (await s.get(`/v2.0/Users/${u.id}`)).json<User>();
    expect(got.groups).toEqual([{ value: g.json().id, display: g.json().displayName, type: 'direct', $ref: expect.stringMatching(new RegExp(`/v2\\.0/Groups/${g.json().id}$`)) }]);
    expect(await (async () => (await s.get(`/v2.0/Users?filter=${q(`groups.value eq "${g.json().id}"`)}`)).json<{ Resources: User[] }>().Resources.map((x: User) => x.id))()).toEqual([u.id]);
    expect((await s.get(`/v2.0/Users/${u.id}?excludedAttributes=groups`)).json()).not.toHaveProperty('groups');
  });
});
