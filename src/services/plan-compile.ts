/**
 * The compiler: from what an identity should have (its live assignments, its own and
 * through its groups, and its attributes through each application's attribute mappings)
 * and what it has (its accounts), the minimal plan that makes the second equal the first.
 * It works on batches: a constant number of set-based queries per batch, whatever its size.
 */
import type { AttributeMapping } from '../domain/attribute-mappings.ts';
import type { DeprovisioningPolicy } from '../domain/policies.ts';
import type { AccountSchema, AttributeType } from '../domain/schema.ts';
import { coerceScalar, scalarEquals, valueList } from '../plan/index.ts';
import type { AccountRequest, AttributeRequest, ProvisioningPlan, Scalar } from '../plan/index.ts';
import type { Executor } from '../store/db.ts';
import { accountsOfIdentities, applicationsByIds, catalogued, identitiesByIds, isUuid, liveGrants, type MappedIdentity, type OwnedAccount } from '../store/plans.ts';
import type { ApplicationRow } from '../store/tables.ts';
import { accountState, identityAttribute, schemaOf } from './plan-state.ts';

/** What one identity should have in one application. */
interface Desired {
  /** Entitlement native values by the account attribute that holds them. */
  values: Map<string, Set<string>>;
}

/**
 * The request that takes away an account its identity is no longer entitled to: Disable
 * for Suspend, Deactivate and Archive (nothing when already disabled), Delete for Delete.
 * The policy's grace period is not applied here: holding the request until the period ends
 * belongs to the lifecycle scheduler, which calls this for the end state.
 */
export function deprovisioningRequest(app: ApplicationRow, account: OwnedAccount): AccountRequest | undefined {
  const policy = app.deprovisioning_policy as DeprovisioningPolicy | null;
  const action = policy?.action ?? 'Suspend';
  const base = { application: app.name, nativeIdentity: account.native_identity, attributeRequests: [], permissionRequests: [] };
  switch (action) {
    case 'Delete':
      return { ...base, op: 'Delete' };
    case 'Suspend':
    case 'Deactivate':
    case 'Archive':
      return account.enabled ? { ...base, op: 'Disable' } : undefined;
    default: {
      const never: never = action;
      throw new Error(`unknown de-provisioning action ${String(never)}`);
    }
  }
}

function mappedValue(identity: MappedIdentity, m: AttributeMapping, type: AttributeType | undefined): Scalar | undefined {
  const raw = identityAttribute(identity, m.identityAttribute);
  if (raw === null || raw === '') return undefined;
  if (type === undefined || type === 'string') return raw;
  const c = coerceScalar(raw, type);
  return c.ok ? c.value : raw;
}

/** The account attribute holding entitlements of each kind: the first the schema marks so. */
function entitlementAttributeByKind(schema: AccountSchema): Map<string, string> {
  const byKind = new Map<string, string>();
  for (const a of schema.attributes) if (a.entitlementKind !== undefined && !byKind.has(a.entitlementKind)) byKind.set(a.entitlementKind, a.name);
  return byKind;
}

const sorted = (values: Iterable<string>): string[] => [...values].sort();

/** An application with what the compiler derives from it once per batch. */
interface PreparedApp {
  row: ApplicationRow;
  schema: AccountSchema;
  /** The account attribute holding each entitlement kind. */
  kindAttr: Map<string, string>;
  mappings: { mapping: AttributeMapping; type: AttributeType | undefined }[];
}

function prepare(row: ApplicationRow): PreparedApp {
  const schema = schemaOf(row);
  const types = new Map(schema.attributes.map((a) => [a.name, a.type]));
  const mappings = ((row.attribute_mappings as AttributeMapping[] | null) ?? []).map((mapping) => ({ mapping, type: types.get(mapping.accountAttribute) }));
  return { row, schema, kindAttr: entitlementAttributeByKind(schema), mappings };
}

interface Batch {
  identities: Map<string, MappedIdentity>;
  apps: Map<string, PreparedApp>;
  desired: Map<string /* identity */, Map<string /* app id */, Desired>>;
  accounts: Map<string /* identity */, Map<string /* app id */, OwnedAccount[]>>;
  /** `appId\nkind\nvalue` of catalogued entitlements found on the batch's accounts. */
  managed: Set<string>;
}

async function readBatch(db: Executor, identityIds: string[], now: Date): Promise<Batch> {
  const [identityRows, grants, accountRows] = await Promise.all([identitiesByIds(db, identityIds), liveGrants(db, identityIds, now), accountsOfIdentities(db, identityIds)]);
  const appIds = new Set<string>([...grants.map((g) => g.application_id), ...accountRows.map((a) => a.application_id)]);
  const apps = new Map((await applicationsByIds(db, [...appIds])).map((a) => [a.id, prepare(a)]));

  const desired = new Map<string, Map<string, Desired>>();
  for (const g of grants) {
    let byApp = desired.get(g.identity_id);
    if (!byApp) desired.set(g.identity_id, (byApp = new Map<string, Desired>()));
    let d = byApp.get(g.application_id);
    if (!d) byApp.set(g.application_id, (d = { values: new Map() }));
    if (g.kind === null || g.native_value === null) continue;
    // An entitlement kind the schema has no attribute for cannot be expressed in a plan; the account is still wanted.
    const attr = apps.get(g.application_id)?.kindAttr.get(g.kind);
    if (attr === undefined) continue;
    let set = d.values.get(attr);
    if (!set) d.values.set(attr, (set = new Set()));
    set.add(g.native_value);
  }

  const accounts = new Map<string, Map<string, OwnedAccount[]>>();
  const heldValues = new Set<string>();
  for (const a of accountRows) {
    let byApp = accounts.get(a.identity_id!);
    if (!byApp) accounts.set(a.identity_id!, (byApp = new Map<string, OwnedAccount[]>()));
    const list = byApp.get(a.application_id) ?? [];
    list.push(a);
    byApp.set(a.application_id, list);
    for (const attr of apps.get(a.application_id)?.kindAttr.values() ?? []) {
      for (const v of valueList(a.attributes[attr] as Scalar | Scalar[] | undefined)) if (typeof v === 'string') heldValues.add(v);
    }
  }
  const managed = new Set((await catalogued(db, [...appIds], [...heldValues])).map((e) => `${e.application_id}\n${e.kind}\n${e.native_value}`));
  return { identities: new Map(identityRows.map((r) => [r.id, r])), apps, desired, accounts, managed };
}

