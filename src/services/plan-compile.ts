/**
 * The compiler: from what an identity should have (its live assignments, its own and
 * through its groups, and its attributes through each application's attribute mappings)
 * and what it has (its accounts), the minimal plan that makes the second equal the first.
 * It works on batches: one set-based query per batch, whatever its size, and the plans of a
 * batch depend only on each identity's own rows, so batches of any size give the same plans.
 */
import type { AttributeMapping } from '../domain/attribute-mappings.ts';
import type { DeprovisioningPolicy } from '../domain/policies.ts';
import type { AccountSchema, AttributeSchema, AttributeType } from '../domain/schema.ts';
import { coerceScalar, scalarEquals } from '../plan/index.ts';
import type { AccountRequest, AttributeRequest, ProvisioningPlan, Scalar } from '../plan/index.ts';
import type { Executor } from '../store/db.ts';
import { isUuid, planBatch, type BatchIdentity, type MappedIdentity, type OwnedAccount, type PlanApplication, type PlanBatch } from '../store/plans.ts';
import { identityAttribute } from './plan-state.ts';

/**
 * The request that takes away an account its identity is no longer entitled to: Disable
 * for Suspend, Deactivate and Archive (nothing when already disabled), Delete for Delete.
 * The policy's grace period is not applied here: holding the request until the period ends
 * belongs to the lifecycle scheduler, which calls this for the end state.
 */
