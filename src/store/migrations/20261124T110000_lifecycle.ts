// Lifecycle (seed 003, Fulfillment): the events that drive recomputation (recorded by
// statement-level triggers, so every writer — SCIM, the Users API, the CSV import — is
// covered in its own transaction), birthright rules, roles and their members, rule-based
// (dynamic) groups, leaves and de-provisionings in their grace period, and changes held
// by the safety threshold. Immutable once released: change the schema with a new file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

const NO_ENTITLEMENT = `'00000000-0000-0000-0000-000000000000'::uuid`;
// Lifecycle's own writes (birthright assignments, dynamic memberships, leaves) set this
// for their transaction: they are the result of a recomputation, not a cause of one.
const QUIET = `coalesce(current_setting('steward.lifecycle', true), '') = 'on'`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table lifecycle_events (
      seq bigserial primary key,
      at timestamptz not null default now(),
      kind text not null,
      identity_id uuid,
      group_id uuid,
      detail jsonb not null default '{}',
      status text not null default 'pending' check (status in ('pending', 'processed', 'held')),
      processed_at timestamptz
    )`,
    `create index lifecycle_events_pending_idx on lifecycle_events (seq) where status = 'pending'`,
    `create index lifecycle_events_identity_idx on lifecycle_events (identity_id, seq)`,

    `create function lifecycle_identities_ins() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id) select 'identity.created', n.id from new_rows n;
       return null;
     end $$`,
    `create function lifecycle_identities_upd() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id, detail)
         select 'identity.status_changed', n.id,
                jsonb_build_object('fromStatus', o.status, 'toStatus', n.status, 'fromActive', o.active, 'toActive', n.active)
           from new_rows n join old_rows o on o.id = n.id
          where (o.status, o.active) is distinct from (n.status, n.active);
       insert into lifecycle_events (kind, identity_id, detail)
         select 'identity.attributes_changed', n.id,
                jsonb_build_object('before', jsonb_build_object('kind', o.kind, 'department', o.department, 'title', o.title, 'data', o.data))
           from new_rows n join old_rows o on o.id = n.id
          where o.kind is distinct from n.kind
             or (o.data - 'active' - 'urn:ietf:params:scim:schemas:extension:steward:2.0:User') is distinct from
                (n.data - 'active' - 'urn:ietf:params:scim:schemas:extension:steward:2.0:User');
       return null;
     end $$`,
    `create function lifecycle_identities_del() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id, detail)
         select 'identity.removed', o.id, jsonb_build_object('userName', o.user_name) from old_rows o;
       return null;
     end $$`,
    `create trigger lifecycle_identities_ins after insert on identities referencing new table as new_rows for each statement execute function lifecycle_identities_ins()`,
    `create trigger lifecycle_identities_upd after update on identities referencing old table as old_rows new table as new_rows for each statement execute function lifecycle_identities_upd()`,
    `create trigger lifecycle_identities_del after delete on identities referencing old table as old_rows for each statement execute function lifecycle_identities_del()`,

    `create function lifecycle_members_ins() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id, group_id) select 'group.member_added', n.identity_id, n.group_id from new_rows n;
       return null;
     end $$`,
    `create function lifecycle_members_del() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       -- A member removed because the identity itself is deleted is covered by identity.removed.
       insert into lifecycle_events (kind, identity_id, group_id)
         select 'group.member_removed', o.identity_id, o.group_id from old_rows o where exists (select 1 from identities i where i.id = o.identity_id);
       return null;
     end $$`,
    `create trigger lifecycle_members_ins after insert on group_members referencing new table as new_rows for each statement execute function lifecycle_members_ins()`,
    `create trigger lifecycle_members_del after delete on group_members referencing old table as old_rows for each statement execute function lifecycle_members_del()`,

    // Assignments lifecycle makes itself (birthright, role) are not events: they are its output.
    `create function lifecycle_assignments_ins() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id, group_id, detail)
         select 'entitlement.assigned', n.identity_id, n.group_id, jsonb_build_object('assignmentId', n.id, 'applicationId', n.application_id, 'entitlementId', n.entitlement_id, 'source', n.source)
           from new_rows n where n.source not in ('birthright', 'role') and n.status = 'active';
       return null;
     end $$`,
    `create function lifecycle_assignments_upd() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id, group_id, detail)
         select case when n.status = 'active' then 'entitlement.assigned' else 'entitlement.revoked' end, n.identity_id, n.group_id,
                jsonb_build_object('assignmentId', n.id, 'applicationId', n.application_id, 'entitlementId', n.entitlement_id, 'source', n.source, 'status', n.status)
           from new_rows n join old_rows o on o.id = n.id
          where n.source not in ('birthright', 'role')
            and ((o.status = 'active') <> (n.status = 'active')
                 or o.valid_from is distinct from n.valid_from or o.valid_until is distinct from n.valid_until);
       return null;
     end $$`,
    `create function lifecycle_assignments_del() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id, group_id, detail)
         select 'entitlement.revoked', o.identity_id, o.group_id, jsonb_build_object('assignmentId', o.id, 'applicationId', o.application_id, 'entitlementId', o.entitlement_id, 'source', o.source)
           from old_rows o
          where o.source not in ('birthright', 'role') and o.status = 'active'
            and (o.identity_id is null or exists (select 1 from identities i where i.id = o.identity_id))
            and (o.group_id is null or exists (select 1 from groups g where g.id = o.group_id));
       return null;
     end $$`,
    `create trigger lifecycle_assignments_ins after insert on assignments referencing new table as new_rows for each statement execute function lifecycle_assignments_ins()`,
    `create trigger lifecycle_assignments_upd after update on assignments referencing old table as old_rows new table as new_rows for each statement execute function lifecycle_assignments_upd()`,
    `create trigger lifecycle_assignments_del after delete on assignments referencing old table as old_rows for each statement execute function lifecycle_assignments_del()`,

    // Per row, and only where an account gains or changes its identity: a reconciliation that
    // rewrites a million accounts' attributes must not pay for a join of its whole update.
    `create function lifecycle_accounts_upd() returns trigger language plpgsql as $$
     begin
       if ${QUIET} then return null; end if;
       insert into lifecycle_events (kind, identity_id, detail)
         values ('account.adopted', new.identity_id, jsonb_build_object('accountId', new.id, 'applicationId', new.application_id, 'nativeIdentity', new.native_identity));
       return null;
     end $$`,
    `create trigger lifecycle_accounts_upd after update of identity_id on accounts for each row
       when (new.identity_id is not null and old.identity_id is distinct from new.identity_id)
       execute function lifecycle_accounts_upd()`,

    `create table roles (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      description text,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create unique index roles_name_key on roles (lower(name))`,
    `create table role_items (
      role_id uuid not null references roles (id) on delete cascade,
      application_id uuid not null references applications (id) on delete cascade,
      entitlement_id uuid references entitlements (id) on delete cascade
    )`,
    `create unique index role_items_key on role_items (role_id, application_id, coalesce(entitlement_id, ${NO_ENTITLEMENT}))`,
    `create table role_members (
      role_id uuid not null references roles (id) on delete cascade,
      identity_id uuid not null references identities (id) on delete cascade,
      source text not null default 'request' check (source in ('request', 'direct')),
      created_by text not null,
      created_at timestamptz not null default now(),
      primary key (role_id, identity_id)
    )`,
    `create index role_members_identity_idx on role_members (identity_id)`,

    `create table birthright_rules (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      description text,
      condition text not null,
      grants jsonb not null,
      revoke_requested_on_move boolean not null default false,
      enabled boolean not null default true,
      version integer not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create unique index birthright_rules_name_key on birthright_rules (lower(name))`,

    `create table dynamic_groups (
      group_id uuid primary key references groups (id) on delete cascade,
      condition text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,

    `create table lifecycle_holds (
      id uuid primary key default gen_random_uuid(),
      kind text not null,
      payload jsonb not null,
      impact jsonb not null,
      status text not null default 'held' check (status in ('held', 'confirmed', 'discarded')),
      created_by text not null,
      created_at timestamptz not null default now(),
      decided_by text,
      decided_at timestamptz
    )`,
    `create index lifecycle_holds_status_idx on lifecycle_holds (status, created_at)`,

    `create table lifecycle_leaves (
      id uuid primary key default gen_random_uuid(),
      identity_id uuid not null references identities (id) on delete cascade,
      started_at timestamptz not null,
      restore_until timestamptz not null,
      status text not null default 'open' check (status in ('open', 'restored', 'closed')),
      assignment_ids uuid[] not null default '{}',
      group_ids uuid[] not null default '{}',
      closed_at timestamptz
    )`,
    `create unique index lifecycle_leaves_open_key on lifecycle_leaves (identity_id) where status = 'open'`,

    `create table deprovisionings (
      id uuid primary key default gen_random_uuid(),
      identity_id uuid references identities (id) on delete set null,
      application_id uuid not null references applications (id) on delete cascade,
      native_identity text not null,
      action text not null check (action in ('Suspend', 'Deactivate', 'Archive', 'Delete')),
      status text not null default 'grace' check (status in ('grace', 'completed', 'restored')),
      started_at timestamptz not null,
      due_at timestamptz not null,
      finished_at timestamptz
    )`,
    `create unique index deprovisionings_open_key on deprovisionings (application_id, native_identity) where status = 'grace'`,
    `create index deprovisionings_due_idx on deprovisionings (due_at) where status = 'grace'`,
    `create index deprovisionings_identity_idx on deprovisionings (identity_id, started_at)`,
  ]);
}

export async function down(): Promise<void> {
  throw new Error('the lifecycle migration cannot be reverted');
}
