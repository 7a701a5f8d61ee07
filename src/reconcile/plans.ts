/**
 * The ProvisioningPlan that undoes an out-of-band change in the target ("revoke" in the
 * remediation policy): delete an account nobody asked for, set changed attributes back,
 * take an added entitlement away, give a removed one back, re-create a removed account.
 * Pure: the rows in, the plan out; an ActionFlow carries it out.
 */
import type { EntitlementRef } from '../connectors/index.ts';
import type { AccountChange } from '../domain/policies.ts';
import type { AccountSchema, EntitlementKind } from '../domain/schema.ts';
import type { AccountRequest, AttributeRequest, PlanValue, ProvisioningPlan, Scalar } from '../plan/index.ts';

/** One attribute's change in a delta: an absent side was absent in that snapshot. */
export interface AttributeDelta {
  before?: unknown;
  after?: unknown;
}

export interface AccountChanges {
  attributes: Record<string, AttributeDelta>;
  entitlements: { added: EntitlementRef[]; removed: EntitlementRef[] };
  enabled?: { before: boolean | null; after: boolean | null };
  locked?: { before: boolean | null; after: boolean | null };
}

export interface RevokeInput {
  change: AccountChange;
  applicationName: string;
  nativeIdentity: string;
  identityId: string | null;
  /** The account's last snapshot (for re-creating a removed account). */
  attributes: Record<string, unknown>;
  entitlements: EntitlementRef[];
  /** The run's delta of the account (for setting changed attributes back). */
  changes: AccountChanges | null;
  entitlement: EntitlementRef | null;
  /** The attribute holding each entitlement kind (`groups` for groups…). */
  entitlementAttribute: (kind: EntitlementKind) => string;
}

const DEFAULT_ENTITLEMENT_ATTRIBUTES: Record<EntitlementKind, string> = { group: 'groups', role: 'roles', license: 'licenses', permission: 'permissions', entity: 'entities' };

/** The attribute of each entitlement kind: the application schema's, else the connector's, else the usual name. */
export function entitlementAttributes(schema: AccountSchema | null, connector?: Readonly<Record<string, EntitlementKind>>): (kind: EntitlementKind) => string {
  const byKind = new Map<EntitlementKind, string>();
  for (const [name, kind] of Object.entries(connector ?? {})) if (!byKind.has(kind)) byKind.set(kind, name);
  for (const a of schema?.attributes ?? []) if (a.entitlementKind !== undefined) byKind.set(a.entitlementKind, a.name);
  return (kind) => byKind.get(kind) ?? DEFAULT_ENTITLEMENT_ATTRIBUTES[kind];
}

function planValue(v: unknown): PlanValue | undefined {
  const scalar = (x: unknown): Scalar | undefined => (typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)) ? x : undefined);
  if (Array.isArray(v)) return v.map(scalar).filter((x): x is Scalar => x !== undefined);
  return scalar(v);
}

const modify = (i: RevokeInput, attributeRequests: AttributeRequest[]): AccountRequest => ({ application: i.applicationName, op: 'Modify', nativeIdentity: i.nativeIdentity, attributeRequests, permissionRequests: [] });

/** The account requests that undo one change; empty when there is nothing a target could be asked to do. */
export function revokeRequests(i: RevokeInput): AccountRequest[] {
  switch (i.change) {
    case 'accountAppeared':
      return [{ application: i.applicationName, op: 'Delete', nativeIdentity: i.nativeIdentity, attributeRequests: [], permissionRequests: [] }];
    case 'accountChanged': {
      const out: AccountRequest[] = [];
      const sets: AttributeRequest[] = [];
      for (const [name, d] of Object.entries(i.changes?.attributes ?? {})) {
        // Put back the value it had; one that did not exist before is set to nothing.
        const v = 'before' in d ? planValue(d.before) : [];
        sets.push({ name, op: 'Set', value: v ?? [] });
      }
      if (sets.length > 0) out.push(modify(i, sets));
      const en = i.changes?.enabled;
      if (en && en.before !== null && en.before !== en.after) out.push({ application: i.applicationName, op: en.before ? 'Enable' : 'Disable', nativeIdentity: i.nativeIdentity, attributeRequests: [], permissionRequests: [] });
      const lk = i.changes?.locked;
      if (lk && lk.before === false && lk.after === true) out.push({ application: i.applicationName, op: 'Unlock', nativeIdentity: i.nativeIdentity, attributeRequests: [], permissionRequests: [] });
      return out;
    }
    case 'entitlementAddedOutOfBand':
      if (i.entitlement === null) return [];
      return [modify(i, [{ name: i.entitlementAttribute(i.entitlement.kind), op: 'Remove', value: i.entitlement.nativeValue }])];
    case 'entitlementRemovedOutOfBand':
      if (i.entitlement === null) return [];
      return [modify(i, [{ name: i.entitlementAttribute(i.entitlement.kind), op: 'Add', value: i.entitlement.nativeValue }])];
    case 'accountRemoved': {
      const attributeRequests: AttributeRequest[] = [];
      for (const [name, v] of Object.entries(i.attributes)) {
        const pv = planValue(v);
        if (pv !== undefined && !(Array.isArray(pv) && pv.length === 0)) attributeRequests.push({ name, op: 'Set', value: pv });
      }
      const byAttr = new Map<string, string[]>();
      for (const e of i.entitlements) {
        const a = i.entitlementAttribute(e.kind);
        byAttr.set(a, [...(byAttr.get(a) ?? []), e.nativeValue]);
      }
      for (const [name, values] of byAttr) if (!attributeRequests.some((r) => r.name === name)) attributeRequests.push({ name, op: 'Add', value: values });
      return [{ application: i.applicationName, op: 'Create', nativeIdentity: i.nativeIdentity, attributeRequests, permissionRequests: [] }];
    }
  }
}

/** The plan undoing one change, for the account's identity when it has one. */
export function revokePlan(i: RevokeInput): ProvisioningPlan {
  return { ...(i.identityId === null ? {} : { identity: i.identityId }), accountRequests: revokeRequests(i) };
}
