/**
 * Correlation: one set-based statement per run matches every unmatched, live account of an
 * application to the identity whose attributes equal the account's, on every pair of the
 * adoption policy (AND, as seed 003 says). An account that several identities fit stays
 * Unmatched for a person to adopt. Matched accounts whose identity is gone become Orphan.
 */
import { sql, type RawBuilder } from 'kysely';
import type { AdoptionIdentityAttribute, AdoptionPolicy } from '../domain/policies.ts';
import type { Executor } from '../store/db.ts';

/** The identity column of each adoption attribute, and whether it compares case-insensitively (as its unique index does). */
const COLUMNS: Record<AdoptionIdentityAttribute, { column: string; fold: boolean }> = {
  userName: { column: 'user_name', fold: true },
  externalId: { column: 'external_id', fold: false },
  email: { column: 'email', fold: true },
  employeeNumber: { column: 'employee_number', fold: false },
  displayName: { column: 'display_name', fold: false },
  givenName: { column: 'given_name', fold: false },
  familyName: { column: 'family_name', fold: false },
  department: { column: 'department', fold: false },
  title: { column: 'title', fold: false },
};

/** The account attribute as text: a single value, or the first of a multi-valued one. */
const accountValue = (name: string): RawBuilder<string> => sql<string>`coalesce(a.attributes -> ${name} ->> 0, a.attributes ->> ${name})`;

function condition(policy: AdoptionPolicy): RawBuilder<boolean> | null {
  const parts = policy.match.flatMap((m) => {
    const c = COLUMNS[m.identityAttribute];
    if (c === undefined) return [];
    const col = sql.ref(`i.${c.column}`);
    return [c.fold ? sql<boolean>`lower(${col}) = lower(${accountValue(m.accountAttribute)})` : sql<boolean>`${col} = ${accountValue(m.accountAttribute)}`];
  });
  if (parts.length === 0 || parts.length !== policy.match.length) return null;
  return sql<boolean>`${sql.join(parts, sql` and `)}`;
}

/** Matches the application's unmatched accounts by the adoption policy; returns how many were matched. */
export async function correlate(db: Executor, applicationId: string, policy: AdoptionPolicy): Promise<number> {
  const on = condition(policy);
  if (on === null) return 0;
  const r = await sql`
    update accounts t set identity_id = m.identity_id, state = 'Matched', updated_at = now()
    from (
      select a.id as account_id, (array_agg(i.id))[1] as identity_id
      from accounts a join identities i on ${on}
      where a.application_id = ${applicationId}::uuid and a.state = 'Unmatched' and a.identity_id is null and a.removed_at is null
      group by a.id
      having count(*) = 1
    ) m
    where t.id = m.account_id`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Matched accounts whose identity was deleted become Orphan; returns how many. */
export async function markOrphans(db: Executor, applicationId: string): Promise<number> {
  const r = await sql`
    update accounts set state = 'Orphan', updated_at = now()
    where application_id = ${applicationId}::uuid and state = 'Matched' and identity_id is null and removed_at is null`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** The application's live accounts by state. */
export async function stateCounts(db: Executor, applicationId: string): Promise<Record<'Matched' | 'Unmatched' | 'Unmanaged' | 'Orphan', number>> {
  const rows = await db
    .selectFrom('accounts')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('application_id', '=', applicationId)
    .where('removed_at', 'is', null)
    .groupBy('state')
    .execute();
  const out = { Matched: 0, Unmatched: 0, Unmanaged: 0, Orphan: 0 };
  for (const r of rows) out[r.state as keyof typeof out] = Number(r.n);
  return out;
}
