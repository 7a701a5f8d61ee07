/**
 * Creating and deleting entitlements through the optional contract methods: the capability
 * check every kind makes before calling its target, and the callers' entry points that
 * treat a kind without the methods as not supporting them.
 */
import type { Capabilities, Operation } from './capabilities.ts';
import type { Connector, CreatableKind, EntitlementItem, NewEntitlement } from './contract.ts';
import { refused } from './errors.ts';

/** The capability that creating or deleting an entitlement of this kind needs. */
export const entitlementOperation = (action: 'create' | 'delete', kind: CreatableKind): Operation => `${action}_${kind}` as Operation;

/** Which kinds a connector with these capabilities can create or delete. */
export function creatableKinds(capabilities: Capabilities, action: 'create' | 'delete'): CreatableKind[] {
  return (['group', 'role', 'entity'] as const).filter((k) => capabilities.operations.includes(entitlementOperation(action, k)));
}

/** Throws a permanent `unsupported` error, naming what the connector does support, unless it may do this. */
export function assertEntitlementOperation(connectorKind: string, capabilities: Capabilities, action: 'create' | 'delete', kind: CreatableKind): void {
  const op = entitlementOperation(action, kind);
  if (capabilities.operations.includes(op)) return;
  const can = creatableKinds(capabilities, action);
  throw refused('unsupported', [
    {
      code: 'connector.unsupported_operation',
      field: 'kind',
      message: `the ${connectorKind} connector cannot ${action} a ${kind} (operation ${op}); it can ${action} ${can.length === 0 ? 'none' : can.join(', ')}`,
    },
  ]);
}

/** Creates an entitlement; a connector without `createEntitlement` is refused as `unsupported` before any call. */
export async function createEntitlementWith(connector: Connector, kind: CreatableKind, entitlement: NewEntitlement): Promise<EntitlementItem> {
  if (connector.createEntitlement === undefined) {
    assertEntitlementOperation(connector.kind, { ...connector.capabilities, operations: [] }, 'create', kind);
  }
  return await connector.createEntitlement!(kind, entitlement);
}

/** Deletes an entitlement; a connector without `deleteEntitlement` is refused as `unsupported` before any call. */
export async function deleteEntitlementWith(connector: Connector, kind: CreatableKind, nativeValue: string): Promise<'deleted' | 'absent'> {
  if (connector.deleteEntitlement === undefined) {
    assertEntitlementOperation(connector.kind, { ...connector.capabilities, operations: [] }, 'delete', kind);
  }
  return await connector.deleteEntitlement!(kind, nativeValue);
}
