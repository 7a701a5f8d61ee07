// Lifecycle: a birthright rule's save recomputes everyone in a background job; this table
// is its status row (queued, running, applied, held, failed) with the progress and the
// outcome, written in the rule's own transaction together with the job.
// Immutable once released: change the schema with a new file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create table lifecycle_recomputes (
      id uuid primary key default gen_random_uuid(),
      kind text not null check (kind in ('rule.create', 'rule.update', 'rule.delete')),
      rule_id uuid not null,
      payload jsonb not null,
      confirmed boolean not null default false,
      status text not null default 'queued' check (status in ('queued', 'running', 'applied', 'held', 'failed')),
      processed integer not null default 0,
      total integer,
      impact jsonb,
      flows integer,
      hold_id uuid references lifecycle_holds (id) on delete set null,
      error text,
      created_by text not null,
      created_at timestamptz not null default now(),
      started_at timestamptz,
      finished_at timestamptz
    )`,
    `create index lifecycle_recomputes_pending_idx on lifecycle_recomputes (created_at) where status in ('queued', 'running')`,
  ]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['drop table lifecycle_recomputes']);
}
