import { describe, expect, it } from 'vitest';
import type { Result } from '../domain/result.ts';
import { applyAccountRequest, applyPlan } from './apply.ts';
import { APP, APP_SCHEMA, SCHEMAS } from './arbitraries.testing.ts';
import type { AccountRequest, AttributeRequest, PermissionRequest } from './model.ts';
import { checkPlanAgainstSchemas } from './schema-check.ts';
import { accountKey, missingAccount } from './state.ts';
import type { AccountState } from './state.ts';
import { STEWARD_ACCOUNT_SCHEMA } from './steward-schema.ts';

const existing = (attributes: AccountState['attributes'] = {}, permissions: AccountState['permissions'] = {}): AccountState => ({
  exists: true,
  enabled: true,
  locked: true,
  attributes,
  permissions,
});

const modify = (attributeRequests: AttributeRequest[], permissionRequests: PermissionRequest[] = [], op: AccountRequest['op'] = 'Modify'): AccountRequest => ({
  application: APP,
  nativeIdentity: 'u1',
  op,
  attributeRequests,
  permissionRequests,
});

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

describe('applyAccountRequest: account ops', () => {
  it('Create makes an enabled, unlocked account with the requested attributes', () => {
    const r = value(applyAccountRequest(undefined, modify([{ name: 'groups', op: 'Add', value: 'a' }], [], 'Create'), APP_SCHEMA));
    expect(r).toEqual({ exists: true, enabled: true, locked: false, attributes: { groups: ['a'] }, permissions: {} });
  });

  it('Create of an existing account is an error', () => {
    const r = applyAccountRequest(existing(), modify([], [], 'Create'), APP_SCHEMA, 'accountRequests[0]');
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'plan.account_exists', field: 'accountRequests[0]' }] });
  });

  it.each(['Modify', 'Delete', 'Disable', 'Enable', 'Unlock'] as const)('%s of a missing account is an error', (op) => {
    const r = applyAccountRequest(missingAccount(), modify([], [], op), APP_SCHEMA);
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'plan.account_not_found' }] });
    if (!r.ok) expect(r.errors[0]?.message).toContain(`${op} of App account 'u1', which does not exist`);
  });

  it('Delete removes the account; its attribute requests are connector options, not checked or applied', () => {
    const r = value(applyAccountRequest(existing({ title: 'a' }), modify([{ name: 'cascade', op: 'Set', value: 'yes' }], [], 'Delete'), APP_SCHEMA));
    expect(r).toEqual(missingAccount());
  });

  it('Disable, Enable and Unlock flip their flags and still apply attribute requests', () => {
    const disabled = value(applyAccountRequest(existing(), modify([{ name: 'title', op: 'Set', value: 'b' }], [], 'Disable'), APP_SCHEMA));
    expect(disabled).toMatchObject({ enabled: false, locked: true, attributes: { title: 'b' } });
    expect(value(applyAccountRequest(disabled, modify([], [], 'Enable'), APP_SCHEMA)).enabled).toBe(true);
    expect(value(applyAccountRequest(disabled, modify([], [], 'Unlock'), APP_SCHEMA)).locked).toBe(false);
  });

  it('never changes the state it is given', () => {
    const before = existing({ groups: ['a'] }, { t: ['read'] });
    const copy = structuredClone(before);
    value(applyAccountRequest(before, modify([{ name: 'groups', op: 'Add', value: 'b' }], [{ target: 't', op: 'Add', rights: ['write'] }]), APP_SCHEMA));
    expect(before).toEqual(copy);
  });
});