export function deprovisioningRequest(app: Pick<PlanApplication, 'name' | 'deprovisioning_policy'>, account: Pick<OwnedAccount, 'native_identity' | 'enabled'>): AccountRequest | undefined {
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

function toScalar(v: unknown): Scalar | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

/**
 * The values an account holds in one attribute, read through the schema: what
 * `valueList(accountState(account, schema).attributes[name])` gives, for the one attribute
 * only (the compiler reads just the mapped and entitlement attributes of each account).
 */
function heldValues(attributes: Record<string, unknown>, name: string, attr: AttributeSchema | undefined): Scalar[] {
  if (!Object.hasOwn(attributes, name)) return [];
  const raw = attributes[name];
  const multi = attr?.multiValued === true || (attr === undefined && Array.isArray(raw));
  const out: Scalar[] = [];
  for (const r of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
    let s = toScalar(r);
    if (s === undefined) continue;
    if (attr && !(attr.type === 'string' && typeof s === 'string')) {
      const c = coerceScalar(s, attr.type);
      if (c.ok) s = c.value;
    }
    out.push(s);
    if (!multi) break;
  }
  return out;
}

/** The account attribute holding entitlements of each kind: the first the schema marks so. */
function entitlementAttributeByKind(schema: AccountSchema): Map<string, string> {
  const byKind = new Map<string, string>();
  for (const a of schema.attributes) if (a.entitlementKind !== undefined && !byKind.has(a.entitlementKind)) byKind.set(a.entitlementKind, a.name);
  return byKind;
}

/** The values in code-unit order, as `[...values].sort()` gives them (an insertion sort: the sets are small). */
function sorted(values: ReadonlySet<string>): Iterable<string> {
  if (values.size < 2) return values;
  const out: string[] = [];
  for (const v of values) {
    let i = out.length;
    while (i > 0 && out[i - 1]! > v) i--;
    out.splice(i, 0, v);
  }
  return out;
}

/** An application with what the compiler derives from it once per batch. */
interface PreparedApp {
  row: PlanApplication;
  /** The account attribute holding each entitlement kind. */
  kindAttr: Map<string, string>;
  /** The same in schema order, with the attribute's schema and the prefix of its `managed` keys. */
  kinds: { kind: string; attr: string; schema: AttributeSchema | undefined; managedPrefix: string }[];
  mappings: { mapping: AttributeMapping; type: AttributeType | undefined; schema: AttributeSchema | undefined }[];
}

function prepare(row: PlanApplication): PreparedApp {
  const schema = (row.account_schema as AccountSchema | null) ?? { attributes: [] };
  const byName = new Map(schema.attributes.map((a) => [a.name, a]));
  const mappings = ((row.attribute_mappings as AttributeMapping[] | null) ?? []).map((mapping) => {
    const attr = byName.get(mapping.accountAttribute);
    return { mapping, type: attr?.type, schema: attr };
  });
  const kindAttr = entitlementAttributeByKind(schema);
  const kinds = [...kindAttr].map(([kind, attr]) => ({ kind, attr, schema: byName.get(attr), managedPrefix: `${row.id}\n${kind}\n` }));
  return { row, kindAttr, kinds, mappings };
}

/** What one identity should have in one application: entitlement native values by the account attribute that holds them. */
type Desired = Map<string, Set<string>>;

/** One account with the application it is in. */
interface HeldAccount {
  app: PreparedApp;
  nativeIdentity: string;
  enabled: boolean;
  attributes: Record<string, unknown>;
}

function createRequest(app: PreparedApp, identity: MappedIdentity, want: Desired): AccountRequest {
  const attributeRequests: AttributeRequest[] = [];
  for (const { mapping, type } of app.mappings) {
    const v = mappedValue(identity, mapping, type);
    if (v !== undefined) attributeRequests.push({ name: mapping.accountAttribute, op: 'Set', value: v });
  }
  // Entitlement attributes in schema order, each one's values sorted.
  for (const { attr } of app.kinds) {
    const values = want.get(attr);
    if (values) for (const v of sorted(values)) attributeRequests.push({ name: attr, op: 'Add', value: v });
  }
  // The application names the new account (seed 004 allows a Create without a nativeIdentity).
  return { application: app.row.name, op: 'Create', attributeRequests, permissionRequests: [] };
}

/**
 * The Create request for a new account of `identity` in `app`: the attributes its
 * attribute mappings give, then an Add of each entitlement value by its attribute. The
 * compiler's own rule, for callers that make one account outside a plan (an ActionFlow's
 * `{provider}_api_create_user`).
 */
export function accountCreateRequest(app: PlanApplication, identity: MappedIdentity, values: ReadonlyMap<string, ReadonlySet<string>> = new Map()): AccountRequest {
  const want: Desired = new Map([...values].map(([k, v]) => [k, new Set(v)]));
  return createRequest(prepare(app), identity, want);
}

const NOTHING_WANTED: ReadonlySet<string> = new Set();

function updateRequest(identity: MappedIdentity, want: Desired, account: HeldAccount, managed: Set<string>): AccountRequest | undefined {
  const prepared = account.app;
  const attributeRequests: AttributeRequest[] = [];
  for (const { mapping, type, schema } of prepared.mappings) {
    const v = mappedValue(identity, mapping, type);
    if (v === undefined) continue;
    const now = heldValues(account.attributes, mapping.accountAttribute, schema);
    if (now.length === 1 && scalarEquals(now[0]!, v)) continue;
    attributeRequests.push({ name: mapping.accountAttribute, op: 'Set', value: v });
  }
  for (const { attr, schema, managedPrefix } of prepared.kinds) {
    const wanted = want.get(attr) ?? NOTHING_WANTED;
    const held = new Set<string>();
    for (const v of heldValues(account.attributes, attr, schema)) if (typeof v === 'string') held.add(v);
    for (const v of sorted(wanted)) if (!held.has(v)) attributeRequests.push({ name: attr, op: 'Add', value: v });
    // Only values Steward manages (catalogued entitlements) are taken away; others on the account are left alone.
    for (const v of sorted(held)) if (!wanted.has(v) && managed.has(managedPrefix + v)) attributeRequests.push({ name: attr, op: 'Remove', value: v });
  }
  const op = account.enabled ? 'Modify' : 'Enable';
  if (op === 'Modify' && attributeRequests.length === 0) return undefined;
  return { application: prepared.row.name, op, nativeIdentity: account.nativeIdentity, attributeRequests, permissionRequests: [] };
}

const byName = (a: PreparedApp, b: PreparedApp): number => (a.row.name < b.row.name ? -1 : a.row.name > b.row.name ? 1 : 0);

/** One (application, entitlement) pair of a batch's grants, resolved once for all its identities. */
interface GrantKey {
  app: PreparedApp | undefined;
  /** The account attribute and value it asks for; undefined for an account-level assignment or a kind the schema has no attribute for. */
  attr: string | undefined;
  value: string;
}

/** A batch's applications and grants, prepared once for all its identities. */
interface BatchContext {
  apps: Map<string, PreparedApp>;
  keys: GrantKey[];
  /** `appId\nkind\nvalue` of the catalogued entitlements the batch's accounts hold. */
  managed: Set<string>;
}

const COMMA = 44;
const ZERO = 48;

/** The plan of one identity of a batch, from its grants and accounts. */
function planFor(entry: BatchIdentity, ctx: BatchContext): ProvisioningPlan {
  const { identity, grants, accounts: accountRows } = entry;
  const { apps, keys, managed } = ctx;
  const desired = new Map<PreparedApp, Desired>();
  // Grants: comma-separated indexes into the batch's keys, read without making a string apiece.
  for (let i = 0, n = 0; grants !== '' && i <= grants.length; i++) {
    const c = i < grants.length ? grants.charCodeAt(i) : COMMA;
    if (c !== COMMA) {
      n = n * 10 + (c - ZERO);
      continue;
    }
    const key = keys[n];
    n = 0;
    if (key?.app === undefined) continue;
    let want = desired.get(key.app);
    if (!want) desired.set(key.app, (want = new Map<string, Set<string>>()));
    // An account-level assignment, or an entitlement kind the schema has no attribute for (which cannot be expressed in a plan): the account is still wanted.
    if (key.attr === undefined) continue;
    let set = want.get(key.attr);
    if (!set) want.set(key.attr, (set = new Set()));
    set.add(key.value);
  }
  const accounts = new Map<PreparedApp, HeldAccount[]>();
  for (const [appId, nativeIdentity, enabled, , attributes] of accountRows) {
    const app = apps.get(appId);
    if (app === undefined) continue;
    const list = accounts.get(app);
    const held = { app, nativeIdentity, enabled, attributes };
    if (list) list.push(held);
    else accounts.set(app, [held]);
  }
  const involved = [...desired.keys()];
  for (const app of accounts.keys()) if (!desired.has(app)) involved.push(app);
  if (involved.length > 1) involved.sort(byName);
  const accountRequests: AccountRequest[] = [];
  for (const app of involved) {
    const want = desired.get(app);
    const have = accounts.get(app) ?? [];
    if (have.length > 1) have.sort((a, b) => (a.nativeIdentity < b.nativeIdentity ? -1 : 1));
    if (want) {
      if (have.length === 0) accountRequests.push(createRequest(app, identity, want));
      for (const account of have) {
        const r = updateRequest(identity, want, account, managed);
        if (r) accountRequests.push(r);
      }
    } else {
      for (const account of have) {
        const r = deprovisioningRequest(app.row, { native_identity: account.nativeIdentity, enabled: account.enabled });
        if (r) accountRequests.push(r);
      }
    }
  }
  return { identity: identity.id, accountRequests };
}

/** The plans of one batch of identities, read in one query, keyed and ordered as `ids`. */
async function compileBatch(db: Executor, ids: readonly string[], now: Date): Promise<Map<string, ProvisioningPlan>> {
  const batch = await planBatch(db, ids, now);
  return compileRead(ids, batch);
}

function compileRead(ids: readonly string[], batch: PlanBatch): Map<string, ProvisioningPlan> {
  const ctx: BatchContext = {
    apps: new Map(batch.applications.map((a) => [a.id, prepare(a)])),
    keys: [],
    managed: new Set(batch.managed.map(([app, kind, value]) => `${app}\n${kind}\n${value}`)),
  };
  for (const [appId, kind, value] of batch.grantKeys) {
    const app = ctx.apps.get(appId);
    ctx.keys.push({ app, attr: kind === null || value === null ? undefined : app?.kindAttr.get(kind), value: value ?? '' });
  }
  const entries = new Map(batch.identities.map((e) => [e.identity.id, e]));
  const plans = new Map<string, ProvisioningPlan>();
  for (const id of ids) {
    const entry = entries.get(id);
    if (entry) plans.set(id, planFor(entry, ctx));
  }
  return plans;
}

/** Identities per read: one query each, the next read while this batch compiles. */
export const COMPILE_BATCH = 5000;

/**
 * The plans of `identityIds` (unknown ids and non-uuids left out, duplicates once), batch
 * by batch: each batch is read in one query, and the next batch's read runs while this one
 * compiles. Every plan depends only on its own identity's rows, so how the ids are split
 * into batches never changes a plan.
 */
export async function* compilePlanBatches(db: Executor, identityIds: readonly string[], now: Date = new Date(), batchSize = COMPILE_BATCH): AsyncGenerator<Map<string, ProvisioningPlan>> {
  const ids = [...new Set(identityIds)].filter(isUuid);
  const size = Math.max(1, Math.floor(batchSize));
  const slices: string[][] = [];
  for (let i = 0; i < ids.length; i += size) slices.push(ids.slice(i, i + size));
  let next: Promise<PlanBatch> | undefined = slices.length > 0 ? planBatch(db, slices[0]!, now) : undefined;
  try {
    for (let i = 0; i < slices.length; i++) {
      const read = await next!;
      next = i + 1 < slices.length ? planBatch(db, slices[i + 1]!, now) : undefined;
      yield compileRead(slices[i]!, read);
    }
  } finally {
    // A consumer that stops early leaves a read running: wait for it so no query outlives the generator.
    if (next) await next.catch(() => undefined);
  }
}

/** The plan of each identity that exists among `identityIds` (unknown ids are left out), keyed in their order. */
export async function compilePlans(db: Executor, identityIds: readonly string[], now: Date = new Date()): Promise<Map<string, ProvisioningPlan>> {
  const ids = [...new Set(identityIds)].filter(isUuid);
  if (ids.length <= COMPILE_BATCH) return compileBatch(db, ids, now);
  const plans = new Map<string, ProvisioningPlan>();
  for await (const batch of compilePlanBatches(db, ids, now)) for (const [id, plan] of batch) plans.set(id, plan);
  return plans;
}
