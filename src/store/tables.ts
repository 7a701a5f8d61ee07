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
  /** Reconciliation's snapshot hash of what the target last showed (null until a run sees the account). */
  hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** The entitlements the target last showed, `[{ kind, nativeValue }]`, sorted. */
  entitlements: ColumnType<unknown, string | undefined, string>;
  /** When a reconciliation run last found the account gone from the target. */
  removed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
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
  review_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  expiry_notified_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ApiClientsTable {
  id: Generated<string>;
  name: string;
  /** The identity this client acts for (an approver deciding, a requester asking); null for machine clients. */
  identity_id: ColumnType<string | null, string | null | undefined, string | null>;
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

export interface ApprovalChainsTable {
  id: Generated<string>;
  name: string;
  application_id: string;
  entitlement_id: string | null;
  condition: Json<unknown> | null;
  priority: Generated<number>;
  is_default: Generated<boolean>;
  steps: Json<unknown>;
  expires_after_days: number | null;
  audit_after_days: number | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AccessRequestsTable {
  id: Generated<string>;
  requester_id: string | null;
  requested_by: string;
  beneficiary_id: string;
  application_id: string;
  entitlement_id: string | null;
  justification: string;
  end_date: Date | null;
  status: Generated<string>;
  assignment_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  decided_at: Date | null;
}

export interface ApprovalFlowsTable {
  id: Generated<string>;
  request_id: string;
  chain_id: string | null;
  chain: Json<unknown>;
  current_step: Generated<number>;
  status: Generated<string>;
  created_at: CreatedAt;
  closed_at: Date | null;
}

export interface ApprovalTasksTable {
  id: Generated<string>;
  flow_id: string;
  step: number;
  approver_id: string;
  status: Generated<string>;
  comment: string | null;
  decided_by: string | null;
  escalated_from: string | null;
  due_at: Date | null;
  remind_at: Date | null;
  reminders: Generated<number>;
  decided_at: Date | null;
  created_at: CreatedAt;
}

export interface ActionChainsTable {
  id: Generated<string>;
  application_id: string;
  entitlement_id: string | null;
  purpose: string;
  scripts: Json<unknown>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ActionFlowsTable {
  id: Generated<string>;
  chain_id: string | null;
  application_id: string;
  entitlement_id: string | null;
  identity_id: string | null;
  assignment_id: string | null;
  request_id: string | null;
  purpose: string;
  status: Generated<string>;
  context: Json<Record<string, unknown>>;
  created_by: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  finished_at: Date | null;
}

export interface ActionFlowScriptsTable {
  id: Generated<string>;
  flow_id: string;
  position: number;
  type: string;
  metadata: Json<Record<string, unknown>>;
  status: Generated<string>;
  attempts: Generated<number>;
  started_at: Date | null;
  finished_at: Date | null;
  next_attempt_at: Date | null;
  output: Json<unknown> | null;
  last_error: Json<unknown> | null;
}

export interface DecisionTokensTable {
  id: Generated<string>;
  token_hash: Buffer | Uint8Array;
  channel: string;
  task_id: string | null;
  script_id: string | null;
  expires_at: Date;
  used_at: Date | null;
  decision: string | null;
  created_at: CreatedAt;
}

export interface SlackReplaysTable {
  signature: string;
  seen_at: CreatedAt;
}

export interface ReconciliationRunsTable {
  id: Generated<string>;
  application_id: string;
  requested_mode: string;
  mode: string;
  status: Generated<string>;
  phase: Generated<string>;
  entitlement_cursor: string | null;
  account_cursor: string | null;
  page_size: number | null;
  pages: Generated<number>;
  entitlements_seen: Generated<number>;
  accounts_seen: Generated<number>;
  accounts_new: Generated<number>;
  accounts_changed: Generated<number>;
  accounts_removed: Generated<number>;
  accounts_matched: Generated<number>;
  accounts_unmatched: Generated<number>;
  accounts_orphan: Generated<number>;
  remediations_pending: Generated<number>;
  remediations_held: Generated<number>;
  remediations_applied: Generated<number>;
  baseline: Generated<boolean>;
  safety_threshold: number;
  held_reason: string | null;
  attempts: Generated<number>;
  last_error: string | null;
  started_by: string;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: UpdatedAt;
  /** The worker carrying the run out, and until when its lease holds (renewed with each page). */
  owner: string | null;
  lease_until: Date | null;
  /** Why the run was carried out in its mode (an incremental request that ran full). */
  mode_reason: string | null;
  /** The change cursor an incremental run reads from; where the next one starts, as this run leaves it. */
  change_since: string | null;
  change_cursor: string | null;
}

export interface ReconciliationStagingTable {
  run_id: string;
  page: Generated<number>;
  native_identity: string;
  attributes: Json<Record<string, unknown>> | null;
  enabled: boolean | null;
  locked: boolean | null;
  entitlements: Json<unknown> | null;
  hash: string;
}

export interface ReconciliationDeltasTable {
  run_id: string;
  account_id: string;
  kind: string;
  changes: Json<unknown>;
}

export interface RemediationsTable {
  id: Generated<string>;
  run_id: string | null;
  application_id: string;
  account_id: string;
  identity_id: string | null;
  change: string;
  entitlement: Json<unknown> | null;
  action: string;
  status: string;
  decision: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  plan: Json<unknown> | null;
  flow_ids: Json<unknown> | null;
  error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ReconciliationSettingsTable {
  application_id: string;
  schedule: string | null;
  schedule_mode: Generated<string>;
  safety_threshold: Generated<number>;
  page_size: number | null;
  updated_at: UpdatedAt;
}

export interface LifecycleEventsTable {
  seq: Generated<number>;
  at: CreatedAt;
  kind: string;
  identity_id: string | null;
  group_id: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
  status: Generated<string>;
  processed_at: Date | null;
}

export interface RolesTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface RoleItemsTable {
  role_id: string;
  application_id: string;
  entitlement_id: string | null;
}

export interface RoleMembersTable {
  role_id: string;
  identity_id: string;
  source: Generated<string>;
  created_by: string;
  created_at: CreatedAt;
}

export interface BirthrightRulesTable {
  id: Generated<string>;
  name: string;
  description: string | null;
  condition: string;
  grants: Json<unknown>;
  revoke_requested_on_move: Generated<boolean>;
  enabled: Generated<boolean>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface DynamicGroupsTable {
  group_id: string;
  condition: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface LifecycleHoldsTable {
  id: Generated<string>;
  kind: string;
  payload: Json<unknown>;
  impact: Json<unknown>;
  status: Generated<string>;
  created_by: string;
  created_at: CreatedAt;
  decided_by: string | null;
  decided_at: Date | null;
}

export interface LifecycleRecomputesTable {
  id: Generated<string>;
  kind: string;
  rule_id: string;
  payload: Json<unknown>;
  confirmed: Generated<boolean>;
  status: Generated<string>;
  processed: Generated<number>;
  total: number | null;
  impact: Json<unknown> | null;
  flows: number | null;
  hold_id: string | null;
  error: string | null;
  created_by: string;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface LifecycleLeavesTable {
  id: Generated<string>;
  identity_id: string;
  started_at: Date;
  restore_until: Date;
  status: Generated<string>;
  assignment_ids: ColumnType<string[], string[] | undefined, string[]>;
  group_ids: ColumnType<string[], string[] | undefined, string[]>;
  closed_at: Date | null;
}

export interface DeprovisioningsTable {
  id: Generated<string>;
  identity_id: string | null;
  application_id: string;
  native_identity: string;
  action: string;
  status: Generated<string>;
  started_at: Date;
  due_at: Date;
  finished_at: Date | null;
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
  approval_chains: ApprovalChainsTable;
  access_requests: AccessRequestsTable;
  approval_flows: ApprovalFlowsTable;
  approval_tasks: ApprovalTasksTable;
  action_chains: ActionChainsTable;
  action_flows: ActionFlowsTable;
  action_flow_scripts: ActionFlowScriptsTable;
  decision_tokens: DecisionTokensTable;
  slack_replays: SlackReplaysTable;
  reconciliation_runs: ReconciliationRunsTable;
  reconciliation_staging: ReconciliationStagingTable;
  reconciliation_deltas: ReconciliationDeltasTable;
  remediations: RemediationsTable;
  reconciliation_settings: ReconciliationSettingsTable;
  lifecycle_events: LifecycleEventsTable;
  roles: RolesTable;
  role_items: RoleItemsTable;
  role_members: RoleMembersTable;
  birthright_rules: BirthrightRulesTable;
  dynamic_groups: DynamicGroupsTable;
  lifecycle_holds: LifecycleHoldsTable;
  lifecycle_recomputes: LifecycleRecomputesTable;
  lifecycle_leaves: LifecycleLeavesTable;
  deprovisionings: DeprovisioningsTable;
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
