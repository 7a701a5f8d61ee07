import { describe, expect, it } from 'vitest';
import type { ScimProblem } from './errors.ts';
import { applyPatch } from './patch.ts';
import { CORE_GROUP_SCHEMA_ID, CORE_USER_SCHEMA_ID, ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE, PATCH_OP_SCHEMA_ID, USER_RESOURCE } from './schemas.ts';

const BABS = '2819c223-7f76-453a-919d-413861904646';
const JAMES = '08e1d05d-121c-4561-8b96-473d93df9210';

const user = (): Record<string, unknown> => ({
  schemas: [CORE_USER_SCHEMA_ID],
  id: BABS,
  userName: 'bjensen',
  name: { familyName: 'Jensen', givenName: 'Barbara' },
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'USA', primary: true }],
  meta: { resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34Z' },
});

const group = (): Record<string, unknown> => ({
  schemas: [CORE_GROUP_SCHEMA_ID],
  id: 'acbf3ae7-8463-4692-b4fd-9b4da3f908ce',
  displayName: 'Tour Guides',
  members: [{ value: BABS, display: 'Babs Jensen', $ref: `https://example.com/v2/Users/${BABS}` }],
});

const body = (...Operations: unknown[]) => ({ schemas: [PATCH_OP_SCHEMA_ID], Operations });

function patched(resource: Record<string, unknown>, ...ops: unknown[]): Record<string, unknown> {
  const r = applyPatch(resource, body(...ops), resource.schemas === undefined || (resource.schemas as string[]).includes(CORE_GROUP_SCHEMA_ID) ? GROUP_RESOURCE : USER_RESOURCE);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.value;
}

