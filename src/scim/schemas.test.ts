import { describe, expect, it } from 'vitest';
import type { ScimAttribute } from './schema-model.ts';
import { COMMON_ATTRIBUTES, findAttribute, resolveAttribute } from './schema-model.ts';
import { CORE_GROUP_SCHEMA, CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, USER_RESOURCE } from './schemas.ts';

const KEYS = ['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness'];

function walk(attrs: readonly ScimAttribute[], visit: (a: ScimAttribute, depth: number) => void, depth = 0): void {
  for (const a of attrs) {
    visit(a, depth);
    if (a.subAttributes) walk(a.subAttributes, visit, depth + 1);
  }
}

describe('schema descriptions', () => {
  it.each([CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CORE_GROUP_SCHEMA])('$id is complete and well-formed for /Schemas', (schema) => {
    expect(schema.id).toMatch(/^urn:ietf:params:scim:schemas:/);
    walk(schema.attributes, (a, depth) => {
      for (const k of KEYS) expect(a, `${a.name}.${k}`).toHaveProperty(k);
      expect(a.description, a.name).not.toBe('');
      expect(a.type === 'complex', `${a.name} has sub-attributes exactly when complex`).toBe(a.subAttributes !== undefined);
      expect(depth, 'complex attributes nest one level only (RFC 7643 §2.3.8)').toBeLessThanOrEqual(1);
    });
    const names = schema.attributes.map((a) => a.name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
  });

  it('lists the RFC 7643 core User attributes', () => {
    expect(CORE_USER_SCHEMA.attributes.map((a) => a.name)).toEqual([
      'userName', 'name', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'password',
      'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates',
    ]);
  });

  it('marks what the RFC marks', () => {
    const u = (n: string) => findAttribute(CORE_USER_SCHEMA.attributes, n)!;
    expect(u('userName')).toMatchObject({ required: true, uniqueness: 'server', caseExact: false });
    expect(u('password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    expect(u('groups')).toMatchObject({ mutability: 'readOnly', multiValued: true });
    expect(u('active').type).toBe('boolean');
    expect(findAttribute(u('emails').subAttributes, 'primary')!.type).toBe('boolean');
    expect(findAttribute(u('x509Certificates').subAttributes, 'value')!.type).toBe('binary');
    const manager = findAttribute(ENTERPRISE_USER_SCHEMA.attributes, 'manager')!;
    expect(findAttribute(manager.subAttributes, 'displayName')!.mutability).toBe('readOnly');
    const members = findAttribute(CORE_GROUP_SCHEMA.attributes, 'members')!;
    expect(findAttribute(members.subAttributes, 'value')!.mutability).toBe('immutable');
    expect(findAttribute(COMMON_ATTRIBUTES, 'id')).toMatchObject({ mutability: 'readOnly', caseExact: true, returned: 'always' });
  });

  it('resolves paths case-insensitively to canonical JSON keys', () => {
    expect(resolveAttribute(USER_RESOURCE, { attribute: 'NAME', subAttribute: 'FAMILYNAME' }, 'invalidPath')).toMatchObject({ ok: true, value: { keys: ['name', 'familyName'] } });
    expect(resolveAttribute(USER_RESOURCE, { uri: ENTERPRISE_USER_SCHEMA.id.toUpperCase(), attribute: 'manager', subAttribute: 'value' }, 'invalidPath')).toMatchObject({
      ok: true,
      value: { keys: [ENTERPRISE_USER_SCHEMA.id, 'manager', 'value'], extension: ENTERPRISE_USER_SCHEMA },
    });
    expect(resolveAttribute(GROUP_RESOURCE, { attribute: 'userName' }, 'invalidFilter')).toMatchObject({ ok: false, errors: [{ scimType: 'invalidFilter', field: 'userName' }] });
  });
});
