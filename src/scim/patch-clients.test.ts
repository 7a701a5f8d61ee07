// What Microsoft Entra and Okta send, request by request (STYLE.md §15). The shapes follow
// Microsoft's "Tutorial: Develop and plan provisioning for a SCIM endpoint" and "Known
// issues and resolutions with SCIM 2.0 protocol compliance", and Okta's "SCIM 2.0"
// provisioning reference.
import { describe, expect, it } from 'vitest';
import type { ResourceSchema } from './schema-model.ts';
import { applyPatch } from './patch.ts';
import { CORE_GROUP_SCHEMA_ID, CORE_USER_SCHEMA_ID, ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE, PATCH_OP_SCHEMA_ID, USER_RESOURCE } from './schemas.ts';

const PATCH = [PATCH_OP_SCHEMA_ID];

// Runs requests one after another, as a client would, each against the last result.
function run(resource: Record<string, unknown>, rs: ResourceSchema, ...requests: unknown[]): Record<string, unknown> {
  return requests.reduce<Record<string, unknown>>((current, req, i) => {
    const r = applyPatch(current, req, rs);
    if (!r.ok) throw new Error(`request ${i}: ${r.errors.map((e) => e.message).join('; ')}`);
    return r.value;
  }, resource);
}

describe('Microsoft Entra provisioning', () => {
  // As Entra's "Create User" request leaves it on the server.
  const created = (): Record<string, unknown> => ({
    schemas: [CORE_USER_SCHEMA_ID, ENT],
    id: '48af03ac28ad4fb88478',
    externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
    userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
    active: true,
    emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
  });

  it('updates multi-valued and single-valued attributes, and disables the user', () => {
    const u = run(
      created(),
      USER_RESOURCE,
      {
        schemas: PATCH,
        Operations: [
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
          { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        ],
      },
      { schemas: PATCH, Operations: [{ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }] },
      { schemas: PATCH, Operations: [{ op: 'Replace', path: 'active', value: false }] },
    );
    expect(u.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(u.name).toEqual({ formatted: 'givenName familyName', familyName: 'updatedFamilyName', givenName: 'givenName' });
    expect(u.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
    expect(u.active).toBe(false);
  });

  it('disables a user with the string "False" (the pre-2020 job) and re-enables with "True"', () => {
    const off = run(created(), USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(off.active).toBe(false);
    const on = run(off, USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'replace', value: { active: 'True' } }] });
    expect(on.active).toBe(true);
  });

  it('replaces many attributes in one value object with dotted, filtered and URN-prefixed keys', () => {
    const u = run(created(), USER_RESOURCE, {
      schemas: PATCH,
      Operations: [
        {
          op: 'Replace',
          value: {
            displayName: 'Pvlo',
            'emails[type eq "work"].value': 'TestBcwqnm@test.microsoft.com',
            'name.givenName': 'Ysgewyh',
            'name.familyName': 'Hiwmibse',
            'addresses[type eq "work"].locality': 'Redmond',
            'addresses[type eq "work"].postalCode': '98052',
            'phoneNumbers[type eq "work"].value': '+1 425 555 0100',
            'phoneNumbers[type eq "mobile"].value': '+1 425 555 0101',
            [`${ENT}:employeeNumber`]: '701984',
            [`${ENT}:department`]: 'Finance',
          },
        },
      ],
    });
    expect(u.displayName).toBe('Pvlo');
    expect(u.emails).toEqual([{ primary: true, type: 'work', value: 'TestBcwqnm@test.microsoft.com' }]);
    expect(u.name).toEqual({ formatted: 'givenName familyName', familyName: 'Hiwmibse', givenName: 'Ysgewyh' });
    expect(u.addresses).toEqual([{ type: 'work', locality: 'Redmond', postalCode: '98052' }]);
    expect(u.phoneNumbers).toEqual([
      { type: 'work', value: '+1 425 555 0100' },
      { type: 'mobile', value: '+1 425 555 0101' },
    ]);
    expect(u[ENT]).toEqual({ employeeNumber: '701984', department: 'Finance' });
    expect(u.schemas).toEqual([CORE_USER_SCHEMA_ID, ENT]);
  });

  it('adds a single-valued attribute as a value object (the current job) and by path (the old one)', () => {
    expect(run(created(), USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Add', value: { nickName: 'Babs' } }] }).nickName).toBe('Babs');
    expect(run(created(), USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Add', path: 'nickName', value: 'Babs' }] }).nickName).toBe('Babs');
  });

  it('adds a work email with Add when none exists, then changes it with Add again', () => {
    const none = { ...created(), emails: [] };
    const once = run(none, USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Replace', path: 'title', value: 'tester' }, { op: 'Add', path: 'emails[type eq "work"].value', value: 'joe@contoso.com' }] });
    expect(once.emails).toEqual([{ type: 'work', value: 'joe@contoso.com' }]);
    const twice = run(once, USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Add', path: 'emails[type eq "work"].value', value: 'joe2@contoso.com' }] });
    expect(twice.emails).toEqual([{ type: 'work', value: 'joe2@contoso.com' }]);
  });

  it('sets the manager from a bare id, changes it, and removes it', () => {
    const MANAGER = '2819c223-7f76-453a-919d-413861904646';
    const set = run(created(), USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Add', path: `${ENT}:manager`, value: MANAGER }] });
    expect(set[ENT]).toEqual({ manager: { value: MANAGER } });
    const changed = run(set, USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Replace', path: `${ENT}:manager`, value: 'f648f8d5ea4e4cd38e9c' }] });
    expect(changed[ENT]).toEqual({ manager: { value: 'f648f8d5ea4e4cd38e9c' } });
    const removed = run(changed, USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Remove', path: `${ENT}:manager` }] });
    expect(removed).not.toHaveProperty(ENT);
    expect(removed.schemas).toEqual([CORE_USER_SCHEMA_ID]);
  });

  it('adds an app role with "primary": "True" as a string', () => {
    const u = run(created(), USER_RESOURCE, {
      schemas: PATCH,
      Operations: [{ op: 'Add', path: 'roles', value: [{ primary: 'True', type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' }] }],
    });
    expect(u.roles).toEqual([{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' }]);
  });

  describe('groups', () => {
    const group = (): Record<string, unknown> => ({
      schemas: [CORE_GROUP_SCHEMA_ID],
      id: '927fa2c08dcb4a7fae9e',
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });

    it('adds members, removes one by a value list, and renames the group', () => {
      const g = run(
        group(),
        GROUP_RESOURCE,
        { schemas: PATCH, Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }] },
        { schemas: PATCH, Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: '4a7c3f1e9b2d4e6f8a0b' }, { $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }] },
        { schemas: PATCH, Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }] },
        { schemas: PATCH, Operations: [{ op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' }] },
      );
      expect(g.members).toEqual([{ value: '4a7c3f1e9b2d4e6f8a0b' }]);
      expect(g.displayName).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    });

    it('removes a member by a path filter too (the pre-2020 job), and a member not there is no error', () => {
      const withMember = run(group(), GROUP_RESOURCE, { schemas: PATCH, Operations: [{ op: 'Add', path: 'members', value: [{ value: 'f648f8d5ea4e4cd38e9c' }] }] });
      const g = run(
        withMember,
        GROUP_RESOURCE,
        { schemas: PATCH, Operations: [{ op: 'Remove', path: 'members[value eq "f648f8d5ea4e4cd38e9c"]' }] },
        { schemas: PATCH, Operations: [{ op: 'Remove', path: 'members', value: [{ value: 'f648f8d5ea4e4cd38e9c' }] }] },
      );
      expect(g).not.toHaveProperty('members');
    });

    it('refuses a member removal that names no value', () => {
      const r = applyPatch(group(), { schemas: PATCH, Operations: [{ op: 'Remove', path: 'members', value: [{ display: 'x' }] }] }, GROUP_RESOURCE);
      expect(r).toMatchObject({ ok: false, errors: [{ scimType: 'invalidValue', field: 'Operations[0].value[0]' }] });
    });
  });
});

describe('Okta provisioning', () => {
  const created = (): Record<string, unknown> => ({
    schemas: [CORE_USER_SCHEMA_ID],
    id: '23a35c27-23d3-4c03-b4c5-6443c09e7173',
    userName: 'test.user@okta.local',
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    active: true,
  });

  it('deactivates, reactivates and sets a password with value objects', () => {
    const off = run(created(), USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'replace', value: { active: false } }] });
    expect(off.active).toBe(false);
    const on = run(off, USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'replace', value: { active: true } }] });
    expect(on.active).toBe(true);
    const pw = run(on, USER_RESOURCE, { schemas: PATCH, Operations: [{ op: 'replace', value: { password: 'OktaPassword123!' } }] });
    expect(pw.password).toBe('OktaPassword123!');
  });

  describe('Group Push', () => {
    const pushed = (): Record<string, unknown> => ({
      schemas: [CORE_GROUP_SCHEMA_ID],
      id: 'abf4dd94-a4c0-4f67-89c9-76b03340cb9b',
      displayName: 'Test SCIMv2',
      members: [],
    });

    it('renames the group with its own id echoed in the value', () => {
      const g = run(pushed(), GROUP_RESOURCE, { schemas: PATCH, Operations: [{ op: 'replace', value: { id: 'abf4dd94-a4c0-4f67-89c9-76b03340cb9b', displayName: 'Test SCIMv2 renamed' } }] });
      expect(g.displayName).toBe('Test SCIMv2 renamed');
      expect(g.id).toBe('abf4dd94-a4c0-4f67-89c9-76b03340cb9b');
    });

    it('adds members with display names and removes one by filter', () => {
      const g = run(
        pushed(),
        GROUP_RESOURCE,
        {
          schemas: PATCH,
          Operations: [
            {
              op: 'add',
              path: 'members',
              value: [
                { value: '23a35c27-23d3-4c03-b4c5-6443c09e7173', display: 'test.user@okta.local' },
                { value: '89bb1940-b905-4575-9e7f-6f887cfb368e', display: 'test.user2@okta.local' },
              ],
            },
          ],
        },
        { schemas: PATCH, Operations: [{ op: 'remove', path: 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]' }] },
      );
      expect(g.members).toEqual([{ value: '23a35c27-23d3-4c03-b4c5-6443c09e7173', display: 'test.user@okta.local' }]);
    });

    it('replaces the whole membership', () => {
      const g = run(pushed(), GROUP_RESOURCE, { schemas: PATCH, Operations: [{ op: 'replace', path: 'members', value: [{ value: '89bb1940-b905-4575-9e7f-6f887cfb368e', display: 'test.user2@okta.local' }] }] });
      expect(g.members).toEqual([{ value: '89bb1940-b905-4575-9e7f-6f887cfb368e', display: 'test.user2@okta.local' }]);
    });

    it('refuses renaming with another id', () => {
      const r = applyPatch(pushed(), { schemas: PATCH, Operations: [{ op: 'replace', value: { id: 'someone-else', displayName: 'x' } }] }, GROUP_RESOURCE);
      expect(r).toMatchObject({ ok: false, errors: [{ scimType: 'mutability' }] });
    });
  });
});
