/**
 * The set-based end of a run: the staged listing against the accounts table. New accounts
 * are inserted, changed ones (their hash differs) updated, and the ones no longer listed
 * marked removed; each writes its delta (only what changed) in the same statement. The
 * first run of an application is a baseline: it records what is there, with no deltas.
 */
import { sql } from 'kysely';
import type { Executor } from '../store/db.ts';

export interface DeltaCounts {
  new: number;
  changed: number;
}

const count = (r: { rows: { n: number | string }[] }): number => Number(r.rows[0]?.n ?? 0);

/** Accounts listed for the first time (or again after being removed), and changed ones, with their deltas. */
export async function applyListed(db: Executor, applicationId: string, runId: string, baseline: boolean): Promise<DeltaCounts> {
  const inserted = await sql<{ n: number }>`
    with ins as (
      insert into accounts (application_id, native_identity, attributes, enabled, locked, entitlements, hash)
      select ${applicationId}::uuid, s.native_identity, s.attributes, s.enabled, s.locked, s.entitlements, s.hash
      from reconciliation_staging s
      where s.run_id = ${runId}::uuid and s.attributes is not null
        and not exists (select 1 from accounts a where a.application_id = ${applicationId}::uuid and a.native_identity = s.native_identity)
      returning id, attributes, enabled, locked, entitlements
    ), d as (
      insert into reconciliation_deltas (run_id, account_id, kind, changes)
      select ${runId}::uuid, ins.id, 'appeared', steward_account_changes(null, null, null, null, ins.attributes, ins.enabled, ins.locked, ins.entitlements)
      from ins where not ${baseline}
    )
    select count(*) as n from ins`.execute(db);
  const changed = await sql<{ n: number }>`
    with ch as (
      select a.id, a.removed_at, s.attributes, s.enabled, s.locked, s.entitlements, s.hash,
        steward_account_changes(a.attributes, a.enabled, a.locked, a.entitlements, s.attributes, s.enabled, s.locked, s.entitlements) as changes
      from reconciliation_staging s
      join accounts a on a.application_id = ${applicationId}::uuid and a.native_identity = s.native_identity
      where s.run_id = ${runId}::uuid and s.attributes is not null and (a.hash is distinct from s.hash or a.removed_at is not null)
    ), d as (
      insert into reconciliation_deltas (run_id, account_id, kind, changes)
      select ${runId}::uuid, ch.id, case when ch.removed_at is null then 'changed' else 'appeared' end,
        coalesce(ch.changes, '{"attributes": {}, "entitlements": {"added": [], "removed": []}}'::jsonb)
      from ch where not ${baseline} and (ch.changes is not null or ch.removed_at is not null)
    ), u as (
      update accounts a
      set attributes = ch.attributes, enabled = ch.enabled, locked = ch.locked, entitlements = ch.entitlements, hash = ch.hash,
        removed_at = null, updated_at = case when ch.changes is null and ch.removed_at is null then a.updated_at else now() end
      from ch where a.id = ch.id
    )
    select count(*) filter (where changes is not null or removed_at is not null) as n from ch`.execute(db);
  return { new: count(inserted), changed: count(changed) };
}

/** How many live accounts the application has, and how many of them the run did not list. */
export async function removalCandidates(db: Executor, applicationId: string, runId: string): Promise<{ live: number; missing: number }> {
  const r = await sql<{ live: number; missing: number }>`
    select count(*) as live,
      count(*) filter (where not exists (select 1 from reconciliation_staging s where s.run_id = ${runId}::uuid and s.native_identity = a.native_identity)) as missing
    from accounts a where a.application_id = ${applicationId}::uuid and a.removed_at is null`.execute(db);
  return { live: Number(r.rows[0]?.live ?? 0), missing: Number(r.rows[0]?.missing ?? 0) };
}

/** Marks the accounts the run did not list as removed, with a delta each (none on a baseline run). */
export async function markRemoved(db: Executor, applicationId: string, runId: string, baseline: boolean): Promise<number> {
  const r = await sql<{ n: number }>`
    with gone as (
      update accounts a set removed_at = now(), updated_at = now()
      where a.application_id = ${applicationId}::uuid and a.removed_at is null
        and not exists (select 1 from reconciliation_staging s where s.run_id = ${runId}::uuid and s.native_identity = a.native_identity)
      returning a.id, a.attributes, a.enabled, a.locked, a.entitlements
    ), d as (
      insert into reconciliation_deltas (run_id, account_id, kind, changes)
      select ${runId}::uuid, gone.id, 'removed', steward_account_changes(gone.attributes, gone.enabled, gone.locked, gone.entitlements, null, null, null, null)
      from gone where not ${baseline}
    )
    select count(*) as n from gone`.execute(db);
  return count(r);
}

/** Marks these accounts removed (a held removal confirmed), with their deltas in the run. */
export async function markAccountsRemoved(db: Executor, runId: string, accountIds: readonly string[]): Promise<number> {
  if (accountIds.length === 0) return 0;
  const r = await sql<{ n: number }>`
    with gone as (
      update accounts a set removed_at = now(), updated_at = now()
      where a.id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(accountIds)}::jsonb) x) and a.removed_at is null
      returning a.id, a.attributes, a.enabled, a.locked, a.entitlements
    ), d as (
      insert into reconciliation_deltas (run_id, account_id, kind, changes)
      select ${runId}::uuid, gone.id, 'removed', steward_account_changes(gone.attributes, gone.enabled, gone.locked, gone.entitlements, null, null, null, null)
      from gone
      on conflict (run_id, account_id) do nothing
    )
    select count(*) as n from gone`.execute(db);
  return count(r);
}

/** The delta of one account in one run, or undefined when the run found it unchanged. */
export async function getDelta(db: Executor, runId: string, accountId: string): Promise<{ kind: string; changes: unknown } | undefined> {
  return db.selectFrom('reconciliation_deltas').select(['kind', 'changes']).where('run_id', '=', runId).where('account_id', '=', accountId).executeTakeFirst();
}