function refused(resource: Record<string, unknown>, payload: unknown, rs = USER_RESOURCE): ScimProblem {
  const r = applyPatch(resource, payload, rs);
  if (r.ok) throw new Error('expected the patch to be refused');
  return r.errors[0]!;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe('applyPatch: the examples of RFC 7644 §3.5.2', () => {
  it('adds a member to a group (§3.5.2.1)', () => {
    const g = patched(group(), { op: 'add', path: 'members', value: [{ display: 'James Smith', $ref: `https://example.com/v2/Users/${JAMES}`, value: JAMES }] });
    expect(g.members).toEqual([
      { value: BABS, display: 'Babs Jensen', $ref: `https://example.com/v2/Users/${BABS}` },
      { display: 'James Smith', $ref: `https://example.com/v2/Users/${JAMES}`, value: JAMES },
    ]);
  });

  it('adds attributes without a path, matching "nickname" to nickName (§3.5.2.1)', () => {
    const u = patched(user(), { op: 'add', value: { emails: [{ value: 'babs@jensen.org', type: 'home' }, { value: 'babs@example.net', type: 'other' }], nickname: 'Babs' } });
    expect(u.nickName).toBe('Babs');
    expect(u).not.toHaveProperty('nickname');
    // the home address already there is not repeated
    expect(u.emails).toEqual([
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
      { value: 'babs@example.net', type: 'other' },
    ]);
  });

  it('removes one member by a value filter, and all members by path (§3.5.2.2)', () => {
    const two = patched(group(), { op: 'add', path: 'members', value: [{ value: JAMES }] });
    expect(patched(two, { op: 'remove', path: `members[value eq "${BABS}"]` }).members).toEqual([{ value: JAMES }]);
    expect(patched(two, { op: 'remove', path: 'members' })).not.toHaveProperty('members');
  });

  it('removes and adds members in one request (§3.5.2.2)', () => {
    const g = patched(
      group(),
      { op: 'remove', path: `members[value eq "${BABS}"]` },
      { op: 'add', path: 'members', value: [{ display: 'James Smith', $ref: `https://example.com/v2/Users/${JAMES}`, value: JAMES }] },
    );
    expect(g.members).toEqual([{ display: 'James Smith', $ref: `https://example.com/v2/Users/${JAMES}`, value: JAMES }]);
  });

  it('removes emails matched by a compound filter (§3.5.2.2)', () => {
    const u = patched(user(), { op: 'remove', path: 'emails[type eq "work" and value ew "example.com"]' });
    expect(u.emails).toEqual([{ value: 'babs@jensen.org', type: 'home' }]);
  });

  it('replaces all members (§3.5.2.3)', () => {
    const g = patched(group(), { op: 'replace', path: 'members', value: [{ display: 'James Smith', value: JAMES }, { display: 'Babs Jensen', value: BABS }] });
    expect(g.members).toEqual([{ display: 'James Smith', value: JAMES }, { display: 'Babs Jensen', value: BABS }]);
  });

  it('replaces a work address as a whole, and one of its sub-attributes (§3.5.2.3)', () => {
    const whole = patched(user(), {
      op: 'replace',
      path: 'addresses[type eq "work"]',
      value: { type: 'work', streetAddress: '911 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'US', formatted: '911 Universal City Plaza\nHollywood, CA 91608 US', primary: true },
    });
    expect(whole.addresses).toEqual([
      { type: 'work', streetAddress: '911 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'US', formatted: '911 Universal City Plaza\nHollywood, CA 91608 US', primary: true },
    ]);
    const street = patched(user(), { op: 'replace', path: 'addresses[type eq "work"].streetAddress', value: '1010 Broadway Ave' });
    expect(street.addresses).toEqual([{ type: 'work', streetAddress: '1010 Broadway Ave', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'USA', primary: true }]);
  });

  it('replaces attributes without a path (§3.5.2.3)', () => {
    const u = patched(user(), {
      op: 'replace',
      value: { emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }], nickname: 'Babs' },
    });
    expect(u.nickName).toBe('Babs');
    expect(u.emails).toEqual([{ value: 'bjensen@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }]);
  });
});

describe('applyPatch: semantics', () => {
  it('never changes its input, even a deeply frozen one', () => {
    const input = deepFreeze(user());
    const copy = structuredClone(input);
    const u = patched(input, { op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.com' }, { op: 'remove', path: 'name.givenName' }, { op: 'add', path: 'title', value: 'Boss' });
    expect(input).toEqual(copy);
    expect(u.title).toBe('Boss');
    expect(u.name).toEqual({ familyName: 'Jensen' });
  });

  it('applies all operations or none', () => {
    const p = refused(user(), body({ op: 'replace', path: 'title', value: 'x' }, { op: 'replace', path: 'nope', value: 'y' }));
    expect(p).toMatchObject({ scimType: 'invalidPath', field: 'Operations[1].path' });
  });

  it('merges sub-attributes of a complex attribute for add and replace, and null unassigns one', () => {
    expect(patched(user(), { op: 'replace', path: 'name', value: { givenName: 'Babs' } }).name).toEqual({ familyName: 'Jensen', givenName: 'Babs' });
    expect(patched(user(), { op: 'add', path: 'name', value: { middleName: 'J', givenName: null } }).name).toEqual({ familyName: 'Jensen', middleName: 'J' });
  });

  it('treats replacing with null as unassigning, and removes empty parents', () => {
    const u = patched(user(), { op: 'replace', path: 'name.familyName', value: null }, { op: 'remove', path: 'name.givenName' });
    expect(u).not.toHaveProperty('name');
    expect(patched(user(), { op: 'replace', path: 'emails', value: [] })).not.toHaveProperty('emails');
    expect(patched(user(), { op: 'add', path: 'emails', value: null }).emails).toEqual(user().emails);
  });

  it('keeps one primary value: the one written last', () => {
    const u = patched(user(), { op: 'add', path: 'emails', value: [{ value: 'babs@example.net', type: 'other', primary: true }] });
    expect(u.emails).toEqual([
      { value: 'bjensen@example.com', type: 'work' },
      { value: 'babs@jensen.org', type: 'home' },
      { value: 'babs@example.net', type: 'other', primary: true },
    ]);
  });

  it('does not repeat a member added twice, and updates its display', () => {
    const g = patched(group(), { op: 'add', path: 'members', value: [{ value: BABS, display: 'Barbara' }] }, { op: 'add', path: 'members', value: { value: BABS } });
    expect(g.members).toEqual([{ value: BABS, display: 'Barbara', $ref: `https://example.com/v2/Users/${BABS}` }]);
  });

  it('keeps one copy of an entry a replacing list names twice', () => {
    expect(patched(group(), { op: 'replace', path: 'members', value: [{ value: JAMES }, { value: JAMES, display: 'James' }] }).members).toEqual([{ value: JAMES, display: 'James' }]);
  });

  it('sets a sub-attribute of every element when the path has no filter (emails.value)', () => {
    const g = patched(user(), { op: 'add', path: 'emails.value', value: 'x@example.com' });
    expect((g.emails as unknown[]).every((e) => (e as { value: string }).value === 'x@example.com')).toBe(true);
  });

  it('creates the element a filter describes when nothing matches (add and replace)', () => {
    const u = patched(user(), { op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' }, { op: 'replace', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0101' });
    expect(u.phoneNumbers).toEqual([
      { type: 'mobile', value: '+1 555 0100' },
      { type: 'work', value: '+1 555 0101' },
    ]);
  });

  it('removing a filter that matches nothing changes nothing', () => {
    expect(patched(group(), { op: 'remove', path: `members[value eq "${JAMES}"]` }).members).toEqual(group().members);
  });

  it('removing an element value removes the element; removing another sub-attribute keeps it', () => {
    expect(patched(user(), { op: 'remove', path: 'emails[type eq "home"].value' }).emails).toEqual([{ value: 'bjensen@example.com', type: 'work', primary: true }]);
    expect(patched(user(), { op: 'remove', path: 'emails[type eq "work"].primary' }).emails).toEqual([
      { value: 'bjensen@example.com', type: 'work' },
      { value: 'babs@jensen.org', type: 'home' },
    ]);
  });

  it('matches attribute names and filter values case-insensitively where SCIM says so', () => {
    const u = patched(user(), { op: 'replace', path: 'EMAILS[TYPE eq "WORK"].VALUE', value: 'w@example.com' }, { op: 'replace', path: 'Name.GivenName', value: 'B' });
    expect((u.emails as { value: string }[])[0]!.value).toBe('w@example.com');
    expect(u.name).toEqual({ familyName: 'Jensen', givenName: 'B' });
  });

  it('writes under the canonical name even when the stored key has another case', () => {
    const u = patched({ ...user(), DisplayName: 'old' }, { op: 'replace', path: 'displayName', value: 'new' });
    expect(u.displayName).toBe('new');
    expect(u).not.toHaveProperty('DisplayName');
  });

  it('adds the enterprise extension by URN path and lists it in schemas; removing its last attribute removes both', () => {
    const u = patched(user(), { op: 'add', path: `${ENT}:department`, value: 'Tour Operations' });
    expect(u[ENT]).toEqual({ department: 'Tour Operations' });
    expect(u.schemas).toEqual([CORE_USER_SCHEMA_ID, ENT]);
    const back = patched(u, { op: 'remove', path: `${ENT}:department` });
    expect(back).not.toHaveProperty(ENT);
    expect(back.schemas).toEqual([CORE_USER_SCHEMA_ID]);
  });

  it('sets and removes the manager by sub-attribute path and as a whole', () => {
    const u = patched(user(), { op: 'add', path: `${ENT}:manager.value`, value: JAMES });
    expect(u[ENT]).toEqual({ manager: { value: JAMES } });
    const whole = patched(user(), { op: 'replace', path: `${ENT}:manager`, value: { value: JAMES, displayName: 'ignored: read-only' } });
    expect(whole[ENT]).toEqual({ manager: { value: JAMES } });
    expect(patched(whole, { op: 'remove', path: `${ENT}:manager` })).not.toHaveProperty(ENT);
  });

  it('replaces the whole extension object by its URN path, and removes it', () => {
    const u = patched(user(), { op: 'replace', path: ENT, value: { employeeNumber: '701984', costCenter: '4130' } });
    expect(u[ENT]).toEqual({ employeeNumber: '701984', costCenter: '4130' });
    expect(patched(u, { op: 'remove', path: ENT })).not.toHaveProperty(ENT);
  });

  it('accepts a core-schema URN prefix on paths', () => {
    expect(patched(user(), { op: 'replace', path: `${CORE_USER_SCHEMA_ID}:userName`, value: 'babs' }).userName).toBe('babs');
  });

  it('ignores echoed schemas and meta, and an unchanged read-only id, in a value object', () => {
    const u = patched(user(), { op: 'replace', value: { schemas: ['x'], meta: { version: 'W/"1"' }, id: BABS, title: 'Guide' } });
    expect(u.title).toBe('Guide');
    expect(u.meta).toEqual(user().meta);
    expect(u.schemas).toEqual([CORE_USER_SCHEMA_ID]);
  });
});

describe('applyPatch: refusals carry SCIM scimTypes', () => {
  it.each<[string, unknown, Partial<ScimProblem>]>([
    ['a body that is not an object', 'add title', { scimType: 'invalidSyntax', code: 'scim.invalid_syntax' }],
    ['no PatchOp schema', { schemas: [CORE_USER_SCHEMA_ID], Operations: [{ op: 'add', path: 'title', value: 'x' }] }, { scimType: 'invalidSyntax', field: 'schemas' }],
    ['no Operations', { schemas: [PATCH_OP_SCHEMA_ID] }, { scimType: 'invalidSyntax', field: 'Operations' }],
    ['empty Operations', body(), { scimType: 'invalidSyntax', field: 'Operations' }],
    ['an unknown op', body({ op: 'merge', path: 'title', value: 'x' }), { scimType: 'invalidSyntax', field: 'Operations[0].op', message: 'Operations[0].op must be "add", "remove" or "replace", not "merge"' }],
    ['an operation that is not an object', body('add'), { scimType: 'invalidSyntax', field: 'Operations[0]' }],
    ['a path that is not a string', body({ op: 'add', path: 5, value: 'x' }), { scimType: 'invalidPath', field: 'Operations[0].path' }],
    ['add without a value', body({ op: 'add', path: 'title' }), { scimType: 'invalidValue', field: 'Operations[0].value' }],
    ['remove without a path', body({ op: 'remove' }), { scimType: 'noTarget', field: 'Operations[0].path' }],
    ['an unknown attribute', body({ op: 'add', path: 'shoeSize', value: '42' }), { scimType: 'invalidPath', field: 'Operations[0].path', message: "Operations[0].path: unknown attribute 'shoeSize' (the User schema has no such attribute)" }],
    ['an unknown extension', body({ op: 'add', path: 'urn:example:Ext:foo', value: '42' }), { scimType: 'invalidPath' }],
    ['a malformed path, with its column', body({ op: 'add', path: 'emails[type eq work].value', value: 'x' }), { scimType: 'invalidPath', column: 16 }],
    ['a filter on a single-valued attribute', body({ op: 'replace', path: 'name[givenName eq "B"]', value: {} }), { scimType: 'invalidPath' }],
    ['a filter naming an unknown sub-attribute', body({ op: 'replace', path: 'emails[kind eq "work"].value', value: 'x' }), { scimType: 'invalidPath', code: 'scim.invalid_path' }],
    ['a replace whose filter matches nothing and describes nothing', body({ op: 'replace', path: 'emails[value co "nobody"].value', value: 'x' }), { scimType: 'noTarget', code: 'scim.no_target' }],
    ['a string for a boolean', body({ op: 'replace', path: 'active', value: 'yes' }), { scimType: 'invalidValue', message: "Operations[0].value: 'active' takes true or false, not \"yes\"" }],
    ['a number for a string', body({ op: 'replace', path: 'title', value: 5 }), { scimType: 'invalidValue' }],
    ['an object for a string', body({ op: 'replace', path: 'userName', value: { x: 1 } }), { scimType: 'invalidValue' }],
    ['an unknown sub-attribute in a value', body({ op: 'add', path: 'emails', value: [{ value: 'a@b.c', label: 'x' }] }), { scimType: 'invalidValue', field: 'Operations[0].value[0].label' }],
    ['a value without a path that is not an object', body({ op: 'replace', value: 'x' }), { scimType: 'invalidValue' }],
    ['removing the required userName', body({ op: 'remove', path: 'userName' }), { scimType: 'invalidValue', field: 'userName' }],
    ['replacing userName with null', body({ op: 'replace', path: 'userName', value: null }), { scimType: 'invalidValue' }],
    ['changing id', body({ op: 'replace', path: 'id', value: JAMES }), { scimType: 'mutability', code: 'scim.mutability' }],
    ['changing id in a value object', body({ op: 'replace', value: { id: JAMES } }), { scimType: 'mutability' }],
    ['changing meta', body({ op: 'replace', path: 'meta.lastModified', value: '2020-01-01T00:00:00Z' }), { scimType: 'mutability' }],
    ['changing groups (read-only on User)', body({ op: 'add', path: 'groups', value: [{ value: JAMES }] }), { scimType: 'mutability' }],
    ["setting the manager's read-only displayName", body({ op: 'replace', path: `${ENT}:manager.displayName`, value: 'X' }), { scimType: 'mutability' }],
    ['a number for an email value', body({ op: 'add', path: 'emails', value: [{ value: 3 }] }), { scimType: 'invalidValue', field: 'Operations[0].value[0].value' }],
  ])('%s', (_name, payload, expected) => {
    expect(refused(user(), payload)).toMatchObject(expected);
  });

  it('refuses changing an immutable member value in place', () => {
    const p = refused(group(), body({ op: 'replace', path: `members[value eq "${BABS}"].value`, value: JAMES }), GROUP_RESOURCE);
    expect(p).toMatchObject({ scimType: 'mutability' });
  });

  it('refuses removing the required Group displayName', () => {
    expect(refused(group(), body({ op: 'remove', path: 'displayName' }), GROUP_RESOURCE)).toMatchObject({ scimType: 'invalidValue', field: 'displayName' });
  });

  it('refuses too many operations with tooMany', () => {
    const ops = Array.from({ length: 1001 }, () => ({ op: 'add', path: 'title', value: 'x' }));
    expect(refused(user(), body(...ops))).toMatchObject({ scimType: 'tooMany' });
    expect(applyPatch(user(), body(...ops.slice(0, 3)), USER_RESOURCE, { maxOperations: 2 }).ok).toBe(false);
  });

  it('reports every malformed operation, not just the first', () => {
    const r = applyPatch(user(), body({ op: 'x' }, { op: 'add', path: 'title' }), USER_RESOURCE);
    expect(!r.ok && r.errors.map((e) => e.field)).toEqual(['Operations[0].op', 'Operations[1].value']);
  });
});

describe('applyPatch: prototype pollution', () => {
  const hostile = [
    `{"op":"add","value":{"__proto__":{"polluted":true}}}`,
    `{"op":"add","value":{"constructor":{"prototype":{"polluted":true}}}}`,
    `{"op":"add","value":{"name":{"__proto__":{"polluted":true}}}}`,
    `{"op":"add","value":{"name.__proto__":"x"}}`,
    `{"op":"add","path":"__proto__","value":{"polluted":true}}`,
    `{"op":"add","path":"__proto__.polluted","value":true}`,
    `{"op":"add","path":"constructor.prototype","value":{"polluted":true}}`,
    `{"op":"add","path":"emails","value":[{"value":"a@b.c","__proto__":{"polluted":true}}]}`,
    `{"op":"add","path":"emails[type eq \\"work\\"]","value":{"__proto__":{"polluted":true}}}`,
    `{"op":"add","value":{"${ENT}":{"__proto__":{"polluted":true}}}}`,
    `{"op":"add","path":"${ENT}","value":{"constructor":{"polluted":true}}}`,
  ];
  it.each(hostile)('%s is refused and pollutes nothing', (op) => {
    const r = applyPatch(user(), JSON.parse(`{"schemas":["${PATCH_OP_SCHEMA_ID}"],"Operations":[${op}]}`), USER_RESOURCE);
    expect(r.ok).toBe(false);
    expect(!r.ok && ['invalidPath', 'invalidValue']).toContain(!r.ok && r.errors[0]!.scimType);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('leaves an own __proto__ key of the stored resource as plain data', () => {
    const stored = JSON.parse(`{"schemas":["${CORE_USER_SCHEMA_ID}"],"userName":"x","__proto__":{"polluted":true}}`) as Record<string, unknown>;
    const u = patched(stored, { op: 'replace', path: 'title', value: 't' });
    expect(Object.getPrototypeOf(u)).toBe(Object.prototype);
    expect((u as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
