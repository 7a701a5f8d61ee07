/**
 * What a connector can do, in the terms of seed 000's `{provider}_api_*` script types, and
 * the check that refuses an AccountRequest needing anything else before a call is made.
 */
import type { Problem } from '../domain/result.ts';
import type { EntitlementKind } from '../domain/schema.ts';
import type { AccountRequest, AttributeOp } from '../plan/model.ts';

/**
 * The operations a connector may support. The names are seed 000's script types without the
 * `{provider}_api_` prefix, plus the few a ProvisioningPlan needs that the seed leaves to
 * `{provider}_api_{endpoint}`: enable, unlock, release a license, set attributes, set a
 * password, and set permissions (PermissionRequests).
 */
export const OPERATIONS = [
  'create_entity',
  'delete_entity',
  'create_group',
  'delete_group',
  'create_role',
  'delete_role',
  'create_user',
  'disable_user',
  'enable_user',
  'delete_user',
  'unlock_user',
  'add_user_to_entity',
  'remove_user_from_entity',
  'add_user_to_group',
  'remove_user_from_group',
  'add_user_to_role',
  'remove_user_from_role',
  'allocate_license',
  'release_license',
  'set_attributes',
  'set_password',
  'set_permissions',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** De-provisioning actions of seed 003; an application's policy may pick only what its connector can do. */
export const DEPROVISIONING_ACTIONS = ['Suspend', 'Deactivate', 'Archive', 'Delete'] as const;
export type DeprovisioningAction = (typeof DEPROVISIONING_ACTIONS)[number];

export interface Capabilities {
  operations: readonly Operation[];
  deprovisioning: readonly DeprovisioningAction[];
  /** Account attributes whose values are entitlements, with their kind (e.g. `groups` → `group`). */
  entitlementAttributes: Readonly<Record<string, EntitlementKind>>;
  /** The write-only attribute that sets a password (`password`), if the kind has one. */
  passwordAttribute?: string;
}

/** The operations that add and remove a user to/from an entitlement of each kind. */
export const MEMBERSHIP_OPERATIONS: Readonly<Record<EntitlementKind, { add: Operation; remove: Operation }>> = {
  group: { add: 'add_user_to_group', remove: 'remove_user_from_group' },
  role: { add: 'add_user_to_role', remove: 'remove_user_from_role' },
  license: { add: 'allocate_license', remove: 'release_license' },
  entity: { add: 'add_user_to_entity', remove: 'remove_user_from_entity' },
  permission: { add: 'set_permissions', remove: 'set_permissions' },
};

/** One operation a request needs, and the part of the request that needs it. */
export interface NeededOperation {
  operation: Operation;
  field: string;
}

function membershipOps(kind: EntitlementKind, op: AttributeOp, creating: boolean): Operation[] {
  const ops = MEMBERSHIP_OPERATIONS[kind];
  if (op === 'Add') return [ops.add];
  if (op === 'Remove') return [ops.remove];
  // Set on a new account only adds; on an existing one it may add and remove.
  return creating ? [ops.add] : [ops.add, ops.remove];
}

/** Every operation the AccountRequest needs, each with the field that needs it. */
export function neededOperations(request: AccountRequest, capabilities: Capabilities): NeededOperation[] {
  const needed: NeededOperation[] = [];
  switch (request.op) {
    case 'Create':
      needed.push({ operation: 'create_user', field: 'op' });
      break;
    case 'Delete':
      // Attribute requests on a Delete are options (seed 004), not changes.
      return [{ operation: 'delete_user', field: 'op' }];
    case 'Disable':
      needed.push({ operation: 'disable_user', field: 'op' });
      break;
    case 'Enable':
      needed.push({ operation: 'enable_user', field: 'op' });
      break;
    case 'Unlock':
      needed.push({ operation: 'unlock_user', field: 'op' });
      break;
    case 'Modify':
      break;
  }
  const creating = request.op === 'Create';
  request.attributeRequests.forEach((ar, i) => {
    const field = `attributeRequests[${i}] (${ar.name})`;
    const kind = capabilities.entitlementAttributes[ar.name];
    if (kind !== undefined) {
      for (const operation of membershipOps(kind, ar.op, creating)) needed.push({ operation, field });
    } else if (ar.name === capabilities.passwordAttribute) {
      // A password given at creation is part of the create call.
      if (!creating) needed.push({ operation: 'set_password', field });
    } else if (!creating) {
      needed.push({ operation: 'set_attributes', field });
    }
  });
  request.permissionRequests.forEach((pr, i) => {
    needed.push({ operation: 'set_permissions', field: `permissionRequests[${i}] (${pr.target})` });
  });
  return needed;
}

/**
 * The problems that make this AccountRequest impossible for a connector with these
 * capabilities (empty when it is supported): lets a plan be refused before anything runs.
 */
export function checkSupported(request: AccountRequest, capabilities: Capabilities): Problem[] {
  const supported = new Set<Operation>(capabilities.operations);
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const { operation, field } of neededOperations(request, capabilities)) {
    const key = `${operation} ${field}`;
    if (supported.has(operation) || seen.has(key)) continue;
    seen.add(key);
    problems.push({
      code: 'connector.unsupported_operation',
      field,
      message: `${request.op} on application '${request.application}' needs operation ${operation}, which its connector does not support`,
    });
  }
  return problems;
}
