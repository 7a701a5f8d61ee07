import { describe, expect, it } from 'vitest';
import { APP, SCHEMAS } from './arbitraries.testing.ts';
import type { ProvisioningPlan } from './model.ts';
import { previewPlan } from './preview.ts';
import { accountKey, missingAccount } from './state.ts';
import type { AccountState } from './state.ts';

const u1: AccountState = { exists: true, enabled: true, locked: true, attributes: { groups: ['a', 'b'], title: 'old', mailboxSize: 5 }, permissions: { db: ['read'] } };

const plan: ProvisioningPlan = {
  accountRequests: [
    {
      application: APP,
      nativeIdentity: 'u1',
      op: 'Modify',
      attributeRequests: [
        { name: 'groups', op: 'Add', value: 'c' },
        { name: 'groups', op: 'Remove', value: 'a' },
        { name: 'title', op: 'Set', value: 'new' },
        { name: 'mailboxSize', op: 'Set', value: '5' },
      ],
      permissionRequests: [{ target: 'db', op: 'Add', rights: ['write'] }],
    },
    { application: APP, nativeIdentity: 'u1', op: 'Unlock', attributeRequests: [], permissionRequests: [] },
    { application: APP, nativeIdentity: 'u2', op: 'Create', attributeRequests: [{ name: 'active', op: 'Set', value: 'true' }], permissionRequests: [] },
  ],
};

describe('previewPlan', () => {
  it('shows per account the state before and after, the flags and a per-attribute diff', () => {
    const states = new Map([[accountKey(APP, 'u1'), u1]]);
    const r = previewPlan(plan, states, SCHEMAS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [p1, p2] = r.value.accounts;
    expect(r.value.accounts).toHaveLength(2);
    expect(p1).toMatchObject({ application: APP, nativeIdentity: 'u1', changed: true, locked: { before: true, after: false }, before: u1 });
    expect(p1?.exists).toBeUndefined();
    expect(p1?.enabled).toBeUndefined();
    expect(p1?.attributes).toEqual([
      { name: 'groups', before: ['a', 'b'], after: ['b', 'c'], added: ['c'], removed: ['a'] },
      { name: 'title', before: 'old', after: 'new', added: ['new'], removed: ['old'] },
    ]); // mailboxSize '5' coerces to the 5 it already is: no change
    expect(p1?.permissions).toEqual([{ target: 'db', before: ['read'], after: ['read', 'write'], added: ['write'], removed: [] }]);
    expect(p2).toMatchObject({
      nativeIdentity: 'u2',
      before: missingAccount(),
      exists: { before: false, after: true },
      enabled: { before: false, after: true },
      attributes: [{ name: 'active', after: true, added: [true], removed: [] }],
    });
  });

  it('changes nothing it is given', () => {
    const states = new Map([[accountKey(APP, 'u1'), u1]]);
    const snapshot = structuredClone(u1);
    previewPlan(plan, states, SCHEMAS);
    expect(u1).toEqual(snapshot);
    expect([...states.keys()]).toEqual([accountKey(APP, 'u1')]);
  });

  it('an account the plan leaves as it was is listed as unchanged', () => {
    const r = previewPlan({ accountRequests: [{ application: APP, nativeIdentity: 'u1', op: 'Modify', attributeRequests: [{ name: 'groups', op: 'Add', value: 'a' }], permissionRequests: [] }] }, new Map([[accountKey(APP, 'u1'), u1]]), SCHEMAS);
    expect(r.ok && r.value.accounts[0]).toMatchObject({ changed: false, attributes: [], permissions: [] });
  });

  it('reports the problems when the plan cannot apply', () => {
    const r = previewPlan(plan, new Map(), SCHEMAS);
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'plan.account_not_found', field: 'accountRequests[0]' }, { code: 'plan.account_not_found', field: 'accountRequests[1]' }] });
  });
});
