/**
 * Store rows as the plan module sees them: an application's account schema and connector
 * capabilities, an account row (or an identity, for Steward's own application) as an
 * AccountState.
 */
import type { Capabilities, Operation } from '../connectors/index.ts';
import type { AccountSchema, EntitlementKind } from '../domain/schema.ts';
import { attributeSchema, coerceScalar } from '../plan/index.ts';
import type { AccountState, PlanValue, Scalar } from '../plan/index.ts';
import type { MappedIdentity } from '../store/plans.ts';
import type { AccountRow, ApplicationRow } from '../store/tables.ts';

export const schemaOf = (app: ApplicationRow): AccountSchema => (app.account_schema as AccountSchema | null) ?? { attributes: [] };

/** What the application's connector may do, as `checkSupported` needs it. */
export function capabilitiesOf(app: ApplicationRow): Capabilities {
  const schema = schemaOf(app);
  const entitlementAttributes: Record<string, EntitlementKind> = {};
  for (const a of schema.attributes) if (a.entitlementKind !== undefined) entitlementAttributes[a.name] = a.entitlementKind;
  const caps: Capabilities = { operations: (app.capabilities as Operation[] | null) ?? [], deprovisioning: [], entitlementAttributes };
  // A password given to a connector is write-only; the schema names it `password` when the target has one.
  if (schema.attributes.some((a) => a.name === 'password')) caps.passwordAttribute = 'password';
  return caps;
}

function toScalar(v: unknown): Scalar | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

/** An account row's state, its attributes read through the schema (lists for multi-valued, dates as dates). */
export function accountState(row: Pick<AccountRow, 'enabled' | 'locked' | 'attributes'>, schema: AccountSchema): AccountState {
  const attributes: Record<string, PlanValue> = {};
  for (const [name, raw] of Object.entries(row.attributes)) {
    const attr = attributeSchema(schema, name);
    const scalars = (Array.isArray(raw) ? raw : [raw]).map(toScalar).filter((s) => s !== undefined).map((s) => {
      if (!attr || (attr.type === 'string' && typeof s === 'string')) return s;
      const c = coerceScalar(s, attr.type);
      return c.ok ? c.value : s;
    });
    if (scalars.length === 0) continue;
    attributes[name] = attr?.multiValued || (attr === undefined && Array.isArray(raw)) ? scalars : scalars[0]!;
  }
  return { exists: true, enabled: row.enabled, locked: row.locked, attributes, permissions: {} };
}

/** An identity's attributes by path, as attribute mappings name them. */
export function identityAttribute(row: MappedIdentity, path: string): string | null {
  switch (path) {
    case 'id': return row.id;
    case 'userName': return row.user_name;
    case 'externalId': return row.external_id;
    case 'displayName': return row.display_name;
    case 'name.givenName': return row.given_name;
    case 'name.familyName': return row.family_name;
    case 'email': return row.email;
    case 'department': return row.department;
    case 'title': return row.title;
    case 'employeeNumber': return row.employee_number;
    default: return null;
  }
}

/** The identity as the state of its Steward "account" (the target of `Steward`/`IIQ` requests). */
export function identityState(row: MappedIdentity): AccountState {
  const attributes: Record<string, PlanValue> = {};
  const put = (name: string, v: string | null) => {
    if (v !== null && v !== '') attributes[name] = v;
  };
  put('userName', row.user_name);
  put('displayName', row.display_name);
  put('givenName', row.given_name);
  put('familyName', row.family_name);
  put('email', row.email);
  put('employeeNumber', row.employee_number);
  put('department', row.department);
  put('title', row.title);
  put('lifecycleStatus', row.status);
  return { exists: true, enabled: row.active, locked: false, attributes, permissions: {} };
}