describe('applyAccountRequest: attribute ops', () => {
  const apply = (state: AccountState, ...rqs: AttributeRequest[]): AccountState['attributes'] => value(applyAccountRequest(state, modify(rqs), APP_SCHEMA)).attributes;

  it('Set and Add are the same on a single-valued attribute', () => {
    expect(apply(existing({ title: 'a' }), { name: 'title', op: 'Set', value: 'b' })).toEqual({ title: 'b' });
    expect(apply(existing({ title: 'a' }), { name: 'title', op: 'Add', value: 'b' })).toEqual({ title: 'b' });
  });

  it('Remove of a single value takes it out only when it is the current one', () => {
    expect(apply(existing({ title: 'a' }), { name: 'title', op: 'Remove', value: 'a' })).toEqual({});
    expect(apply(existing({ title: 'a' }), { name: 'title', op: 'Remove', value: 'b' })).toEqual({ title: 'a' });
  });

  it('Set with no value (or an empty list) clears an attribute', () => {
    expect(apply(existing({ title: 'a', groups: ['x'] }), { name: 'title', op: 'Set' }, { name: 'groups', op: 'Set', value: [] })).toEqual({});
  });

  it('on a multi-valued attribute Set replaces, Add and Remove change incrementally', () => {
    const s = existing({ groups: ['a', 'b'] });
    expect(apply(s, { name: 'groups', op: 'Set', value: ['c', 'c', 'd'] })).toEqual({ groups: ['c', 'd'] });
    expect(apply(s, { name: 'groups', op: 'Add', value: ['b', 'c'] })).toEqual({ groups: ['a', 'b', 'c'] });
    expect(apply(s, { name: 'groups', op: 'Remove', value: 'a' })).toEqual({ groups: ['b'] });
    expect(apply(s, { name: 'groups', op: 'Remove', value: ['a', 'b'] })).toEqual({});
  });

  it('Add of a present value and Remove of an absent one change nothing', () => {
    const s = existing({ groups: ['a'] });
    expect(apply(s, { name: 'groups', op: 'Add', value: 'a' })).toEqual({ groups: ['a'] });
    expect(apply(s, { name: 'groups', op: 'Remove', value: 'z' })).toEqual({ groups: ['a'] });
  });

  it("coerces to the schema's types: '100' to 100, 'true' to true, ISO strings to dates, numbers to strings", () => {
    const attrs = apply(
      existing(),
      { name: 'mailboxSize', op: 'Set', value: '100' },
      { name: 'active', op: 'Set', value: 'TRUE' },
      { name: 'hired', op: 'Set', value: '2026-01-02T03:04:05+02:00' },
      { name: 'codes', op: 'Add', value: ['1', 2, ' 3 '] },
      { name: 'groups', op: 'Add', value: [100, true] },
    );
    expect(attrs).toEqual({ mailboxSize: 100, active: true, hired: new Date('2026-01-02T01:04:05Z'), codes: [1, 2, 3], groups: ['100', 'true'] });
  });

  it('a value that cannot be coerced is an error naming the attribute and the value', () => {
    const r = applyAccountRequest(existing(), modify([{ name: 'mailboxSize', op: 'Set', value: 'lots' }, { name: 'active', op: 'Set', value: 'maybe' }, { name: 'hired', op: 'Set', value: '2026-01-02T03:04' }]), APP_SCHEMA, 'accountRequests[0]');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([
      ['plan.type_mismatch', 'accountRequests[0].attributeRequests[0].value'],
      ['plan.type_mismatch', 'accountRequests[0].attributeRequests[1].value'],
      ['plan.type_mismatch', 'accountRequests[0].attributeRequests[2].value'],
    ]);
    expect(r.errors[0]?.message).toContain("attribute 'mailboxSize' of App is an integer; 'lots' is not an integer");
    expect(r.errors[1]?.message).toContain("'maybe' is not true or false");
  });

  it('several values for a single-valued attribute are an error', () => {
    const r = applyAccountRequest(existing(), modify([{ name: 'title', op: 'Set', value: ['a', 'b'] }]), APP_SCHEMA);
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'plan.single_valued' }] });
  });

  it('an attribute not in the schema is an error', () => {
    const r = applyAccountRequest(existing(), modify([{ name: 'shoeSize', op: 'Set', value: '9' }]), APP_SCHEMA);
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'plan.unknown_attribute' }] });
    if (!r.ok) expect(r.errors[0]?.message).toContain("'shoeSize' is not an attribute of application 'App'");
  });
});

