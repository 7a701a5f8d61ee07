/**
 * The account-state transitions a person makes (see states.ts) and manual adoption: an
 * account bound to an identity by hand, audited, with an assignment of source `adoption`
 * (the identity's desired access now covers the account) and the identity's recomputation
 * queued in the same transaction.
 */
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import type { JobQueue } from '../jobs/index.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import type { AccountRow } from '../store/tables.ts';
import { allowedActions, transition, type AccountAction, type AccountState } from './states.ts';

/** The queue that recomputes an identity's desired access (its consumer lives with the plans and workflows). */
export const RECOMPUTE_QUEUE = 'identity.recompute';

/** An account as reconciliation keeps it. */
export interface ReconciledAccount {
  id: string;
  applicationId: string;
  nativeIdentity: string;
  identityId: string | null;
  state: AccountState;
  enabled: boolean;
  locked: boolean;
  attributes: Record<string, unknown>;
  entitlements: unknown;
  removedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const toReconciledAccount = (r: AccountRow): ReconciledAccount => ({
  id: r.id,
  applicationId: r.application_id,
  nativeIdentity: r.native_identity,
  identityId: r.identity_id,
  state: r.state as AccountState,
  enabled: r.enabled,
  locked: r.locked,
  attributes: r.attributes,
  entitlements: r.entitlements,
  removedAt: r.removed_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface AccountStateService {
  /** Moves an account along one allowed transition; 409 names the allowed ones. */
  transition(actor: Actor, applicationId: string, accountId: string, action: AccountAction): Promise<ReconciledAccount>;
  /** Binds an account to an identity by hand (Unmatched, Orphan or Unmanaged → Matched). */
  adopt(actor: Actor, accountId: string, identityId: string): Promise<ReconciledAccount>;
}

const invalidTransition = (acc: AccountRow, action: string) => {
  const allowed = allowedActions(acc.state as AccountState);
  return new StewardError('account.invalid_transition', `account ${acc.id} is ${acc.state}; '${action}' is not allowed from ${acc.state}. Allowed: ${allowed.join(', ') || 'none'}`);
};

export function createAccountStateService(deps: { db: Db; queue?: JobQueue | undefined }): AccountStateService {
  const { db } = deps;
  let declared = false;
  return {
    async transition(actor, applicationId, accountId, action) {
      return db.tx(async (tx) => {
        const acc = await tx.selectFrom('accounts').selectAll().where('id', '=', accountId).where('application_id', '=', applicationId).forUpdate().executeTakeFirst();
        if (!acc) throw new StewardError('account.not_found', `application ${applicationId} has no account with id ${accountId}`);
        const to = transition(acc.state as AccountState, action);
        if (to === null) throw invalidTransition(acc, action);
        const identityId = action === 'release' || action === 'manage' ? null : acc.identity_id;
        const row = await tx.updateTable('accounts').set({ state: to, identity_id: identityId, updated_at: new Date() }).where('id', '=', accountId).returningAll().executeTakeFirstOrThrow();
        await appendAudit(tx, [{ actor: actorLabel(actor), action: `account.${action}`, objectType: 'account', objectId: accountId, before: { state: acc.state, identityId: acc.identity_id }, after: { state: to, identityId } }]);
        return toReconciledAccount(row);
      });
    },

    async adopt(actor, accountId, identityId) {
      if (deps.queue && !declared) {
        await deps.queue.declare(RECOMPUTE_QUEUE);
        declared = true;
      }
      return db.tx(async (tx) => {
        const acc = await tx.selectFrom('accounts').selectAll().where('id', '=', accountId).forUpdate().executeTakeFirst();
        if (!acc) throw new StewardError('account.not_found', `no account has id ${accountId}`);
        const identity = await tx.selectFrom('identities').select('id').where('id', '=', identityId).executeTakeFirst();
        if (!identity) throw new StewardError('identity.not_found', `no identity has id ${identityId}`);
        if (transition(acc.state as AccountState, 'adoption') === null) throw invalidTransition(acc, 'adoption');
        const row = await tx.updateTable('accounts').set({ state: 'Matched', identity_id: identityId, updated_at: new Date() }).where('id', '=', accountId).returningAll().executeTakeFirstOrThrow();
        // The identity's desired access now covers the account: an application-level assignment of source adoption.
        await tx
          .insertInto('assignments')
          .values({ identity_id: identityId, group_id: null, application_id: acc.application_id, entitlement_id: null, source: 'adoption', status: 'active', valid_from: null, valid_until: null })
          .onConflict((oc) => oc.doNothing())
          .execute();
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'account.adopt', objectType: 'account', objectId: accountId, before: { state: acc.state, identityId: acc.identity_id }, after: { state: 'Matched', identityId } }]);
        if (deps.queue) await deps.queue.send(RECOMPUTE_QUEUE, { identityId, reason: 'adoption', accountId }, { singletonKey: `recompute:${identityId}` }, tx);
        return toReconciledAccount(row);
      });
    },
  };
}
