/**
 * One recomputation run inside one transaction: the change that causes it (a rule saved,
 * events read), every batch recomputed, the impact measured against the safety threshold,
 * and — unless it is only a preview or it is held — the grace period applied and the
 * plans handed to the workflows that carry them out, all committing together.
 */
import { sql } from 'kysely';
import type { ProvisioningPlan } from '../plan/index.ts';
import type { Executor } from '../store/db.ts';
import { applyGrace, type ScheduleGraceEnd } from './grace.ts';
import { ImpactCollector, recomputeBatch, type AccessChange, type GroupChange } from './recompute.ts';
import { loadRuleset } from './ruleset.ts';

/** Carries out a plan: ActionFlows enqueued in the same transaction (the workflows module). */
export type ExecutePlan = (tx: Executor, plan: ProvisioningPlan, createdBy: string) => Promise<{ flowIds: string[] }>;

/** When a change is held for an administrator: more than `maxRemovedFraction` of an application's accounts removed, and at least `minRemovals`. */
export interface SafetySettings {
  maxRemovedFraction: number;
  minRemovals: number;
}

export const DEFAULT_SAFETY: SafetySettings = { maxRemovedFraction: 0.05, minRemovals: 2 };

export interface ApplicationImpact {
  applicationId: string;
  name: string;
  /** Accounts the application has now. */
  accounts: number;
  accountsToCreate: number;
  /** Accounts disabled or deleted by the change. */
  accountsToRemove: number;
  overThreshold: boolean;
}

/** What a run changes (or would): who gains and loses what, per application, and whether it is held. */
export interface ImpactReport {
  evaluated: number;
  changed: number;
  plans: number;
  gains: AccessChange[];
  losses: AccessChange[];
  groups: GroupChange[];
  applications: ApplicationImpact[];
  held: boolean;
}

/** Thrown inside the transaction to roll a held change back; carries its impact. */
export class HeldChange extends Error {
  readonly impact: ImpactReport;
  constructor(impact: ImpactReport) {
    super('the change is held by the safety threshold');
    this.impact = impact;
  }
}

export interface EngineDeps {
  now: () => Date;
  batchSize: number;
  safety: SafetySettings;
  executePlan?: ExecutePlan;
  scheduleGraceEnd?: ScheduleGraceEnd;
}

