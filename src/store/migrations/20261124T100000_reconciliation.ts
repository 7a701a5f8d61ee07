// Reconciliation (seed 003): runs with their progress and resumable cursors, the per-run
// staging of what the connector listed, per-account deltas, remediations (the "Let me
// decide" queue and held ones), and per-application reconciliation settings (schedule,
// safety threshold). Accounts gain a snapshot hash, their entitlements and a removal mark.
// Immutable once released: change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `alter table accounts add column hash text`,
    `alter table accounts add column entitlements jsonb not null default '[]'`,
    `alter table accounts add column removed_at timestamptz`,
    // What changed between two snapshots of an account, attribute by attribute (before and
    // after; an absent side is left out), the enabled and locked flags, and the entitlements
    // added and removed; null when nothing did. A snapshot that is null counts as empty.
    `create function steward_account_changes(o_attributes jsonb, o_enabled boolean, o_locked boolean, o_entitlements jsonb,
        n_attributes jsonb, n_enabled boolean, n_locked boolean, n_entitlements jsonb) returns jsonb
      language sql immutable as $$
      select case when attrs = '{}'::jsonb and added = '[]'::jsonb and removed = '[]'::jsonb
          and o_enabled is not distinct from n_enabled and o_locked is not distinct from n_locked then null
        else jsonb_build_object('attributes', attrs, 'entitlements', jsonb_build_object('added', added, 'removed', removed))
          || case when o_enabled is distinct from n_enabled then jsonb_build_object('enabled', jsonb_build_object('before', o_enabled, 'after', n_enabled)) else '{}'::jsonb end
          || case when o_locked is distinct from n_locked then jsonb_build_object('locked', jsonb_build_object('before', o_locked, 'after', n_locked)) else '{}'::jsonb end
        end
      from (select
        (select coalesce(jsonb_object_agg(coalesce(b.key, n.key),
            case when b.key is null then jsonb_build_object('after', n.value)
                 when n.key is null then jsonb_build_object('before', b.value)
                 else jsonb_build_object('before', b.value, 'after', n.value) end), '{}'::jsonb)
          from jsonb_each(coalesce(o_attributes, '{}'::jsonb)) b full join jsonb_each(coalesce(n_attributes, '{}'::jsonb)) n on b.key = n.key
          where b.value is distinct from n.value) as attrs,
        (select coalesce(jsonb_agg(e), '[]'::jsonb) from jsonb_array_elements(coalesce(n_entitlements, '[]'::jsonb)) e
          where not coalesce(o_entitlements, '[]'::jsonb) @> jsonb_build_array(e)) as added,
        (select coalesce(jsonb_agg(e), '[]'::jsonb) from jsonb_array_elements(coalesce(o_entitlements, '[]'::jsonb)) e
          where not coalesce(n_entitlements, '[]'::jsonb) @> jsonb_build_array(e)) as removed
      ) x
    $$`,
    `create table reconciliation_runs (
      id uuid primary key default gen_random_uuid(),
      application_id uuid not null references applications (id) on delete cascade,
      requested_mode text not null check (requested_mode in ('full', 'incremental')),
      mode text not null check (mode in ('full', 'incremental')),
      status text not null default 'queued' check (status in ('queued', 'running', 'stopping', 'completed', 'failed', 'stopped')),
      phase text not null default 'entitlements' check (phase in ('entitlements', 'accounts', 'apply', 'done')),
      entitlement_cursor text,
      account_cursor text,
      page_size integer,
      pages integer not null default 0,
      entitlements_seen integer not null default 0,
      accounts_seen integer not null default 0,
      accounts_new integer not null default 0,
      accounts_changed integer not null default 0,
      accounts_removed integer not null default 0,
      accounts_matched integer not null default 0,
      accounts_unmatched integer not null default 0,
      accounts_orphan integer not null default 0,
      remediations_pending integer not null default 0,
      remediations_held integer not null default 0,
      remediations_applied integer not null default 0,
      baseline boolean not null default false,
      safety_threshold double precision not null,
      held_reason text,
      attempts integer not null default 0,
      last_error text,
      started_by text not null,
      created_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz,
      updated_at timestamptz not null default now()
    )`,
    // One run per application at a time, whoever starts it.
    `create unique index reconciliation_runs_one_active on reconciliation_runs (application_id) where status in ('queued', 'running', 'stopping')`,
    `create index reconciliation_runs_application_idx on reconciliation_runs (application_id, created_at desc)`,
    // What a run listed, page by page: every account's key and hash, and the account itself
    // only where the hash differs from the stored one (new or changed), so an unchanged
    // million costs a narrow row each. No foreign key, so the inserts check nothing; the
    // engine deletes a run's rows when the run ends.
    `create table reconciliation_staging (
      run_id uuid not null,
      native_identity text not null,
      attributes jsonb,
      enabled boolean,
      locked boolean,
      entitlements jsonb,
      hash text not null,
      primary key (run_id, native_identity)
    )`,
    `create table reconciliation_deltas (
      run_id uuid not null references reconciliation_runs (id) on delete cascade,
      account_id uuid not null references accounts (id) on delete cascade,
      kind text not null check (kind in ('appeared', 'changed', 'removed')),
      changes jsonb not null,
      primary key (run_id, account_id)
    )`,
    `create index reconciliation_deltas_account_idx on reconciliation_deltas (account_id)`,
    `create table remediations (
      id uuid primary key default gen_random_uuid(),
      run_id uuid references reconciliation_runs (id) on delete cascade,
      application_id uuid not null references applications (id) on delete cascade,
      account_id uuid not null references accounts (id) on delete cascade,
      identity_id uuid references identities (id) on delete set null,
      change text not null check (change in ('accountAppeared', 'accountChanged', 'entitlementAddedOutOfBand', 'entitlementRemovedOutOfBand', 'accountRemoved')),
      entitlement jsonb,
      action text not null check (action in ('revoke', 'accept', 'letMeDecide')),
      status text not null check (status in ('pending', 'held', 'approved', 'planned', 'applied', 'dismissed', 'failed')),
      decision text check (decision in ('revoke', 'accept', 'dismiss')),
      decided_by text,
      decided_at timestamptz,
      plan jsonb,
      flow_ids jsonb,
      error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create index remediations_status_idx on remediations (status, created_at, id)`,
    `create index remediations_run_idx on remediations (run_id, status)`,
    `create index remediations_account_idx on remediations (account_id)`,
    `create table reconciliation_settings (
      application_id uuid primary key references applications (id) on delete cascade,
      schedule text,
      schedule_mode text not null default 'full' check (schedule_mode in ('full', 'incremental')),
      safety_threshold double precision not null default 0.05 check (safety_threshold > 0 and safety_threshold <= 1),
      page_size integer check (page_size between 1 and 100000),
      updated_at timestamptz not null default now()
    )`,
  ]);
}

export async function down(): Promise<void> {
  throw new Error('the reconciliation migration cannot be reverted');
}
