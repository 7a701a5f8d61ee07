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

/**
 * Compares the run's staged listing with the stored accounts, once, into two temporary tables
 * that live until the apply transaction ends: `recon_diff`, the listed accounts that are new,
 * changed (their hash differs) or back after being removed, and `recon_missing`, the live
 * accounts the run did not list. An account listed more than once counts once: its first
 * listing that differs from what is stored. Returns how many live accounts the application
 * has, and how many of them the run did not list.
 */
export async function compareListing(db: Executor, applicationId: string, runId: string): Promise<{ live: number; missing: number }> {
  // Staging is filled by COPY and read once: without statistics the joins below would be planned as nested loops.
  await sql`analyze reconciliation_staging`.execute(db);
  await sql`
    create temporary table recon_diff on commit drop as
    select distinct on (s.native_identity) s.native_identity, s.attributes, s.enabled, s.locked, s.entitlements, s.hash, a.id as account_id, a.removed_at
    from reconciliation_staging s
    left join accounts a on a.application_id = ${applicationId}::uuid and a.native_identity = s.native_identity
    where s.run_id = ${runId}::uuid and s.attributes is not null and (a.id is null or a.hash is distinct from s.hash or a.removed_at is not null)
    order by s.native_identity, s.page`.execute(db);
  await sql`
    create temporary table recon_missing on commit drop as
    select a.id from accounts a
    where a.application_id = ${applicationId}::uuid and a.removed_at is null
      and not exists (select 1 from reconciliation_staging s where s.run_id = ${runId}::uuid and s.native_identity = a.native_identity)`.execute(db);
  const r = await sql<{ live: number; missing: number }>`
    select (select count(*) from accounts a where a.application_id = ${applicationId}::uuid and a.removed_at is null) as live,
      (select count(*) from recon_missing) as missing`.execute(db);
  return { live: Number(r.rows[0]?.live ?? 0), missing: Number(r.rows[0]?.missing ?? 0) };
}

/** Accounts listed for the first time (or again after being removed), and changed ones, with their deltas (after `compareListing`). */
export async function applyListed(db: Executor, applicationId: string, runId: string, baseline: boolean): Promise<DeltaCounts> {
  const inserted = await sql<{ n: number }>`
    with ins as (
      insert into accounts (application_id, native_identity, attributes, enabled, locked, entitlements, hash)
      select ${applicationId}::uuid, d.native_identity, d.attributes, d.enabled, d.locked, d.entitlements, d.hash
      from recon_diff d
      where d.account_id is null
      returning id, attributes, enabled, locked, entitlements
    ), d as (
      insert into reconciliation_deltas (run_id, account_id, kind, changes)
      select ${runId}::uuid, ins.id, 'appeared', steward_account_changes(null, null, null, null, ins.attributes, ins.enabled, ins.locked, ins.entitlements)
      from ins where not ${baseline}
    )
    select count(*) as n from ins`.execute(db);
  const changed = await sql<{ n: number }>`
    with ch as (
      select a.id, a.removed_at, d.attributes, d.enabled, d.locked, d.entitlements, d.hash,
        steward_account_changes(a.attributes, a.enabled, a.locked, a.entitlements, d.attributes, d.enabled, d.locked, d.entitlements) as changes
      from recon_diff d
      join accounts a on a.id = d.account_id
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

/** Marks the accounts the run did not list as removed, with a delta each (none on a baseline run; after `compareListing`). */
export async function markRemoved(db: Executor, runId: string, baseline: boolean): Promise<number> {
  const r = await sql<{ n: number }>`
    with gone as (
      update accounts a set removed_at = now(), updated_at = now()
      where a.id in (select m.id from recon_missing m) and a.removed_at is null
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
