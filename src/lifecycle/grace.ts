/**
 * The de-provisioning policy's grace period (seed 003). When a plan takes an account away,
 * the first action happens at once (the account is disabled) and the policy's final
 * action is held until the period ends, as a row in `deprovisionings` and a job scheduled
 * in the durable queue for its due time. Access that comes back during the period (a
 * re-hire, a restore, a new grant) reverses it; when the job runs, the final action is
 * taken only if the account is still unwanted.
 */
import { sql } from 'kysely';
import { parseGracePeriod, type DeprovisioningAction, type DeprovisioningPolicy } from '../domain/policies.ts';
import type { AccountRequest, ProvisioningPlan } from '../plan/index.ts';
// Straight from the compiler's module: services/index.ts builds the lifecycle service, so going through it would be a cycle.
import { compilePlans } from '../services/plan-compile.ts';
import { appendAudit, type AuditInput } from '../store/audit.ts';
import type { QueueSettings } from '../jobs/index.ts';
import type { Executor } from '../store/db.ts';
import { accountsByKeys, applicationsByIds, applicationsByNames } from '../store/plans.ts';
import type { ApplicationRow } from '../store/tables.ts';

/** The queue whose jobs end grace periods. */
export const GRACE_QUEUE = 'lifecycle-grace';
/** Its settings (the worker and the runtime declare it from this one constant): a failing end of a grace period is tried again, up to 50 times. */
export const GRACE_SETTINGS: QueueSettings = { retryLimit: 50 };

/** Schedules the end of one grace period inside the transaction that starts it. */
export type ScheduleGraceEnd = (trx: Executor, deprovisioningId: string, dueAt: Date) => Promise<void>;

const isRemoval = (r: AccountRequest) => r.op === 'Delete' || r.op === 'Disable';

function graceSeconds(app: ApplicationRow): { action: DeprovisioningAction; seconds: number } {
  const policy = (app.deprovisioning_policy as DeprovisioningPolicy | null) ?? { action: 'Suspend', gracePeriod: 'P0D' };
  const g = parseGracePeriod(policy.gracePeriod);
  return { action: policy.action, seconds: g.ok ? g.value : 0 };
}

interface OpenRow {
  id: string;
  application_id: string;
  native_identity: string;
  due_at: Date;
}

/**
 * Applies the grace period to compiled plans: a removal with no period passes as it is;
 * one with a period starts it (Delete becomes Disable now, the Delete waits); a removal
 * whose period is running is held back; a request that gives the account back ends the
 * period as restored. Returns the plans to carry out now (empty ones left out).
 */
export async function applyGrace(trx: Executor, plans: readonly ProvisioningPlan[], now: Date, actor: string, schedule: ScheduleGraceEnd | undefined): Promise<ProvisioningPlan[]> {
  const names = new Set<string>();
  const natives: { app: string; native: string }[] = [];
  for (const p of plans) for (const r of p.accountRequests) if (r.nativeIdentity !== undefined) {
    names.add(r.application);
    natives.push({ app: r.application, native: r.nativeIdentity });
  }
  if (natives.length === 0) return [...plans];
  const apps = new Map((await applicationsByNames(trx, [...names])).map((a) => [a.name.toLowerCase(), a]));
  const keys = natives.flatMap((n) => {
    const app = apps.get(n.app.toLowerCase());
    return app ? [{ applicationId: app.id, nativeIdentity: n.native }] : [];
  });
  const accounts = new Map((await accountsByKeys(trx, keys)).map((a) => [`${a.application_id}|${a.native_identity}`, a]));
  const open = new Map(
    (
      await sql<OpenRow>`
        select id, application_id, native_identity, due_at from deprovisionings
         where status = 'grace' and (application_id, native_identity) in (select * from unnest(${keys.map((k) => k.applicationId)}::uuid[], ${keys.map((k) => k.nativeIdentity)}::text[]))`.execute(trx)
    ).rows.map((r) => [`${r.application_id}|${r.native_identity}`, r]),
  );

  const events: AuditInput[] = [];
  const out: ProvisioningPlan[] = [];
  for (const plan of plans) {
    const requests: AccountRequest[] = [];
    for (const r of plan.accountRequests) {
      const app = apps.get(r.application.toLowerCase());
      if (!app || r.nativeIdentity === undefined) {
        requests.push(r);
        continue;
      }
      const key = `${app.id}|${r.nativeIdentity}`;
      const running = open.get(key);
      const target = { applicationId: app.id, application: app.name, nativeIdentity: r.nativeIdentity, identityId: plan.identity ?? null };
      if (!isRemoval(r)) {
        if (running) {
          await trx.updateTable('deprovisionings').set({ status: 'restored', finished_at: now }).where('id', '=', running.id).execute();
          open.delete(key);
          events.push({ actor, action: 'deprovisioning.restore', objectType: 'deprovisioning', objectId: running.id, after: { ...target, reason: 'access granted again' } });
        }
        requests.push(r);
        continue;
      }
      if (running) {
        // The final action waits for its due time; a Disable (the account came back on) goes through.
        if (r.op === 'Disable') requests.push(r);
        continue;
      }
      const { action, seconds } = graceSeconds(app);
      const dueAt = new Date(now.getTime() + seconds * 1000);
      const row = await trx
        .insertInto('deprovisionings')
        .values({ identity_id: plan.identity ?? null, application_id: app.id, native_identity: r.nativeIdentity, action, status: seconds > 0 ? 'grace' : 'completed', started_at: now, due_at: dueAt, finished_at: seconds > 0 ? null : now })
        .returning('id')
        .executeTakeFirstOrThrow();
      if (seconds === 0) {
        events.push({ actor, action: 'deprovisioning.complete', objectType: 'deprovisioning', objectId: row.id, after: { ...target, action, request: r.op } });
        requests.push(r);
        continue;
      }
      open.set(key, { id: row.id, application_id: app.id, native_identity: r.nativeIdentity, due_at: dueAt });
      events.push({ actor, action: 'deprovisioning.start', objectType: 'deprovisioning', objectId: row.id, after: { ...target, action, dueAt: dueAt.toISOString() } });
      if (schedule) await schedule(trx, row.id, dueAt);
      if (r.op === 'Disable') requests.push(r);
      else if (accounts.get(key)?.enabled !== false) requests.push({ application: r.application, op: 'Disable', nativeIdentity: r.nativeIdentity, attributeRequests: [], permissionRequests: [] });
    }
    if (requests.length > 0) out.push({ ...plan, accountRequests: requests });
  }
  await appendAudit(trx, events);
  return out;
}

