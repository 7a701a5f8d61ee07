import { describe, expect, it } from 'vitest';
import { entitlementAttributes, revokeRequests, type RevokeInput } from './plans.ts';

const base: RevokeInput = {
  change: 'accountAppeared',
  applicationName: 'CRM',
  nativeIdentity: 'u1',
  identityId: null,
  attributes: { mail: 'a@example.org', groups: ['g1'], title: 'Lead' },
  entitlements: [{ kind: 'group', nativeValue: 'g1' }, { kind: 'role', nativeValue: 'r1' }],
  changes: null,
  entitlement: null,
  entitlementAttribute: entitlementAttributes(null),
};

describe('revokeRequests: the requests that undo an out-of-band change', () => {
  it('deletes an account that appeared', () => {
    expect(revokeRequests(base)).toEqual([{ application: 'CRM', op: 'Delete', nativeIdentity: 'u1', attributeRequests: [], permissionRequests: [] }]);
  });

  it('sets changed attributes back, clears ones that did not exist, and restores the enabled flag', () => {
    const r = revokeRequests({
      ...base,
      change: 'accountChanged',
      changes: { attributes: { title: { before: 'Lead', after: 'Boss' }, phone: { after: '555' }, tags: { before: ['a', 'b'], after: ['a'] } }, entitlements: { added: [], removed: [] }, enabled: { before: false, after: true } },
    });
    expect(r).toEqual([
      {
        application: 'CRM',
        op: 'Modify',
        nativeIdentity: 'u1',
        attributeRequests: [
          { name: 'title', op: 'Set', value: 'Lead' },
          { name: 'phone', op: 'Set', value: [] },
          { name: 'tags', op: 'Set', value: ['a', 'b'] },
        ],
        permissionRequests: [],
      },
      { application: 'CRM', op: 'Disable', nativeIdentity: 'u1', attributeRequests: [], permissionRequests: [] },
    ]);
  });

  it('unlocks an account locked out of band, and asks nothing when only the lock was released', () => {
    const locked = revokeRequests({ ...base, change: 'accountChanged', changes: { attributes: {}, entitlements: { added: [], removed: [] }, locked: { before: false, after: true } } });
    expect(locked.map((r) => r.op)).toEqual(['Unlock']);
    expect(revokeRequests({ ...base, change: 'accountChanged', changes: { attributes: {}, entitlements: { added: [], removed: [] }, locked: { before: true, after: false } } })).toEqual([]);
  });

  it('removes an entitlement added out of band and adds back one removed, on the attribute of its kind', () => {
    const attr = entitlementAttributes({ attributes: [{ name: 'memberOf', type: 'string', multiValued: true, entitlementKind: 'group' }] });
    expect(revokeRequests({ ...base, change: 'entitlementAddedOutOfBand', entitlement: { kind: 'group', nativeValue: 'cn=x' }, entitlementAttribute: attr })[0]!.attributeRequests).toEqual([{ name: 'memberOf', op: 'Remove', value: 'cn=x' }]);
    expect(revokeRequests({ ...base, change: 'entitlementRemovedOutOfBand', entitlement: { kind: 'role', nativeValue: 'r9' } })[0]!.attributeRequests).toEqual([{ name: 'roles', op: 'Add', value: 'r9' }]);
    expect(revokeRequests({ ...base, change: 'entitlementAddedOutOfBand', entitlement: null })).toEqual([]);
  });

  it('re-creates a removed account from its last snapshot, entitlements included', () => {
    const [create] = revokeRequests({ ...base, change: 'accountRemoved', attributes: { mail: 'a@example.org', title: 'Lead', empty: [], nested: { x: 1 } } });
    expect(create).toEqual({
      application: 'CRM',
      op: 'Create',
      nativeIdentity: 'u1',
      attributeRequests: [
        { name: 'mail', op: 'Set', value: 'a@example.org' },
        { name: 'title', op: 'Set', value: 'Lead' },
        { name: 'groups', op: 'Add', value: ['g1'] },
        { name: 'roles', op: 'Add', value: ['r1'] },
      ],
      permissionRequests: [],
    });
  });

  it('prefers the schema over the connector over the usual name for an entitlement kind', () => {
    expect(entitlementAttributes(null, { memberships: 'group' })('group')).toBe('memberships');
    expect(entitlementAttributes({ attributes: [{ name: 'teams', type: 'string', multiValued: true, entitlementKind: 'group' }] }, { memberships: 'group' })('group')).toBe('teams');
    expect(entitlementAttributes(null)('license')).toBe('licenses');
  });
});