function createRequest(app: PreparedApp, identity: MappedIdentity, want: Desired): AccountRequest {
  const attributeRequests: AttributeRequest[] = [];
  for (const { mapping, type } of app.mappings) {
    const v = mappedValue(identity, mapping, type);
    if (v !== undefined) attributeRequests.push({ name: mapping.accountAttribute, op: 'Set', value: v });
  }
  for (const [attr, values] of want.values) for (const v of sorted(values)) attributeRequests.push({ name: attr, op: 'Add', value: v });
  // The application names the new account (seed 004 allows a Create without a nativeIdentity).
  return { application: app.row.name, op: 'Create', attributeRequests, permissionRequests: [] };
}

/**
 * The Create request for a new account of `identity` in `app`: the attributes its
 * attribute mappings give, then an Add of each entitlement value by its attribute. The
 * compiler's own rule, for callers that make one account outside a plan (an ActionFlow's
 * `{provider}_api_create_user`).
 */
export function accountCreateRequest(app: ApplicationRow, identity: MappedIdentity, values: ReadonlyMap<string, ReadonlySet<string>> = new Map()): AccountRequest {
  const want: Desired = { values: new Map([...values].map(([k, v]) => [k, new Set(v)])) };
  return createRequest(prepare(app), identity, want);
}

function updateRequest(prepared: PreparedApp, identity: MappedIdentity, want: Desired, account: OwnedAccount, managed: Set<string>): AccountRequest | undefined {
  const app = prepared.row;
  const state = accountState(account, prepared.schema);
  const attributeRequests: AttributeRequest[] = [];
  for (const { mapping, type } of prepared.mappings) {
    const v = mappedValue(identity, mapping, type);
    if (v === undefined) continue;
    const now = valueList(state.attributes[mapping.accountAttribute]);
    if (now.length === 1 && scalarEquals(now[0]!, v)) continue;
    attributeRequests.push({ name: mapping.accountAttribute, op: 'Set', value: v });
  }
  for (const [kind, attr] of prepared.kindAttr) {
    const wanted = want.values.get(attr) ?? new Set<string>();
    const held = new Set(valueList(state.attributes[attr]).filter((v): v is string => typeof v === 'string'));
    for (const v of sorted(wanted)) if (!held.has(v)) attributeRequests.push({ name: attr, op: 'Add', value: v });
    // Only values Steward manages (catalogued entitlements) are taken away; others on the account are left alone.
    for (const v of sorted(held)) if (!wanted.has(v) && managed.has(`${app.id}\n${kind}\n${v}`)) attributeRequests.push({ name: attr, op: 'Remove', value: v });
  }
  const op = account.enabled ? 'Modify' : 'Enable';
  if (op === 'Modify' && attributeRequests.length === 0) return undefined;
  return { application: app.name, op, nativeIdentity: account.native_identity, attributeRequests, permissionRequests: [] };
}

function planFor(identity: MappedIdentity, batch: Batch): ProvisioningPlan {
  const desired = batch.desired.get(identity.id) ?? new Map<string, Desired>();
  const accounts = batch.accounts.get(identity.id) ?? new Map<string, OwnedAccount[]>();
  const appIds = [...new Set([...desired.keys(), ...accounts.keys()])]
    .map((id) => batch.apps.get(id))
    .filter((a) => a !== undefined)
    .sort((a, b) => (a.row.name < b.row.name ? -1 : a.row.name > b.row.name ? 1 : 0));
  const accountRequests: AccountRequest[] = [];
  for (const app of appIds) {
    const want = desired.get(app.row.id);
    const have = (accounts.get(app.row.id) ?? []).sort((a, b) => (a.native_identity < b.native_identity ? -1 : 1));
    if (want) {
      if (have.length === 0) accountRequests.push(createRequest(app, identity, want));
      for (const account of have) {
        const r = updateRequest(app, identity, want, account, batch.managed);
        if (r) accountRequests.push(r);
      }
    } else {
      for (const account of have) {
        const r = deprovisioningRequest(app.row, account);
        if (r) accountRequests.push(r);
      }
    }
  }
  return { identity: identity.id, accountRequests };
}

/** The plan of each identity that exists among `identityIds` (unknown ids are left out), read in one batch. */
export async function compilePlans(db: Executor, identityIds: readonly string[], now: Date = new Date()): Promise<Map<string, ProvisioningPlan>> {
  const ids = [...new Set(identityIds)].filter(isUuid);
  const batch = await readBatch(db, ids, now);
  const plans = new Map<string, ProvisioningPlan>();
  for (const id of ids) {
    const identity = batch.identities.get(id);
    if (identity) plans.set(id, planFor(identity, batch));
  }
  return plans;
}
