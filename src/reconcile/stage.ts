/**
 * Staging: each page a connector lists is written, as it comes, into the run's staging rows
 * in one statement, together with the run's cursor (one transaction), so a run killed at
 * any point resumes after its last written page and nothing is counted twice. The snapshot
 * hash is computed by the database from jsonb's canonical text (keys in a fixed order).
 */
import { sql } from 'kysely';
import type { AccountItem, EntitlementItem, EntitlementRef } from '../connectors/index.ts';
import type { Executor } from '../store/db.ts';

/** Entitlements in a fixed order, so the hash does not change when a target reorders them. */
export function sortedEntitlements(refs: readonly EntitlementRef[]): EntitlementRef[] {
  const seen = new Set<string>();
  const out: EntitlementRef[] = [];
  for (const r of refs) {
    const k = `${r.kind}\u0000${r.nativeValue}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ kind: r.kind, nativeValue: r.nativeValue });
  }
  return out.sort((a, b) => (a.kind === b.kind ? (a.nativeValue < b.nativeValue ? -1 : a.nativeValue > b.nativeValue ? 1 : 0) : a.kind < b.kind ? -1 : 1));
}

/** Plan values as JSON: dates as ISO text (what the accounts table stores). */
function jsonAttributes(a: AccountItem['attributes']): Record<string, unknown> {
  for (const k in a) {
    const v = a[k];
    if (v instanceof Date || (Array.isArray(v) && v.some((x) => x instanceof Date))) {
      return Object.fromEntries(Object.entries(a).map(([n, x]) => [n, Array.isArray(x) ? x.map((y) => (y instanceof Date ? y.toISOString() : y)) : x instanceof Date ? x.toISOString() : x]));
    }
  }
  return a;
}

/**
 * Writes one page of listed accounts into the run's staging rows: the key and hash of each,
 * and the account itself only where the hash differs from the stored account's (or the
 * account was marked removed). A page written before (a resumed run) is ignored.
 */
export async function stageAccounts(db: Executor, applicationId: string, runId: string, items: readonly AccountItem[]): Promise<number> {
  if (items.length === 0) return 0;
  const rows = items.map((a) => ({ n: a.nativeIdentity, a: jsonAttributes(a.attributes), e: a.enabled, l: a.locked, g: sortedEntitlements(a.entitlements) }));
  const r = await sql`
    insert into reconciliation_staging (run_id, native_identity, attributes, enabled, locked, entitlements, hash)
    select ${runId}::uuid, x.n,
      case when differs then x.a end, case when differs then x.e end, case when differs then x.l end, case when differs then x.g end, h.hash
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(n text, a jsonb, e boolean, l boolean, g jsonb)
    cross join lateral (select md5(jsonb_build_array(x.a, x.e, x.l, x.g)::text) as hash) h
    left join accounts t on t.application_id = ${applicationId}::uuid and t.native_identity = x.n
    cross join lateral (select t.hash is distinct from h.hash or t.removed_at is not null as differs) d
    on conflict (run_id, native_identity) do nothing`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Writes a page of the entitlements the application offers: new ones inserted, names and descriptions kept current. */
export async function upsertEntitlementPage(db: Executor, applicationId: string, items: readonly EntitlementItem[]): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map((e) => ({ k: e.kind, v: e.nativeValue, n: e.name, d: e.description ?? null }));
  await sql`
    insert into entitlements as t (application_id, kind, native_value, name, description)
    select ${applicationId}::uuid, x.k, x.v, x.n, x.d
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(k text, v text, n text, d text)
    on conflict (application_id, kind, native_value) do update
      set name = excluded.name, description = coalesce(excluded.description, t.description), updated_at = now()
      where (t.name, t.description) is distinct from (excluded.name, coalesce(excluded.description, t.description))`.execute(db);
}

export async function clearStaging(db: Executor, runId: string): Promise<void> {
  await db.deleteFrom('reconciliation_staging').where('run_id', '=', runId).execute();
}
