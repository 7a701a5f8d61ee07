// What Microsoft Entra ID's provisioning service sends to a SCIM 2.0 server, request by
// request, from Microsoft's "Tutorial: Develop and plan provisioning for a SCIM endpoint in
// Microsoft Entra ID" (its user, group and schema-discovery requests and the responses it
// expects) and "Known issues with SCIM 2.0 protocol compliance" (the PATCH shapes sent
// with and without the aadOptscim062020 flag).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, uniqueName, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { ENTERPRISE, ERROR, GROUP_SCHEMA, LIST, USER_SCHEMA, patchOp, q, scimClient, type ScimClient } from '../support/scim.ts';

interface User {
  id: string;
  userName: string;
  externalId: string;
  active: boolean;
  displayName?: string;
  name: { formatted?: string; givenName?: string; familyName?: string };
  emails: { value: string; type?: string; primary?: boolean }[];
  meta: { resourceType: string; created: string; lastModified: string };
  [k: string]: unknown;
}

describe.each(testDbKinds())('Microsoft Entra conformance on %s', (kind) => {
  let t: TestApp;
  let entra: ScimClient;
  const base = '/v2.0';
  beforeAll(async () => {
    t = await createTestApp(kind);
    entra = scimClient(t, await t.token('manage-users-and-groups'), 'application/scim+json');
  });
  afterAll(() => t?.close());

  describe('user operations', () => {
    const guid = uniqueName('00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
    const userName = `Test_User_${guid}`;
    const externalId = uniqueName('0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
    let id: string;

    it('Test Connection: a query for a user that does not exist answers an empty ListResponse', async () => {
      const res = await entra.get(`${base}/Users?filter=${q(`userName eq "${uniqueName('non-existent user')}"`)}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(res.json()).toEqual({ schemas: [LIST], totalResults: 0, Resources: [], startIndex: 1, itemsPerPage: 0 });
    });

    it('Create User', async () => {
      const res = await entra.post(`${base}/Users`, {
        schemas: [USER_SCHEMA, ENTERPRISE],
        externalId,
        userName,
        active: true,
        emails: [{ primary: true, type: 'work', value: `Test_User_${guid}@testuser.com` }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
      });
      expect(res.statusCode).toBe(201);
      const u = res.json<User>();
      expect(u).toMatchObject({ externalId, userName, active: true, name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' } });
      expect(u.emails).toEqual([{ value: `Test_User_${guid}@testuser.com`, type: 'work', primary: true }]);
      expect(u.meta.resourceType).toBe('User');
      expect(Date.parse(u.meta.created)).not.toBeNaN();
      expect(Date.parse(u.meta.lastModified)).not.toBeNaN();
      // "If a value isn't present, don't send null values": nothing null, no empty roles.
      expect(JSON.stringify(u)).not.toContain('null');
      expect(u).not.toHaveProperty('roles');
      id = u.id;
    });

    it('Get User, and 404 in SCIM format for one that does not exist', async () => {
      const res = await entra.get(`${base}/Users/${id}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id, externalId, userName });
      const missing = await entra.get(`${base}/Users/5171a35d82074e068ce2`);
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ schemas: [ERROR], status: '404' });
    });

    it('Get User by query: userName, externalId and the work email', async () => {
      for (const filter of [`userName eq "${userName}"`, `externalId eq "${externalId}"`, `emails[type eq "work"].value eq "Test_User_${guid}@testuser.com"`]) {
        const res = await entra.get(`${base}/Users?filter=${q(filter)}`);
        expect(res.json(), filter).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [{ id, userName }] });
      }
    });

    it('Update User [Multi-valued properties]', async () => {
      const res = await entra.patch(
        `${base}/Users/${id}`,
        patchOp({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' }, { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' }),
      );
      expect(res.statusCode).toBe(200);
      const u = res.json<User>();
      expect(u.emails).toEqual([{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }]);
      expect(u.name.familyName).toBe('updatedFamilyName');
    });

    it('Update User [Single-valued properties]: a new userName', async () => {
      const renamed = `${uniqueName('5b50642d-79fc-4410-9e90-4c077cdd1a59')}@testuser.com`;
      const res = await entra.patch(`${base}/Users/${id}`, patchOp({ op: 'Replace', path: 'userName', value: renamed }));
      expect(res.statusCode).toBe(200);
      expect(res.json<User>().userName).toBe(renamed);
    });

    it('Update User, several attributes as sent without the aadOptscim062020 flag', async () => {
      const res = await entra.patch(
        `${base}/Users/${id}`,
        patchOp(
          { op: 'Replace', path: 'displayName', value: 'Pvlo' },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'TestBcwqnm@test.microsoft.com' },
          { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
          { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
          { op: 'Replace', path: 'externalId', value: `${externalId}-Eqpj` },
          { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: 'Eqpj' },
          { op: 'Add', path: 'nickName', value: 'Babs' },
        ),
      );
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ displayName: 'Pvlo', name: { givenName: 'Gtfd', familyName: 'Pkqf' }, externalId: `${externalId}-Eqpj`, nickName: 'Babs', [ENTERPRISE]: { employeeNumber: 'Eqpj' } });
    });

    it('Update User, several attributes as sent with the flag: one path-less replace with dotted and URN keys', async () => {
      const res = await entra.patch(
        `${base}/Users/${id}`,
        patchOp(
          { op: 'replace', path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
          { op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' } },
        ),
      );
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua' }, emails: [{ value: 'TestMhvaes@test.microsoft.com', type: 'work' }], [ENTERPRISE]: { employeeNumber: 'Aklq' } });
    });

    it('sets the manager with a bare id and the department, as attribute mappings send them', async () => {
      const boss = (await entra.post(`${base}/Users`, { schemas: [USER_SCHEMA], userName: `${uniqueName('boss')}@testuser.com`, displayName: 'The Boss' })).json<User>();
      const res = await entra.patch(
        `${base}/Users/${id}`,
        patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: boss.id }, { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Human Resources US' }),
      );
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()[ENTERPRISE]).toMatchObject({ department: 'Human Resources US', manager: { value: boss.id, displayName: 'The Boss' } });
      const cleared = await entra.patch(`${base}/Users/${id}`, patchOp({ op: 'Remove', path: `${ENTERPRISE}:manager` }));
      expect(cleared.json()[ENTERPRISE]).not.toHaveProperty('manager');
    });

    it('Disable User: active as "False" (without the flag) and as false (with it), and the user is still returned', async () => {
      const legacy = await entra.patch(`${base}/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
      expect(legacy.statusCode).toBe(200);
      expect(legacy.json<User>().active).toBe(false);
      expect((await entra.patch(`${base}/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }))).json<User>().active).toBe(true);
      const flagged = await entra.patch(`${base}/Users/${id}`, { Operations: [{ op: 'replace', path: 'active', value: false }], schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] });
      expect(flagged.json<User>().active).toBe(false);
      expect((await entra.get(`${base}/Users/${id}`)).json<User>().active).toBe(false);
    });

    it('Delete User: 204 No Content, then gone', async () => {
      const res = await entra.del(`${base}/Users/${id}`);
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expect((await entra.get(`${base}/Users/${id}`)).statusCode).toBe(404);
    });
  });

  describe('group operations', () => {
    const displayName = uniqueName('displayName');
    let groupId: string;
    let member: string;
    beforeAll(async () => {
      member = (await entra.post(`${base}/Users`, { schemas: [USER_SCHEMA], userName: `${uniqueName('member')}@testuser.com` })).json<User>().id;
    });

    it('Create Group, with the Microsoft schema URI and meta Entra sends: created with no members', async () => {
      const res = await entra.post(`${base}/Groups`, {
        schemas: [GROUP_SCHEMA, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
        externalId: uniqueName('8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159'),
        displayName,
        meta: { resourceType: 'Group' },
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ schemas: expect.arrayContaining([GROUP_SCHEMA]), displayName, members: [], meta: { resourceType: 'Group' } });
      groupId = res.json<{ id: string }>().id;
    });

    it('Get Group with excludedAttributes=members', async () => {
      const res = await entra.get(`${base}/Groups/${groupId}?excludedAttributes=members`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: groupId, displayName });
      expect(res.json()).not.toHaveProperty('members');
    });

    it('Get Group by displayName', async () => {
      const res = await entra.get(`${base}/Groups?excludedAttributes=members&filter=${q(`displayName eq "${displayName}"`)}`);
      expect(res.json()).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [{ id: groupId, displayName }] });
    });

    it('Update Group [Add Members]: 204 No Content', async () => {
      const res = await entra.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: member }] }));
      expect(res.statusCode).toBe(204);
    });

    it('checks a membership with a filter on id and members', async () => {
      const res = await entra.get(`${base}/Groups?excludedAttributes=members&filter=${q(`id eq "${groupId}" and members[value eq "${member}"]`)}`);
      expect(res.json().totalResults).toBe(1);
    });

    it('Update Group [Non-member attributes]: 204 No Content', async () => {
      const res = await entra.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'Replace', path: 'displayName', value: `${displayName}updatedDisplayName` }));
      expect(res.statusCode).toBe(204);
      expect((await entra.get(`${base}/Groups/${groupId}`)).json().displayName).toBe(`${displayName}updatedDisplayName`);
    });

    it('Update Group [Remove Members]: by a value list (without the flag) and by a filter (with it)', async () => {
      const res = await entra.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: member }] }));
      expect(res.statusCode).toBe(204);
      expect((await entra.get(`${base}/Groups/${groupId}`)).json().members).toEqual([]);
      await entra.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'Add', path: 'members', value: [{ value: member }] }));
      const flagged = await entra.patch(`${base}/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${member}"]` }));
      expect(flagged.statusCode).toBe(204);
      expect((await entra.get(`${base}/Groups/${groupId}`)).json().members).toEqual([]);
    });

    it('Delete Group: 204 No Content', async () => {
      expect((await entra.del(`${base}/Groups/${groupId}`)).statusCode).toBe(204);
      expect((await entra.get(`${base}/Groups/${groupId}?excludedAttributes=members`)).statusCode).toBe(404);
    });
  });

  describe('schema discovery', () => {
    it('Discover schema: a ListResponse of schemas with camel-cased properties and no null values', async () => {
      const res = await entra.get(`${base}/Schemas`);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ schemas: string[]; totalResults: number; Resources: { id: string; name: string; attributes: { name: string; mutability: string; returned: string }[]; meta: { resourceType: string } }[] }>();
      expect(body.schemas).toEqual([LIST]);
      expect(body.Resources.map((r) => r.id)).toEqual(expect.arrayContaining([USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE]));
      expect(body.totalResults).toBe(body.Resources.length);
      const user = body.Resources.find((r) => r.id === USER_SCHEMA)!;
      expect(user.attributes.find((a) => a.name === 'userName')).toMatchObject({ type: 'string', required: true, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'server' });
      expect(user.attributes.find((a) => a.name === 'password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
      expect(user.meta.resourceType).toBe('Schema');
      expect(res.body).not.toContain('null');
      const one = await t.call(undefined, 'GET', `${base}/Schemas/${ENTERPRISE}`);
      expect(one.json()).toMatchObject({ id: ENTERPRISE, name: 'EnterpriseUser' });
    });

    it('ServiceProviderConfig and ResourceTypes describe what is supported, without a token', async () => {
      const spc = await t.call(undefined, 'GET', `${base}/ServiceProviderConfig`);
      expect(spc.statusCode).toBe(200);
      expect(spc.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(spc.json()).toMatchObject({ patch: { supported: true }, bulk: { supported: false }, filter: { supported: true, maxResults: 1000 }, etag: { supported: true }, sort: { supported: true }, changePassword: { supported: false }, authenticationSchemes: [{ type: 'oauthbearertoken' }] });
      const rt = (await t.call(undefined, 'GET', `${base}/ResourceTypes`)).json<{ Resources: { id: string; endpoint: string; schema: string; schemaExtensions: { schema: string }[] }[] }>();
      expect(rt.Resources.map((r) => [r.id, r.endpoint, r.schema])).toEqual([
        ['User', '/Users', USER_SCHEMA],
        ['Group', '/Groups', GROUP_SCHEMA],
      ]);
      expect(rt.Resources[0]!.schemaExtensions.map((e) => e.schema)).toContain(ENTERPRISE);
      expect((await t.call(undefined, 'GET', `${base}/ResourceTypes/Nope`)).statusCode).toBe(404);
    });
  });
});
