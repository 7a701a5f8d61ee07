// The first schema: identities, groups, applications, accounts, entitlements,
// assignments, API clients and the hash-chained audit trail. Immutable once released:
// change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table identities (
      id uuid primary key default gen_random_uuid(),
      user_name text not null,
      external_id text,
      active boolean not null default true,
      kind text not null default 'employee' check (kind in ('employee', 'contractor', 'vendor', 'service')),
      status text not null default 'active' check (status in ('active', 'suspended', 'terminated')),
      manager_id uuid references identities (id) on delete set null,
      display_name text,
      given_name text,
      family_name text,
      email text,
      department text,
      title text,
      employee_number text,
      data jsonb not null default '{}',
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create unique index identities_user_name_key on identities (lower(user_name))`,
    `create unique index identities_external_id_key on identities (external_id) where external_id is not null`,
    `create index identities_manager_idx on identities (manager_id)`,
    `create index identities_email_idx on identities (lower(email))`,
    `create index identities_employee_number_idx on identities (employee_number)`,

    `create table groups (
      id uuid primary key default gen_random_uuid(),
      display_name text not null,
      external_id text,
      kind text not null default 'standard' check (kind in ('standard', 'reserved')),
      description text,
      data jsonb not null default '{}',
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create unique index groups_display_name_key on groups (lower(display_name))`,
    `create unique index groups_external_id_key on groups (external_id) where external_id is not null`,
    `create table group_members (
      group_id uuid not null references groups (id) on delete cascade,
      identity_id uuid not null references identities (id) on delete cascade,
      primary key (group_id, identity_id)
    )`,
    `create index group_members_identity_idx on group_members (identity_id)`,

    `create table applications (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      description text,
      connector_kind text not null,
      settings jsonb not null default '{}',
      secrets jsonb not null default '{}',
      account_schema jsonb not null default '{"attributes": []}',
      capabilities jsonb not null default '[]',
      deprovisioning_policy jsonb not null,
      adoption_policy jsonb not null,
      remediation_policy jsonb not null,
      owner_id uuid references identities (id) on delete set null,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create unique index applications_name_key on applications (lower(name))`,

    `create table accounts (
      id uuid primary key default gen_random_uuid(),
      application_id uuid not null references applications (id) on delete cascade,
      native_identity text not null,
      identity_id uuid references identities (id) on delete set null,
      state text not null default 'Unmatched' check (state in ('Matched', 'Unmatched', 'Unmanaged', 'Orphan')),
      enabled boolean not null default true,
      locked boolean not null default false,
      attributes jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (application_id, native_identity)
    )`,
    `create index accounts_identity_idx on accounts (identity_id)`,
    `create index accounts_application_state_idx on accounts (application_id, state, id)`,

    `create table entitlements (
      id uuid primary key default gen_random_uuid(),
      application_id uuid not null references applications (id) on delete cascade,
      kind text not null check (kind in ('group', 'role', 'license', 'permission', 'entity')),
      native_value text not null,
      name text not null,
      description text,
      owner_id uuid references identities (id) on delete set null,
      requestable boolean not null default true,
      attributes jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (application_id, kind, native_value)
    )`,
    `create index entitlements_name_idx on entitlements (lower(name), id)`,
    `create index entitlements_owner_idx on entitlements (owner_id)`,

    `create table assignments (
      id uuid primary key default gen_random_uuid(),
      identity_id uuid references identities (id) on delete cascade,
      group_id uuid references groups (id) on delete cascade,
      application_id uuid not null references applications (id) on delete cascade,
      entitlement_id uuid references entitlements (id) on delete cascade,
      source text not null check (source in ('request', 'birthright', 'role', 'adoption', 'reconciliation', 'direct')),
      status text not null default 'active' check (status in ('pending', 'active', 'revoked', 'expired')),
      valid_from timestamptz,
      valid_until timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((identity_id is null) <> (group_id is null)),
      check (valid_until is null or valid_from is null or valid_until > valid_from)
    )`,
    `create unique index assignments_live_key on assignments (
      coalesce(identity_id, group_id), application_id,
      coalesce(entitlement_id, '00000000-0000-0000-0000-000000000000'::uuid), source
    ) where status in ('pending', 'active')`,
    `create index assignments_identity_idx on assignments (identity_id)`,
    `create index assignments_group_idx on assignments (group_id)`,
    `create index assignments_application_idx on assignments (application_id)`,

    `create table api_clients (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      token_prefix text not null,
      token_hash bytea not null,
      privileges text[] not null,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`,
    `create unique index api_clients_name_key on api_clients (lower(name)) where revoked_at is null`,
    `create unique index api_clients_prefix_key on api_clients (token_prefix)`,

    `create table audit_events (
      seq bigserial primary key,
      id uuid not null default gen_random_uuid(),
      at timestamptz not null,
      actor text not null,
      action text not null,
      object_type text not null,
      object_id text,
      before jsonb,
      after jsonb,
      prev_hash text not null,
      hash text not null
    )`,
    `create index audit_events_object_idx on audit_events (object_type, object_id, seq)`,
    `create index audit_events_actor_idx on audit_events (actor, seq)`,
    `create index audit_events_at_idx on audit_events (at)`,
  ]);
}

export async function down(): Promise<void> {
  throw new Error('the initial migration cannot be reverted');
}
