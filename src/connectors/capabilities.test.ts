import { describe, expect, it } from 'vitest';
import type { AccountRequest } from '../plan/model.ts';
import type { Capabilities } from './capabilities.ts';
import { checkSupported, neededOperations } from './capabilities.ts';

const caps: Capabilities = {
  operations: ['create_user', 'delete_user', 'disable_user', 'enable_user', 'add_user_to_group', 'set_attributes'],
  deprovisioning: ['Suspend', 'Delete'],
  entitlementAttributes: { groups: 'group', roles: 'role' },
  passwordAttribute: 'password',
};

const req = (r: Partial<AccountRequest>): AccountRequest => ({ application: 'App', op: 'Modify', nativeIdentity: 'jeff', attributeRequests: [], permissionRequests: [], ...r });

describe('checkSupported', () => {
  it('accepts a request made only of supported operations', () => {
    expect(checkSupported(req({ op: 'Create', attributeRequests: [{ name: 'password', op: 'Set', value: 'x' }, { name: 'groups', op: 'Add', value: 'G' }] }), caps)).toEqual([]);
  });
  it('refuses an account operation the kind lacks, naming it', () => {
    const problems = checkSupported(req({ op: 'Unlock' }), caps);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'connector.unsupported_operation', field: 'op' });
    expect(problems[0]!.message).toContain('unlock_user');
  });
  it('needs both add and remove for a Set of memberships on an existing account, only add on a new one', () => {
    const modify = checkSupported(req({ attributeRequests: [{ name: 'groups', op: 'Set', value: ['A'] }] }), caps);
    expect(modify.map((p) => p.message)).toEqual([expect.stringContaining('remove_user_from_group')]);
    expect(checkSupported(req({ op: 'Create', attributeRequests: [{ name: 'groups', op: 'Set', value: ['A'] }] }), caps)).toEqual([]);
  });
  it('maps each entitlement kind to its own operations', () => {
    const problems = checkSupported(req({ attributeRequests: [{ name: 'roles', op: 'Add', value: 'r' }] }), caps);
    expect(problems[0]).toMatchObject({ field: 'attributeRequests[0] (roles)' });
    expect(problems[0]!.message).toContain('add_user_to_role');
  });
  it('needs set_password for a password change on an existing account', () => {
    const problems = checkSupported(req({ attributeRequests: [{ name: 'password', op: 'Set', value: 'x' }] }), caps);
    expect(problems[0]!.message).toContain('set_password');
  });
  it('needs set_permissions for PermissionRequests', () => {
    const problems = checkSupported(req({ permissionRequests: [{ target: 'HR', op: 'Add', rights: ['read'] }] }), caps);
    expect(problems[0]).toMatchObject({ field: 'permissionRequests[0] (HR)' });
  });
  it('treats attribute requests on a Delete as options', () => {
    expect(neededOperations(req({ op: 'Delete', attributeRequests: [{ name: 'cascade', op: 'Set', value: true }] }), caps)).toEqual([{ operation: 'delete_user', field: 'op' }]);
  });
});
