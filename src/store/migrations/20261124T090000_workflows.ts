// Workflows (seed 000): ApprovalChains and their runs (ApprovalFlows, one task per approver
// and step), access requests, ActionChains and their runs (ActionFlows and ActionFlowScripts),
// and the single-use tokens behind email and Slack decisions.
// Immutable once released: change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

const NO_ENTITLEMENT = `'00000000-0000-0000-0000-000000000000'::uuid`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `alter table api_clients add column identity_id uuid references identities (id) on delete set null`,
    // Time-bound access: when an approved assignment must be reviewed again, and when its
    // holder and owner were told that it ends soon.
    `alter table assignments add column review_at timestamptz`,
    `alter table assignments add column expiry_notified_at timestamptz`,
    `create index assignments_valid_until_idx on assignments (valid_until) where status in ('pending', 'active') and valid_until is not null`,
    `create table approval_chains (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      application_id uuid not null references applications (id) on delete cascade,
      entitlement_id uuid references entitlements (id) on delete cascade,
      condition jsonb,
      priority integer not null default 100,
      is_default boolean not null default false,
      steps jsonb not null default '[]',
      expires_after_days integer check (expires_after_days is null or expires_after_days > 0),
      audit_after_days integer check (audit_after_days is null or audit_after_days > 0),
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create index approval_chains_target_idx on approval_chains (application_id, entitlement_id)`,
    `create unique index approval_chains_one_default on approval_chains (application_id, coalesce(entitlement_id, ${NO_ENTITLEMENT})) where is_default`,
    `create table access_requests (
      id uuid primary key default gen_random_uuid(),
      requester_id uuid references identities (id) on delete set null,
      requested_by text not null,
      beneficiary_id uuid not null references identities (id) on delete cascade,
      application_id uuid not null references applications (id) on delete cascade,
      entitlement_id uuid references entitlements (id) on delete cascade,
      justification text not null,
      end_date timestamptz,
      status text not null default 'pending' check (status in ('pending', 'approved', 'denied', 'cancelled')),
      assignment_id uuid references assignments (id) on delete set null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      decided_at timestamptz
    )`,
    `create index access_requests_beneficiary_idx on access_requests (beneficiary_id, created_at)`,
    `create index access_requests_status_idx on access_requests (status, created_at)`,
    `create table approval_flows (
      id uuid primary key default gen_random_uuid(),
      request_id uuid not null unique references access_requests (id) on delete cascade,
      chain_id uuid references approval_chains (id) on delete set null,
      chain jsonb not null,
      current_step integer not null default 0,
      status text not null default 'open' check (status in ('open', 'approved', 'denied', 'cancelled')),
      created_at timestamptz not null default now(),
      closed_at timestamptz
    )`,
    `create table approval_tasks (
      id uuid primary key default gen_random_uuid(),
      flow_id uuid not null references approval_flows (id) on delete cascade,
      step integer not null,
      approver_id uuid not null references identities (id) on delete cascade,
      status text not null default 'pending' check (status in ('pending', 'approved', 'denied', 'escalated', 'superseded', 'cancelled')),
      comment text,
      decided_by text,
      escalated_from uuid references approval_tasks (id) on delete set null,
      due_at timestamptz,
      remind_at timestamptz,
      reminders integer not null default 0,
      decided_at timestamptz,
      created_at timestamptz not null default now()
    )`,
    `create index approval_tasks_flow_idx on approval_tasks (flow_id, step)`,
    `create index approval_tasks_approver_idx on approval_tasks (approver_id, status)`,
    `create index approval_tasks_due_idx on approval_tasks (due_at) where status = 'pending'`,
    `create table action_chains (
      id uuid primary key default gen_random_uuid(),
      application_id uuid not null references applications (id) on delete cascade,
      entitlement_id uuid references entitlements (id) on delete cascade,
      purpose text not null check (purpose in ('provisioning', 'deprovisioning')),
      scripts jsonb not null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create unique index action_chains_one_per_target on action_chains (application_id, coalesce(entitlement_id, ${NO_ENTITLEMENT}), purpose)`,
    `create table action_flows (
      id uuid primary key default gen_random_uuid(),
      chain_id uuid references action_chains (id) on delete set null,
      application_id uuid not null references applications (id) on delete cascade,
      entitlement_id uuid references entitlements (id) on delete set null,
      identity_id uuid references identities (id) on delete set null,
      assignment_id uuid references assignments (id) on delete set null,
      request_id uuid references access_requests (id) on delete set null,
      purpose text not null check (purpose in ('provisioning', 'deprovisioning', 'plan')),
      status text not null default 'pending' check (status in ('pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
      context jsonb not null default '{}',
      created_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      finished_at timestamptz
    )`,
    `create unique index action_flows_one_per_assignment on action_flows (assignment_id, purpose) where assignment_id is not null`,
    `create index action_flows_status_idx on action_flows (status, created_at)`,
    `create index action_flows_identity_idx on action_flows (identity_id)`,
    `create table action_flow_scripts (
      id uuid primary key default gen_random_uuid(),
      flow_id uuid not null references action_flows (id) on delete cascade,
      position integer not null,
      type text not null,
      metadata jsonb not null default '{}',
      status text not null default 'pending' check (status in ('pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled')),
      attempts integer not null default 0,
      started_at timestamptz,
      finished_at timestamptz,
      next_attempt_at timestamptz,
      output jsonb,
      last_error jsonb,
      unique (flow_id, position)
    )`,
    `create table decision_tokens (
      id uuid primary key default gen_random_uuid(),
      token_hash bytea not null unique,
      channel text not null check (channel in ('email', 'slack')),
      task_id uuid references approval_tasks (id) on delete cascade,
      script_id uuid references action_flow_scripts (id) on delete cascade,
      expires_at timestamptz not null,
      used_at timestamptz,
      decision text check (decision in ('approve', 'deny')),
      created_at timestamptz not null default now(),
      check ((task_id is null) <> (script_id is null))
    )`,
    `create table slack_replays (
      signature text primary key,
      seen_at timestamptz not null default now()
    )`,
  ]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'drop table slack_replays',
    'drop table decision_tokens',
    'drop table action_flow_scripts',
    'drop table action_flows',
    'drop table action_chains',
    'drop table approval_tasks',
    'drop table approval_flows',
    'drop table access_requests',
    'drop table approval_chains',
    'drop index assignments_valid_until_idx',
    'alter table assignments drop column expiry_notified_at',
    'alter table assignments drop column review_at',
    'alter table api_clients drop column identity_id',
  ]);
}