describe('applyAccountRequest: permissions', () => {
  it('rights merge per target like a multi-valued attribute', () => {
    const s = existing({}, { db: ['read'], other: ['x'] });
    const run = (pr: PermissionRequest): AccountState['permissions'] => value(applyAccountRequest(s, modify([], [pr]), APP_SCHEMA)).permissions;
    expect(run({ target: 'db', op: 'Add', rights: ['read', 'write'] })).toEqual({ db: ['read', 'write'], other: ['x'] });
    expect(run({ target: 'db', op: 'Set', rights: ['delete'] })).toEqual({ db: ['delete'], other: ['x'] });
    expect(run({ target: 'db', op: 'Remove', rights: ['read'] })).toEqual({ other: ['x'] });
    expect(run({ target: 'new', op: 'Remove', rights: ['read'] })).toEqual({ db: ['read'], other: ['x'] });
  });
});

describe('the Steward application (alias IIQ)', () => {
  it('has its built-in schema with assignedRoles multi-valued', () => {
    const plan = { accountRequests: [{ application: 'IIQ', nativeIdentity: 'jeff', op: 'Modify' as const, attributeRequests: [{ name: 'assignedRoles', op: 'Add' as const, value: 'Candy Men' }], permissionRequests: [] }] };
    const states = new Map([[accountKey('Steward', 'jeff'), existing({ assignedRoles: ['Bakers'] })]]);
    const r = value(applyPlan(plan, states, new Map()));
    expect(r.get(accountKey('Steward', 'jeff'))?.attributes).toEqual({ assignedRoles: ['Bakers', 'Candy Men'] });
    expect(accountKey('IIQ', 'jeff')).toBe(accountKey('Steward', 'jeff'));
    expect(STEWARD_ACCOUNT_SCHEMA.attributes.find((a) => a.name === 'assignedRoles')?.multiValued).toBe(true);
  });

  it('refuses attributes outside its schema like any other application', () => {
    const plan = { accountRequests: [{ application: 'Steward', nativeIdentity: 'jeff', op: 'Modify' as const, attributeRequests: [{ name: 'shoeSize', op: 'Set' as const, value: '9' }], permissionRequests: [] }] };
    expect(checkPlanAgainstSchemas(plan, new Map())).toMatchObject({ ok: false, errors: [{ code: 'plan.unknown_attribute' }] });
  });
});

describe('applyPlan', () => {
  it('applies requests in order, across accounts, reporting every problem with its request', () => {
    const plan = {
      accountRequests: [
        { application: APP, nativeIdentity: 'u1', op: 'Create' as const, attributeRequests: [{ name: 'title', op: 'Set' as const, value: 'a' }], permissionRequests: [] },
        { application: APP, nativeIdentity: 'u1', op: 'Disable' as const, attributeRequests: [], permissionRequests: [] },
        { application: 'Nowhere', nativeIdentity: 'u1', op: 'Modify' as const, attributeRequests: [], permissionRequests: [] },
        { application: APP, nativeIdentity: 'u2', op: 'Modify' as const, attributeRequests: [], permissionRequests: [] },
      ],
    };
    const r = applyPlan(plan, new Map(), SCHEMAS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([
      ['plan.unknown_application', 'accountRequests[2].application'],
      ['plan.account_not_found', 'accountRequests[3]'],
    ]);
    const ok = value(applyPlan({ accountRequests: plan.accountRequests.slice(0, 2) }, new Map(), SCHEMAS));
    expect(ok.get(accountKey(APP, 'u1'))).toEqual({ exists: true, enabled: false, locked: false, attributes: { title: 'a' }, permissions: {} });
  });

  it('checkPlanAgainstSchemas finds the same schema problems without any state', () => {
    const plan = { accountRequests: [{ application: APP, nativeIdentity: 'u1', op: 'Modify' as const, attributeRequests: [{ name: 'mailboxSize', op: 'Set' as const, value: 'x' }, { name: 'nope', op: 'Set' as const, value: 'x' }], permissionRequests: [] }] };
    const r = checkPlanAgainstSchemas(plan, SCHEMAS);
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'plan.type_mismatch' }, { code: 'plan.unknown_attribute' }] });
  });
});
