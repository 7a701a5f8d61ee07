import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A jsonb column: objects come back parsed; writes pass JSON text (the same on pg and PGlite). */
export type Json<T> = ColumnType<T, string, string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface IdentitiesTable {
  id: Generated<string>;
  user_name: string;
  external_id: string | null;
  active: Generated<boolean>;
  kind: Generated<string>;
  status: Generated<string>;
  manager_id: string | null;
  display_name: string | null;
  given_name: string | null;
  family_name: string | null;
  email: string | null;
  department: string | null;
  title: string | null;
  employee_number: string | null;
  data: Json<Record<string, unknown>>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface GroupsTable {
  id: Generated<string>;
  display_name: string;
  external_id: string | null;
  kind: Generated<string>;
  description: string | null;
  data: Json<Record<string, unknown>>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface GroupMembersTable {
  group_id: string;
  identity_id: string;
}

export interface ApplicationsTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  connector_kind: string;
  settings: Json<Record<string, unknown>>;
  secrets: Json<Record<string, string>>;
  account_schema: Json<unknown>;
  capabilities: Json<unknown>;
  /** `[{ accountAttribute, identityAttribute }]`; defaults to `[]`. */
  attribute_mappings: ColumnType<unknown, string | undefined, string>;
  deprovisioning_policy: Json<unknown>;
  adoption_policy: Json<unknown>;
  remediation_policy: Json<unknown>;
  owner_id: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AccountsTable {
  id: Generated<string>;
  application_id: string;
  native_identity: string;
  identity_id: string | null;
  state: Generated<string>;
  enabled: Generated<boolean>;
  locked: Generated<boolean>;
  attributes: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface EntitlementsTable {
  id: Generated<string>;
  application_id: string;
  kind: string;
  native_value: string;
  name: string;
  description: string | null;
  owner_id: string | null;
  requestable: Generated<boolean>;
  attributes: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AssignmentsTable {
  id: Generated<string>;
  identity_id: string | null;
  group_id: string | null;
  application_id: string;
  entitlement_id: string | null;
  source: string;
  status: Generated<string>;
  valid_from: Date | null;
  valid_until: Date | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ApiClientsTable {
  id: Generated<string>;
  name: string;
  token_prefix: string;
  token_hash: Buffer | Uint8Array;
  privileges: string[];
  created_at: CreatedAt;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface AuditEventsTable {
  seq: Generated<number>;
  id: Generated<string>;
  at: Date;
  actor: string;
  action: string;
  object_type: string;
  object_id: string | null;
  before: Json<unknown> | null;
  after: Json<unknown> | null;
  prev_hash: string;
  hash: string;
}

/** Steward's tables, as Kysely sees them. */
export interface Database {
  identities: IdentitiesTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  applications: ApplicationsTable;
  accounts: AccountsTable;
  entitlements: EntitlementsTable;
  assignments: AssignmentsTable;
  api_clients: ApiClientsTable;
  audit_events: AuditEventsTable;
}

export type IdentityRow = Selectable<IdentitiesTable>;
export type NewIdentityRow = Insertable<IdentitiesTable>;
export type IdentityUpdate = Updateable<IdentitiesTable>;
export type GroupRow = Selectable<GroupsTable>;
export type ApplicationRow = Selectable<ApplicationsTable>;
export type AccountRow = Selectable<AccountsTable>;
export type EntitlementRow = Selectable<EntitlementsTable>;
export type AssignmentRow = Selectable<AssignmentsTable>;
export type ApiClientRow = Selectable<ApiClientsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
