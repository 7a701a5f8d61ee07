/**
 * Remediation (seed 003): what a run found changed out of band, per account and change
 * kind, handled the way the application's policy says. `accept` takes the change into
 * Steward (an assignment with source `reconciliation`, or an assignment ended), `revoke`
 * hands a ProvisioningPlan undoing it to the executor (an ActionFlow), and `letMeDecide`
 * leaves it pending for a person. Everything a run would revoke past the safety threshold
 * is held for an administrator instead.
 */
import { sql, type Selectable, type Transaction } from 'kysely';
import type { EntitlementRef } from '../connectors/index.ts';
import { ACCOUNT_CHANGES, type AccountChange, type Remediation as RemediationAction, type RemediationPolicy } from '../domain/policies.ts';
import type { AccountSchema } from '../domain/schema.ts';
import type { ProvisioningPlan } from '../plan/index.ts';
import type { Executor } from '../store/db.ts';
import type { Database, RemediationsTable } from '../store/tables.ts';
import { entitlementAttributes, revokePlan, type AccountChanges } from './plans.ts';

export type RemediationRow = Selectable<RemediationsTable>;

/** Hands a plan to the workflows side, inside the caller's transaction; returns the ActionFlows it made. */
export type ExecutePlan = (tx: Transaction<Database>, plan: ProvisioningPlan, createdBy: string) => Promise<{ flowIds: string[] }>;

export const REMEDIATION_STATUSES = ['pending', 'held', 'approved', 'planned', 'applied', 'dismissed', 'failed'] as const;
export type RemediationStatus = (typeof REMEDIATION_STATUSES)[number];
export const DECISIONS = ['revoke', 'accept', 'dismiss'] as const;
export type Decision = (typeof DECISIONS)[number];

/** One remediation as the API shows it. */
export interface Remediation {
  id: string;
  runId: string | null;
  applicationId: string;
  accountId: string;
  identityId: string | null;
  change: AccountChange;
  entitlement: EntitlementRef | null;
  action: RemediationAction;
  status: RemediationStatus;
  decision: Decision | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  plan: unknown;
  flowIds: string[] | null;
  error: string | null;
  createdAt: Date;
}

export const toRemediation = (r: RemediationRow): Remediation => ({
  id: r.id,
  runId: r.run_id,
  applicationId: r.application_id,
  accountId: r.account_id,
  identityId: r.identity_id,
  change: r.change as AccountChange,
  entitlement: r.entitlement as EntitlementRef | null,
  action: r.action as RemediationAction,
  status: r.status as RemediationStatus,
  decision: r.decision as Decision | null,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
  plan: r.plan,
  flowIds: r.flow_ids as string[] | null,
  error: r.error,
  createdAt: r.created_at,
});

/** Live assignments of the account's identity (directly or through a group) in the application. */
const holds = (app: string, entitlementSql: ReturnType<typeof sql>) => sql`
  a.identity_id is not null and exists (
    select 1 from assignments s
    where s.application_id = ${app}::uuid and s.status in ('pending', 'active')
      and (s.identity_id = a.identity_id or s.group_id in (select gm.group_id from group_members gm where gm.identity_id = a.identity_id))
      ${entitlementSql})`;

const onEntitlement = sql`and s.entitlement_id in (select en.id from entitlements en where en.application_id = s.application_id and en.kind = e ->> 'kind' and en.native_value = e ->> 'nativeValue')`;

/** Records the run's remediations from its deltas; returns how many of each status. Unmanaged accounts are left alone. */
export async function createRemediations(db: Executor, applicationId: string, runId: string, policy: RemediationPolicy): Promise<void> {
  const actions = JSON.stringify(policy);
  await sql`
    insert into remediations (run_id, application_id, account_id, identity_id, change, entitlement, action, status)
    select ${runId}::uuid, ${applicationId}::uuid, x.account_id, x.identity_id, x.change, x.entitlement, x.action,
      case when x.action = 'letMeDecide' then 'pending' else 'approved' end
    from (
      select d.account_id, a.identity_id, c.change, c.entitlement, coalesce(${actions}::jsonb ->> c.change, 'letMeDecide') as action
      from reconciliation_deltas d
      join accounts a on a.id = d.account_id
      cross join lateral (
        select 'accountAppeared' as change, null::jsonb as entitlement where d.kind = 'appeared' and not (${holds(applicationId, sql``)})
        union all
        select 'accountChanged', null where d.kind = 'changed' and (d.changes -> 'attributes' <> '{}'::jsonb or d.changes ? 'enabled' or d.changes ? 'locked')
        union all
        select 'entitlementAddedOutOfBand', e from jsonb_array_elements(d.changes -> 'entitlements' -> 'added') e where d.kind = 'changed' and not (${holds(applicationId, onEntitlement)})
        union all
        select 'entitlementRemovedOutOfBand', e from jsonb_array_elements(d.changes -> 'entitlements' -> 'removed') e where d.kind = 'changed' and (${holds(applicationId, onEntitlement)})
        union all
        select 'accountRemoved', null where d.kind = 'removed'
      ) c
      where d.run_id = ${runId}::uuid and a.state <> 'Unmanaged'
    ) x`.execute(db);
}

