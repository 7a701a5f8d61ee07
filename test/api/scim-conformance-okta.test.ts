// What Okta sends to a SCIM 2.0 server, request by request: the required steps of Okta's
// SCIM 2.0 SPEC test suite (the Runscope file Okta's "Build your SCIM API service" guide
// hands out), then the provisioning sequences of Okta's "SCIM 2.0 Protocol Reference":
// create, import by pages, update by GET-then-PUT, deactivate and reactivate by PATCH,
// and Group Push (create, rename, membership, delete).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { ERROR, GROUP_SCHEMA, LIST, USER_SCHEMA, patchOp, q, scimClient, type ScimClient } from '../support/scim.ts';

interface User {
  id: string;
  userName: string;
  active: boolean;
  name: { givenName: string; familyName: string; middleName?: string };
  emails: { value: string; type?: string; primary?: boolean; display?: string }[];
  [k: string]: unknown;
}

const OKTA_HEADERS = { 'user-agent': 'Okta SCIM Client 1.0.0', 'accept-charset': 'utf-8' };

describe.each(testDbKinds())('Okta conformance on %s', (kind) => {
  let t: TestApp;
  let okta: ScimClient;
  let oktaJson: ScimClient;
  const base = '/v2.0';
  beforeAll(async () => {
    t = await createTestApp(kind);
    const token = await t.token('manage-users-and-groups');
    okta = scimClient(t, token);
    oktaJson = scimClient(t, token, 'application/json');
  });
  afterAll(() => t?.close());

  describe('SPEC test (required steps)', () => {
    const random = uniqueName('Runscope').replace(/[^A-Za-z0-9]/g, '');
    const randomUsername = `${random}@example.com`;
    const randomGivenName = 'Runscope300';
    const randomFamilyName = random;
    const randomEmail = `${random}.mail@example.com`;
    let isvUserId: string;
    let idUserOne: string;

    beforeAll(async () => {
      // Okta's guide: "Create at least one user in your SCIM server before running the suite."
      const seed = await okta.post(`${base}/Users`, { schemas: [USER_SCHEMA], userName: `${uniqueName('seed')}@example.com`, name: { givenName: 'Seed', familyName: 'User' }, emails: [{ value: 'seed@example.com', type: 'work', primary: true }], active: true });
      expect(seed.statusCode).toBe(201);
    });

    it('Test Users endpoint: GET /Users?count=1&startIndex=1', async () => {
      const res = await okta.get(`${base}/Users?count=1&startIndex=1`, OKTA_HEADERS);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ schemas: string[]; totalResults: unknown; itemsPerPage: unknown; startIndex: unknown; Resources: User[] }>();
      expect(body.schemas).toContain(LIST);
      for (const k of ['totalResults', 'itemsPerPage', 'startIndex'] as const) expect(typeof body[k], k).toBe('number');
      const u = body.Resources[0]!;
      expect(u.id).toBeTruthy();
      expect(u.name.familyName).toBeTruthy();
      expect(u.name.givenName).toBeTruthy();
      expect(u.userName).toBeTruthy();
      expect(u.active).toBe(true);
      expect(u.emails[0]!.value).toBeTruthy();
      isvUserId = u.id;
    });

    it('Get Users/{{ISVUserid}}', async () => {
      const res = await okta.get(`${base}/Users/${isvUserId}`, OKTA_HEADERS);
      expect(res.statusCode).toBe(200);
      const u = res.json<User>();
      expect(u.id).toBe(isvUserId);
      expect(u.name.familyName).toBeTruthy();
      expect(u.emails[0]!.value).toBeTruthy();
    });

    it('Test invalid User by username', async () => {
      const res = await okta.get(`${base}/Users?filter=${q('userName eq "abcdefgh@example.com"')}`, OKTA_HEADERS);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ schemas: [LIST], totalResults: 0 });
    });

    it('Test invalid User by ID', async () => {
      const res = await okta.get(`${base}/Users/010101001010101011001010101011`, OKTA_HEADERS);
      expect(res.statusCode).toBe(404);
      expect(res.json().schemas).toContain(ERROR);
      expect(res.json().detail).toBeTruthy();
    });

    it('Make sure random user does not exist', async () => {
      const res = await okta.get(`${base}/Users?filter=${q(`userName eq "${randomUsername}"`)}`, OKTA_HEADERS);
      expect(res.json()).toMatchObject({ totalResults: 0 });
    });

    it('Create Okta user with realistic values (sent as application/json)', async () => {
      const res = await oktaJson.post(
        `${base}/Users`,
        { schemas: [USER_SCHEMA], userName: randomUsername, name: { givenName: randomGivenName, familyName: randomFamilyName }, emails: [{ primary: true, value: randomEmail, type: 'work' }], displayName: `${randomGivenName} ${randomFamilyName}`, active: true },
        OKTA_HEADERS,
      );
      expect(res.statusCode).toBe(201);
      const u = res.json<User>();
      expect(u.active).toBe(true);
      expect(u.id).toBeTruthy();
      expect(u.name).toMatchObject({ familyName: randomFamilyName, givenName: randomGivenName });
      expect(u.schemas).toContain(USER_SCHEMA);
      expect(u.userName).toBe(randomUsername);
      idUserOne = u.id;
    });

    it('Verify that user was created', async () => {
      const u = (await okta.get(`${base}/Users/${idUserOne}`, OKTA_HEADERS)).json<User>();
      expect(u).toMatchObject({ userName: randomUsername, name: { familyName: randomFamilyName, givenName: randomGivenName } });
    });

    it('Expect failure when recreating user with same values', async () => {
      const res = await oktaJson.post(
        `${base}/Users`,
        { schemas: [USER_SCHEMA], userName: randomUsername, name: { givenName: randomGivenName, familyName: randomFamilyName }, emails: [{ primary: true, value: randomUsername, type: 'work' }], displayName: `${randomGivenName} ${randomFamilyName}`, active: true },
        OKTA_HEADERS,
      );
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    });

    it('Username Case Sensitivity Check', async () => {
      const res = await okta.get(`${base}/Users?filter=${q(`userName eq "${randomUsername.toUpperCase()}"`)}`, OKTA_HEADERS);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ totalResults: 1, Resources: [{ id: idUserOne, userName: randomUsername }] });
    });

    it('Verify Groups endpoint', async () => {
      const res = await okta.get(`${base}/Groups`, OKTA_HEADERS);
      expect(res.statusCode).toBe(200);
      expect(res.json().schemas).toEqual([LIST]);
      expect(Array.isArray(res.json().Resources)).toBe(true);
    });

    it('Check status 401', async () => {
      const res = await t.call('non-token', 'GET', `${base}/Users?filter=${q(`userName eq "${randomUsername.toUpperCase()}"`)}`, undefined, OKTA_HEADERS);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '401' });
      expect(res.json().detail).toBeTruthy();
    });

    it('Check status 404', async () => {
      const res = await okta.get(`${base}/Users/00919288221112222`, OKTA_HEADERS);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '404' });
    });
  });

  describe('provisioning a user (SCIM 2.0 Protocol Reference)', () => {
    const userName = `${uniqueName('test.user')}@okta.local`;
    let id: string;

    it('looks the user up by userName with startIndex=1&count=100 and finds none', async () => {
      const res = await okta.get(`${base}/Users?filter=${q(`userName eq "${userName}"`)}&startIndex=1&count=100`, OKTA_HEADERS);
      expect(res.json()).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    });

    it('creates it with the unsolicited password and empty groups Okta sends; the password is not kept', async () => {
      const res = await okta.post(
        `${base}/Users`,
        { schemas: [USER_SCHEMA], userName, name: { givenName: 'Test', familyName: 'User' }, emails: [{ primary: true, value: userName, type: 'work' }], displayName: 'Test User', locale: 'en-US', externalId: uniqueName('00ujl29u0le5T6Aj10h7'), groups: [], password: '1mz050nq', active: true },
        OKTA_HEADERS,
      );
      expect(res.statusCode).toBe(201);
      const u = res.json<User>();
      expect(u).toMatchObject({ userName, displayName: 'Test User', locale: 'en-US', active: true, meta: { resourceType: 'User' } });
      expect(u).not.toHaveProperty('password');
      id = u.id;
    });

    it('updates it the way Okta does: GET the user, change an attribute, PUT the whole body back', async () => {
      const current = (await okta.get(`${base}/Users/${id}`, OKTA_HEADERS)).json<User>();
      const res = await okta.put(`${base}/Users/${id}`, { ...current, name: { ...current.name, middleName: 'Excited' } }, OKTA_HEADERS);
      expect(res.statusCode).toBe(200);
      expect(res.json<User>().name).toEqual({ givenName: 'Test', middleName: 'Excited', familyName: 'User' });
      expect(res.json<User>().userName).toBe(userName);
    });

    it('deactivates and reactivates it with a path-less PATCH', async () => {
      const off = await okta.patch(`${base}/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }), OKTA_HEADERS);
      expect(off.statusCode).toBe(200);
      expect(off.json<User>()).toMatchObject({ id, active: false, userName });
      // Deactivated users are still found: Okta checks that they exist.
      expect((await okta.get(`${base}/Users?filter=${q(`userName eq "${userName}"`)}`, OKTA_HEADERS)).json().totalResults).toBe(1);
      const on = await okta.patch(`${base}/Users/${id}`, patchOp({ op: 'replace', value: { active: true } }), OKTA_HEADERS);
      expect(on.json<User>().active).toBe(true);
    });

    it('syncs the password with a PATCH: accepted, neither kept nor returned', async () => {
      const res = await okta.patch(`${base}/Users/${id}`, patchOp({ op: 'replace', value: { password: 'Okta-Synced-Pa55' } }), OKTA_HEADERS);
      expect(res.statusCode).toBe(200);
      expect(res.json()).not.toHaveProperty('password');
      const stored = await t.db.k.selectFrom('audit_events').select(['before', 'after']).where('object_id', '=', id).execute();
      const row = await t.db.k.selectFrom('identities').select('data').where('id', '=', id).executeTakeFirstOrThrow();
      expect(JSON.stringify([stored, row])).not.toContain('Okta-Synced-Pa55');
    });

    it('imports every user page by page with startIndex and count=100, the same order each time', async () => {
      for (let i = 0; i < 120; i++) expect((await okta.post(`${base}/Users`, { schemas: [USER_SCHEMA], userName: `${uniqueName('imp')}@okta.local` })).statusCode).toBe(201);
      const all = async (count: number) => {
        const seen: string[] = [];
        let total = Infinity;
        for (let start = 1; start <= total; start += count) {
          const page = (await okta.get(`${base}/Users?startIndex=${start}&count=${count}`, OKTA_HEADERS)).json<{ totalResults: number; Resources: User[] }>();
          total = page.totalResults;
          seen.push(...page.Resources.map((u) => u.id));
        }
        return seen;
      };
      const by100 = await all(100);
      expect(new Set(by100).size).toBe(by100.length);
      expect(by100.length).toBeGreaterThanOrEqual(121);
      expect(await all(37)).toEqual(by100);
    });
  });

  describe('Group Push (SCIM 2.0 Protocol Reference)', () => {
    let groupId: string;
    const members: string[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 3; i++) members.push((await okta.post(`${base}/Users`, { schemas: [USER_SCHEMA], userName: `${uniqueName('push')}@okta.local` })).json<User>().id);
    });

    it('creates the pushed group with an empty member list', async () => {
      const res = await okta.post(`${base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: uniqueName('Test SCIMv2'), members: [] }, OKTA_HEADERS);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ schemas: expect.arrayContaining([GROUP_SCHEMA]), members: [], meta: { resourceType: 'Group' } });
      groupId = res.json<{ id: string }>().id;
    });

    it('reads groups page by page and one by id', async () => {
      const page = await okta.get(`${base}/Groups?startIndex=1&count=100`, OKTA_HEADERS);
      expect(page.json<{ Resources: { id: string }[] }>().Resources.map((g) => g.id)).toContain(groupId);
      expect((await okta.get(`${base}/Groups/${groupId}`, OKTA_HEADERS)).statusCode).toBe(200);
    });

    it('renames with a path-less replace that echoes the id', async () => {
      const name = uniqueName('Test SCIMv20');
      const res = await okta.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'replace', value: { id: groupId, displayName: name } }), OKTA_HEADERS);
      expect(res.statusCode).toBe(204);
      expect((await okta.get(`${base}/Groups/${groupId}`)).json()).toMatchObject({ displayName: name });
    });

    it('changes membership: remove by filter and add in one request, then a full push with replace', async () => {
      await okta.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: members[0], display: 'first' }] }), OKTA_HEADERS);
      const res = await okta.patch(
        `${base}/Groups/${groupId}`,
        patchOp({ op: 'remove', path: `members[value eq "${members[0]}"]` }, { op: 'add', path: 'members', value: [{ value: members[1], display: 'test.user@okta.local' }] }),
        OKTA_HEADERS,
      );
      expect(res.statusCode).toBe(204);
      const ids = async () => ((await okta.get(`${base}/Groups/${groupId}`)).json<{ members: { value: string }[] }>().members ?? []).map((m) => m.value).sort();
      expect(await ids()).toEqual([members[1]]);
      const push = await okta.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'replace', path: 'members', value: [{ value: members[1] }, { value: members[2] }] }), OKTA_HEADERS);
      expect(push.statusCode).toBe(204);
      expect(await ids()).toEqual([members[1], members[2]].sort());
    });

    it('deletes the group when the admin unlinks it', async () => {
      const res = await okta.del(`${base}/Groups/${groupId}`, OKTA_HEADERS);
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expect((await okta.get(`${base}/Groups/${groupId}`)).statusCode).toBe(404);
    });
  });
});