export interface RunOptions {
  actor: string;
  /** Every identity, or these. */
  ids?: readonly string[];
  /** Identities whose plan is compiled even when their assignments did not change. */
  force?: ReadonlySet<string>;
  /** An administrator confirmed it: the threshold does not hold it. */
  confirmed?: boolean;
  /** Compute and report only; the caller rolls the transaction back. */
  preview?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface RunResult {
  impact: ImpactReport;
  /** The plans handed to the workflows (after the grace period shaped them); `impact.plans` counts those compiled. */
  plans: ProvisioningPlan[];
  flowIds: string[];
}

const LIFECYCLE_LOCK = 7_347_010;

/** Serialises lifecycle runs and marks the transaction's writes as lifecycle's own (no new events). */
export async function enterLifecycle(trx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(${LIFECYCLE_LOCK})`.execute(trx);
  await sql`select set_config('steward.lifecycle', 'on', true)`.execute(trx);
}

async function* batchesOf(trx: Executor, ids: readonly string[] | undefined, size: number): AsyncGenerator<string[]> {
  if (ids) {
    for (let i = 0; i < ids.length; i += size) yield ids.slice(i, i + size);
    return;
  }
  let last: string | undefined;
  for (;;) {
    let q = trx.selectFrom('identities').select('id').orderBy('id').limit(size);
    if (last !== undefined) q = q.where('id', '>', last);
    const rows = await q.execute();
    if (rows.length === 0) return;
    yield rows.map((r) => r.id);
    last = rows[rows.length - 1]!.id;
    if (rows.length < size) return;
  }
}

async function report(trx: Executor, impact: ImpactCollector, plans: readonly ProvisioningPlan[], safety: SafetySettings): Promise<ImpactReport> {
  const byName = new Map<string, { create: number; remove: number }>();
  for (const p of plans) {
    for (const r of p.accountRequests) {
      const k = r.application.toLowerCase();
      const c = byName.get(k) ?? { create: 0, remove: 0 };
      if (r.op === 'Create') c.create++;
      if (r.op === 'Delete' || r.op === 'Disable') c.remove++;
      byName.set(k, c);
    }
  }
  const appIds = new Set<string>([...impact.gains.values(), ...impact.losses.values()].map((c) => c.applicationId));
  const apps =
    byName.size === 0 && appIds.size === 0
      ? []
      : (
          await sql<{ id: string; name: string; accounts: number }>`
            select a.id, a.name, (select count(*) from accounts c where c.application_id = a.id)::int as accounts
              from applications a where lower(a.name) = any(${[...byName.keys()]}::text[]) or a.id = any(${[...appIds]}::uuid[])
             order by a.name`.execute(trx)
        ).rows;
  const applications = apps.map((a) => {
    const c = byName.get(a.name.toLowerCase()) ?? { create: 0, remove: 0 };
    const overThreshold = c.remove >= safety.minRemovals && c.remove > safety.maxRemovedFraction * a.accounts;
    return { applicationId: a.id, name: a.name, accounts: Number(a.accounts), accountsToCreate: c.create, accountsToRemove: c.remove, overThreshold };
  });
  const order = (a: AccessChange, b: AccessChange) => b.count - a.count || (a.applicationId + (a.entitlementId ?? '') < b.applicationId + (b.entitlementId ?? '') ? -1 : 1);
  return {
    evaluated: impact.evaluated,
    changed: impact.changed,
    plans: plans.length,
    gains: [...impact.gains.values()].sort(order),
    losses: [...impact.losses.values()].sort(order),
    groups: [...impact.groups.values()],
    applications,
    held: applications.some((a) => a.overThreshold),
  };
}

/**
 * Leaves out requests for an application where the identity has an ActionFlow still under
 * way: the account is about to change, and asking again would do the work twice. The flow
 * records the account when it ends; the next recomputation sees what is left to do.
 */
async function dropInFlight(trx: Executor, plans: ProvisioningPlan[]): Promise<ProvisioningPlan[]> {
  const ids = plans.flatMap((p) => (p.identity ? [p.identity] : []));
  if (ids.length === 0) return plans;
  const busy = await sql<{ identity_id: string; name: string }>`
    select distinct f.identity_id, lower(a.name) as name from action_flows f join applications a on a.id = f.application_id
     where f.identity_id = any(${ids}::uuid[]) and f.status in ('pending', 'running', 'waiting')`.execute(trx);
  if (busy.rows.length === 0) return plans;
  const set = new Set(busy.rows.map((b) => `${b.identity_id}|${b.name}`));
  return plans
    .map((p) => ({ ...p, accountRequests: p.accountRequests.filter((r) => !set.has(`${p.identity ?? ''}|${r.application.toLowerCase()}`)) }))
    .filter((p) => p.accountRequests.length > 0);
}

/**
 * Runs a recomputation inside `trx` (which the caller opened, and in which it may have
 * written the change first). Throws HeldChange when the threshold holds it.
 */
export async function runInTx(trx: Executor, deps: EngineDeps, o: RunOptions): Promise<RunResult> {
  await enterLifecycle(trx);
  const now = deps.now();
  const ruleset = await loadRuleset(trx);
  const impact = new ImpactCollector();
  const total = o.ids
    ? o.ids.length
    : Number((await trx.selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  let plans: ProvisioningPlan[] = [];
  let done = 0;
  for await (const batch of batchesOf(trx, o.ids, deps.batchSize)) {
    plans.push(...(await recomputeBatch(trx, batch, { now, actor: o.actor, ruleset, force: o.force, impact })));
    done += batch.length;
    o.onProgress?.(done, total);
  }
  plans = await dropInFlight(trx, plans);
  const r = await report(trx, impact, plans, deps.safety);
  if (o.preview) return { impact: r, plans, flowIds: [] };
  if (r.held && !o.confirmed) throw new HeldChange(r);
  const toRun = await applyGrace(trx, plans, now, o.actor, deps.scheduleGraceEnd);
  const flowIds: string[] = [];
  if (deps.executePlan) for (const p of toRun) flowIds.push(...(await deps.executePlan(trx, p, o.actor)).flowIds);
  return { impact: r, plans: toRun, flowIds };
}
