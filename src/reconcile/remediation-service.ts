/**
 * The "Let me decide" queue and held remediations: list them, decide one (revoke, accept or
 * dismiss), or confirm / discard everything a run held past its safety threshold. Held
 * remediations wait for an administrator; pending ones for anyone who manages applications.
 */
import { sql } from 'kysely';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import { grants } from '../domain/privileges.ts';
import type { AccountSchema } from '../domain/schema.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import type { Transaction } from 'kysely';
import type { Database } from '../store/tables.ts';
import { markAccountsRemoved } from './deltas.ts';
import { applyApproved, countByStatus, toRemediation, type Decision, type ExecutePlan, type Remediation, type RemediationStatus } from './remediation.ts';
import { getRunRow, toRun, updateRun, type ReconciliationRun } from './runs.ts';
import { requireApplication } from './service.ts';

export interface RemediationFilter {
  status?: RemediationStatus;
  applicationId?: string;
  runId?: string;
  /** Keyset: the previous page's last (createdAt, id). */
  after?: { createdAt: Date; id: string };
  limit: number;
}

export interface RemediationService {
  list(f: RemediationFilter): Promise<Remediation[]>;
  get(id: string): Promise<Remediation>;
  decide(actor: Actor, id: string, decision: Decision): Promise<Remediation>;
  /** Confirms (carries out) or discards what a run held for an administrator. */
  confirmHeld(actor: Actor, applicationId: string, runId: string, confirm: boolean): Promise<ReconciliationRun>;
}

async function refreshCounts(tx: Executor, runId: string | null): Promise<void> {
  if (runId === null) return;
  const c = await countByStatus(tx, runId);
  await updateRun(tx, runId, { remediations_pending: c.pending, remediations_held: c.held, remediations_applied: c.applied });
}

export function createRemediationService(deps: { db: Db; executePlan?: ExecutePlan | undefined }): RemediationService {
  const { db } = deps;

  /** Approved remediations of one application carried out in `tx`; held removals first become real removals. */
  async function carryOut(tx: Transaction<Database>, applicationId: string, runId: string | null, ids: string[], actor: Actor): Promise<void> {
    const app = await requireApplication(tx, applicationId);
    const removals = await tx.selectFrom('remediations').select('account_id').where('id', 'in', ids).where('change', '=', 'accountRemoved').execute();
    if (runId !== null && removals.length > 0) {
      const n = await markAccountsRemoved(tx, runId, removals.map((r) => r.account_id));
      if (n > 0) await sql`update reconciliation_runs set accounts_removed = accounts_removed + ${n} where id = ${runId}::uuid`.execute(tx);
    }
    await applyApproved(tx, { applicationId, applicationName: app.name, schema: app.account_schema as AccountSchema | null, executePlan: deps.executePlan, createdBy: actorLabel(actor) }, { ids });
  }

  return {
    async list(f) {
      let q = db.k.selectFrom('remediations').selectAll();
      if (f.status !== undefined) q = q.where('status', '=', f.status);
      if (f.applicationId !== undefined) q = q.where('application_id', '=', f.applicationId);
      if (f.runId !== undefined) q = q.where('run_id', '=', f.runId);
      if (f.after) q = q.where(sql<boolean>`(created_at, id) > (${f.after.createdAt}, ${f.after.id})`);
      return (await q.orderBy('created_at').orderBy('id').limit(f.limit).execute()).map(toRemediation);
    },

    async get(id) {
      const r = await db.k.selectFrom('remediations').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw new StewardError('remediation.not_found', `no remediation has id ${id}`);
      return toRemediation(r);
    },

    async decide(actor, id, decision) {
      return db.tx(async (tx) => {
        const r = await tx.selectFrom('remediations').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
        if (!r) throw new StewardError('remediation.not_found', `no remediation has id ${id}`);
        if (r.status !== 'pending' && r.status !== 'held') throw new StewardError('remediation.already_decided', `remediation ${id} is ${r.status}; only pending and held ones take a decision`);
        if (r.status === 'held' && !grants(actor.privileges, 'admin')) {
          throw new StewardError('auth.forbidden', `remediation ${id} was held by the safety threshold; an administrator (admin privilege) decides it`);
        }
        const now = new Date();
        const by = actorLabel(actor);
        if (decision === 'dismiss') {
          await tx.updateTable('remediations').set({ status: 'dismissed', decision, decided_by: by, decided_at: now, updated_at: now }).where('id', '=', id).execute();
        } else {
          await tx.updateTable('remediations').set({ status: 'approved', action: decision, decision, decided_by: by, decided_at: now, updated_at: now }).where('id', '=', id).execute();
          await carryOut(tx, r.application_id, r.run_id, [id], actor);
        }
        await appendAudit(tx, [{ actor: by, action: 'remediation.decide', objectType: 'remediation', objectId: id, before: { status: r.status, action: r.action }, after: { decision } }]);
        await refreshCounts(tx, r.run_id);
        return toRemediation((await tx.selectFrom('remediations').selectAll().where('id', '=', id).executeTakeFirstOrThrow()));
      });
    },

    async confirmHeld(actor, applicationId, runId, confirm) {
      const run = await getRunRow(db.k, runId);
      if (!run || run.application_id !== applicationId) throw new StewardError('reconciliation.not_found', `application ${applicationId} has no reconciliation run with id ${runId}`);
      await db.tx(async (tx) => {
        const held = await tx.selectFrom('remediations').select(['id', 'action']).where('run_id', '=', runId).where('status', '=', 'held').forUpdate().execute();
        if (held.length === 0) throw new StewardError('reconciliation.nothing_held', `reconciliation ${runId} holds no remediations`);
        const now = new Date();
        const by = actorLabel(actor);
        const ids = held.map((h) => h.id);
        if (!confirm) {
          await tx.updateTable('remediations').set({ status: 'dismissed', decision: 'dismiss', decided_by: by, decided_at: now, updated_at: now }).where('id', 'in', ids).execute();
        } else {
          // Confirming carries out what the policy said; a "Let me decide" one becomes pending.
          await tx
            .updateTable('remediations')
            .set((eb) => ({ status: eb.case().when('action', '=', 'letMeDecide').then('pending').else('approved').end(), decided_by: by, decided_at: now, updated_at: now }))
            .where('id', 'in', ids)
            .execute();
          // A held removal is real once confirmed, whatever the policy does about it.
          const removals = await tx.selectFrom('remediations').select('account_id').where('id', 'in', ids).where('change', '=', 'accountRemoved').execute();
          const n = await markAccountsRemoved(tx, runId, removals.map((r) => r.account_id));
          if (n > 0) await sql`update reconciliation_runs set accounts_removed = accounts_removed + ${n} where id = ${runId}::uuid`.execute(tx);
          await carryOut(tx, applicationId, null, ids, actor);
        }
        await appendAudit(tx, [{ actor: by, action: confirm ? 'reconciliation.confirm' : 'reconciliation.discard', objectType: 'application', objectId: applicationId, after: { reconciliationId: runId, remediations: ids.length } }]);
        await updateRun(tx, runId, { held_reason: null });
        await refreshCounts(tx, runId);
      });
      return toRun((await getRunRow(db.k, runId))!);
    },
  };
}