export interface GraceOutcome {
  completed: number;
  restored: number;
  /** The final actions carried out, one plan per identity. */
  plans: ProvisioningPlan[];
}

/**
 * Ends the grace periods due at `now` (or only `onlyId`): the final action where the
 * account is still unwanted (Delete when the policy says so; the account stays disabled
 * otherwise), restored where its access came back meanwhile.
 */
export async function completeDueGrace(trx: Executor, now: Date, actor: string, onlyId?: string): Promise<GraceOutcome> {
  let q = trx.selectFrom('deprovisionings').selectAll().where('status', '=', 'grace').where('due_at', '<=', now);
  if (onlyId !== undefined) q = q.where('id', '=', onlyId);
  const rows = await q.orderBy('due_at').forUpdate().skipLocked().limit(5000).execute();
  if (rows.length === 0) return { completed: 0, restored: 0, plans: [] };
  const apps = new Map((await applicationsByIds(trx, [...new Set(rows.map((r) => r.application_id))])).map((a) => [a.id, a]));
  const identityIds = [...new Set(rows.flatMap((r) => (r.identity_id ? [r.identity_id] : [])))];
  const compiled = await compilePlans(trx, identityIds, now);
  const finals = new Map<string, AccountRequest[]>();
  const events: AuditInput[] = [];
  let completed = 0;
  let restored = 0;
  for (const row of rows) {
    const app = apps.get(row.application_id)!;
    const target = { applicationId: app.id, application: app.name, nativeIdentity: row.native_identity, identityId: row.identity_id };
    const wanted = row.identity_id
      ? compiled.get(row.identity_id)?.accountRequests.find((r) => r.application.toLowerCase() === app.name.toLowerCase() && r.nativeIdentity === row.native_identity)
      : ({ application: app.name, op: 'Delete', nativeIdentity: row.native_identity, attributeRequests: [], permissionRequests: [] } as AccountRequest);
    // Still unwanted: the compiler asks for its removal (or, suspended already, for nothing).
    const stillUnwanted = wanted === undefined ? row.action !== 'Delete' : isRemoval(wanted);
    if (!stillUnwanted) {
      restored++;
      await trx.updateTable('deprovisionings').set({ status: 'restored', finished_at: now }).where('id', '=', row.id).execute();
      events.push({ actor, action: 'deprovisioning.restore', objectType: 'deprovisioning', objectId: row.id, after: { ...target, reason: 'access granted again before the grace period ended' } });
      continue;
    }
    completed++;
    await trx.updateTable('deprovisionings').set({ status: 'completed', finished_at: now }).where('id', '=', row.id).execute();
    if (row.action === 'Delete' && wanted?.op === 'Delete') {
      const key = row.identity_id ?? '';
      finals.set(key, [...(finals.get(key) ?? []), wanted]);
    }
    events.push({ actor, action: 'deprovisioning.complete', objectType: 'deprovisioning', objectId: row.id, after: { ...target, action: row.action } });
  }
  await appendAudit(trx, events);
  const plans = [...finals].map(([identity, accountRequests]) => ({ ...(identity ? { identity } : {}), accountRequests }));
  return { completed, restored, plans };
}