/** Held removals: the accounts a run did not list (`recon_missing`, see compareListing), when marking them removed waits for confirmation. */
export async function holdRemovals(db: Executor, runId: string, policy: RemediationPolicy): Promise<number> {
  const r = await sql`
    insert into remediations (run_id, application_id, account_id, identity_id, change, entitlement, action, status)
    select ${runId}::uuid, a.application_id, a.id, a.identity_id, 'accountRemoved', null, ${policy.accountRemoved}, 'held'
    from accounts a
    where a.id in (select m.id from recon_missing m) and a.removed_at is null`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Distinct accounts the run's approved revokes would delete or change in the target. */
export async function revokedAccounts(db: Executor, runId: string): Promise<number> {
  const r = await sql<{ n: number }>`select count(distinct account_id) as n from remediations where run_id = ${runId}::uuid and status = 'approved' and action = 'revoke'`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

export async function holdRevokes(db: Executor, runId: string): Promise<void> {
  await sql`update remediations set status = 'held', updated_at = now() where run_id = ${runId}::uuid and status = 'approved' and action = 'revoke'`.execute(db);
}

export async function countByStatus(db: Executor, runId: string): Promise<{ pending: number; held: number; applied: number }> {
  const rows = await db.selectFrom('remediations').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).where('run_id', '=', runId).groupBy('status').execute();
  const n = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
  return { pending: n('pending'), held: n('held'), applied: n('applied') + n('planned') };
}

export interface ApplyContext {
  applicationId: string;
  applicationName: string;
  schema: AccountSchema | null;
  executePlan?: ExecutePlan | undefined;
  createdBy: string;
}

const REVOKE_BATCH = 500;

/**
 * Carries out the approved remediations of a run (or the ones named): accepts set-based,
 * revokes as one plan per remediation handed to the executor (`planned`, keeping the plan,
 * when there is none). Runs inside the caller's transaction.
 */
export async function applyApproved(tx: Transaction<Database>, ctx: ApplyContext, scope: { runId: string } | { ids: string[] }): Promise<void> {
  const inScope = 'runId' in scope ? sql`r.run_id = ${scope.runId}::uuid` : sql`r.id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(scope.ids)}::jsonb) x)`;
  const app = ctx.applicationId;
  // accept: an account that appeared is the identity's now; an entitlement added out of band is recorded as assigned.
  await sql`
    insert into entitlements (application_id, kind, native_value, name)
    select distinct ${app}::uuid, r.entitlement ->> 'kind', r.entitlement ->> 'nativeValue', r.entitlement ->> 'nativeValue'
    from remediations r
    where ${inScope} and r.status = 'approved' and r.action = 'accept' and r.change = 'entitlementAddedOutOfBand' and r.identity_id is not null
    on conflict do nothing`.execute(tx);
  await sql`
    insert into assignments (identity_id, application_id, entitlement_id, source, status)
    select distinct r.identity_id, ${app}::uuid,
      case when r.change = 'entitlementAddedOutOfBand' then (select en.id from entitlements en where en.application_id = ${app}::uuid and en.kind = r.entitlement ->> 'kind' and en.native_value = r.entitlement ->> 'nativeValue') end,
      'reconciliation', 'active'
    from remediations r
    where ${inScope} and r.status = 'approved' and r.action = 'accept' and r.identity_id is not null
      and r.change in ('accountAppeared', 'entitlementAddedOutOfBand')
    on conflict do nothing`.execute(tx);
  // accept: an entitlement removed out of band, or a removed account, ends the identity's own assignments of it.
  await sql`
    update assignments s set status = 'revoked', updated_at = now()
    from remediations r
    where ${inScope} and r.status = 'approved' and r.action = 'accept' and r.identity_id is not null
      and s.identity_id = r.identity_id and s.application_id = ${app}::uuid and s.status in ('pending', 'active')
      and ((r.change = 'accountRemoved')
        or (r.change = 'entitlementRemovedOutOfBand' and s.entitlement_id in (select en.id from entitlements en where en.application_id = ${app}::uuid and en.kind = r.entitlement ->> 'kind' and en.native_value = r.entitlement ->> 'nativeValue')))`.execute(tx);
  await sql`update remediations r set status = 'applied', updated_at = now() where ${inScope} and r.status = 'approved' and r.action = 'accept'`.execute(tx);

  const attributeOf = entitlementAttributes(ctx.schema);
  for (;;) {
    const rows = await sql<{ id: string; change: AccountChange; entitlement: EntitlementRef | null; identity_id: string | null; native_identity: string; attributes: Record<string, unknown>; entitlements: EntitlementRef[]; changes: AccountChanges | null }>`
      select r.id, r.change, r.entitlement, r.identity_id, a.native_identity, a.attributes, a.entitlements, d.changes
      from remediations r
      join accounts a on a.id = r.account_id
      left join reconciliation_deltas d on d.run_id = r.run_id and d.account_id = r.account_id
      where ${inScope} and r.status = 'approved' and r.action = 'revoke'
      order by r.id limit ${REVOKE_BATCH}`.execute(tx);
    if (rows.rows.length === 0) break;
    for (const row of rows.rows) {
      const plan = revokePlan({ change: row.change, applicationName: ctx.applicationName, nativeIdentity: row.native_identity, identityId: row.identity_id, attributes: row.attributes, entitlements: row.entitlements, changes: row.changes, entitlement: row.entitlement, entitlementAttribute: attributeOf });
      let status: RemediationStatus = 'planned';
      let flowIds: string[] | null = null;
      if (plan.accountRequests.length === 0) status = 'applied';
      else if (ctx.executePlan) {
        flowIds = (await ctx.executePlan(tx, plan, ctx.createdBy)).flowIds;
        status = 'applied';
      }
      await tx
        .updateTable('remediations')
        .set({ status, plan: JSON.stringify(plan), flow_ids: flowIds === null ? null : JSON.stringify(flowIds), updated_at: new Date() })
        .where('id', '=', row.id)
        .execute();
    }
  }
}

export const isAccountChange = (s: string): s is AccountChange => (ACCOUNT_CHANGES as readonly string[]).includes(s);
