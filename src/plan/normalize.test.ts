import { describe, expect, it } from 'vitest';
import type { Problem } from '../domain/result.ts';
import { APP, SCHEMAS } from './arbitraries.testing.ts';
import type { AccountOp, AccountRequest, AttributeRequest, PermissionRequest, ProvisioningPlan } from './model.ts';
import { normalizePlan } from './normalize.ts';

const req = (op: AccountOp, attributeRequests: AttributeRequest[] = [], permissionRequests: PermissionRequest[] = [], nativeIdentity = 'u1', application = APP): AccountRequest => ({
  application,
  nativeIdentity,
  op,
  attributeRequests,
  permissionRequests,
});

const plan = (...accountRequests: AccountRequest[]): ProvisioningPlan => ({ accountRequests });

function conflicts(p: ProvisioningPlan): Problem[] {
  const r = normalizePlan(p, SCHEMAS);
  if (r.ok) throw new Error('expected conflicts');
  return r.errors;
}

describe('normalizePlan', () => {
  it('merges the requests for one account into one, keeping attribute requests in order', () => {
    const r = normalizePlan(
      plan(
        req('Modify', [{ name: 'groups', op: 'Add', value: 'a' }]),
        req('Modify', [{ name: 'title', op: 'Set', value: 'x' }], [], 'u2'),
        req('Modify', [{ name: 'groups', op: 'Add', value: 'b' }], [{ target: 't', op: 'Add', rights: ['read'] }]),
      ),
      SCHEMAS,
    );
    expect(r).toEqual({
      ok: true,
      value: plan(req('Modify', [{ name: 'groups', op: 'Add', value: 'a' }, { name: 'groups', op: 'Add', value: 'b' }], [{ target: 't', op: 'Add', rights: ['read'] }]), req('Modify', [{ name: 'title', op: 'Set', value: 'x' }], [], 'u2')),
    });
  });

  it('treats IIQ and Steward as one application', () => {
    const r = normalizePlan(plan(req('Modify', [{ name: 'assignedRoles', op: 'Add', value: 'a' }], [], 'jeff', 'IIQ'), req('Modify', [{ name: 'assignedRoles', op: 'Add', value: 'b' }], [], 'jeff', 'Steward')));
    expect(r.ok && r.value.accountRequests).toHaveLength(1);
  });

  it('a Create absorbs later Modify requests; a flag op absorbs Modify', () => {
    const r1 = normalizePlan(plan(req('Create', [{ name: 'title', op: 'Set', value: 'x' }]), req('Modify', [{ name: 'groups', op: 'Add', value: 'a' }])), SCHEMAS);
    expect(r1.ok && r1.value.accountRequests.map((r) => [r.op, r.attributeRequests.length])).toEqual([['Create', 2]]);
    const r2 = normalizePlan(plan(req('Modify', [{ name: 'title', op: 'Set', value: 'x' }]), req('Disable')), SCHEMAS);
    expect(r2.ok && r2.value.accountRequests.map((r) => [r.op, r.attributeRequests.length])).toEqual([['Disable', 1]]);
  });

  it('a second flag change that one op cannot carry follows as a request of its own', () => {
    const r = normalizePlan(plan(req('Unlock', [{ name: 'title', op: 'Set', value: 'x' }]), req('Disable'), req('Unlock')), SCHEMAS);
    expect(r.ok && r.value.accountRequests.map((x) => [x.op, x.attributeRequests.length])).toEqual([
      ['Unlock', 1],
      ['Disable', 0],
    ]);
  });

  it('Delete together with Modify of the same account is a conflict', () => {
    const errors = conflicts(plan(req('Modify', [{ name: 'title', op: 'Set', value: 'x' }]), req('Delete')));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'plan.conflict', field: 'accountRequests[0]' });
    expect(errors[0]?.message).toContain('which accountRequests[1] deletes');
  });

  it('Create and Delete of one account is a conflict, and so is Create twice', () => {
    expect(conflicts(plan(req('Create'), req('Delete')))[0]?.code).toBe('plan.conflict');
    expect(conflicts(plan(req('Create'), req('Create')))[0]?.message).toContain('Create of App account');
    expect(conflicts(plan(req('Modify'), req('Create')))[0]?.field).toBe('accountRequests[1]');
  });

  it('Enable together with Disable is a conflict', () => {
    expect(conflicts(plan(req('Enable'), req('Disable')))[0]?.message).toContain('both disabled (accountRequests[1]) and enabled (accountRequests[0])');
  });

  it('Set and Add of one single-valued attribute with different values is a conflict, after coercion', () => {
    const errors = conflicts(plan(req('Modify', [{ name: 'mailboxSize', op: 'Set', value: '100' }]), req('Modify', [{ name: 'mailboxSize', op: 'Add', value: 200 }])));
    expect(errors).toEqual([
      {
        code: 'plan.conflict',
        field: 'accountRequests[1].attributeRequests[0]',
        message: "accountRequests[1].attributeRequests[0]: single-valued attribute 'mailboxSize' of App account 'u1' is given 200 here and '100' by accountRequests[0].attributeRequests[0]",
      },
    ]);
    // '100' and 100 are the same integer: no conflict.
    expect(normalizePlan(plan(req('Modify', [{ name: 'mailboxSize', op: 'Set', value: '100' }]), req('Modify', [{ name: 'mailboxSize', op: 'Add', value: 100 }])), SCHEMAS).ok).toBe(true);
  });

  it('two different Sets of a multi-valued attribute, or one value added and removed, are conflicts', () => {
    expect(conflicts(plan(req('Modify', [{ name: 'groups', op: 'Set', value: ['a'] }, { name: 'groups', op: 'Set', value: ['b'] }])))[0]?.message).toContain('is Set to different values');
    expect(conflicts(plan(req('Modify', [{ name: 'groups', op: 'Add', value: 'a' }]), req('Modify', [{ name: 'groups', op: 'Remove', value: ['a', 'b'] }])))[0]?.message).toContain("'a' is removed here and added by accountRequests[0].attributeRequests[0]");
    expect(conflicts(plan(req('Modify', [], [{ target: 't', op: 'Add', rights: ['read'] }, { target: 't', op: 'Remove', rights: ['read'] }])))[0]?.message).toContain("rights on 't'");
  });

  it('different arguments under one name are a conflict', () => {
    const a = { ...req('Modify'), arguments: { k: 'x' } };
    const b = { ...req('Modify'), arguments: { k: 'y', j: null } };
    expect(conflicts(plan(a, b))[0]?.message).toContain("argument 'k' differs");
    const same = normalizePlan(plan(a, { ...req('Modify'), arguments: { k: 'x', j: null } }), SCHEMAS);
    expect(same.ok && same.value.accountRequests[0]?.arguments).toEqual({ k: 'x', j: null });
  });
});
