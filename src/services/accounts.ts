import { StewardError } from '../domain/errors.ts';
import { getAccountRow, listAccountRows } from '../store/accounts.ts';
import { getApplicationRow } from '../store/applications.ts';
import type { Db } from '../store/db.ts';
import type { AccountRow } from '../store/tables.ts';
import { checkKey, keyPage, type KeyPage } from './paging.ts';

export const ACCOUNT_STATES = ['Matched', 'Unmatched', 'Unmanaged', 'Orphan'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

/** An account in an application, as reconciliation last saw it. */
export interface Account {
  id: string;
  applicationId: string;
  nativeIdentity: string;
  identityId: string | null;
  state: AccountState;
  enabled: boolean;
  locked: boolean;
  attributes: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface AccountFilter {
  state?: AccountState;
  identityId?: string;
  nativeIdentityPrefix?: string;
  after?: unknown[];
  limit: number;
}

export interface AccountService {
  list(applicationId: string, f: AccountFilter): Promise<KeyPage<Account>>;
  get(applicationId: string, accountId: string): Promise<Account>;
}

export const toAccount = (r: AccountRow): Account => ({
  id: r.id,
  applicationId: r.application_id,
  nativeIdentity: r.native_identity,
  identityId: r.identity_id,
  state: r.state as AccountState,
  enabled: r.enabled,
  locked: r.locked,
  attributes: r.attributes,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Accounts, read-only: reconciliation writes them. */
export function createAccountService(db: Db): AccountService {
  const requireApplication = async (id: string) => {
    if (!(await getApplicationRow(db.k, id))) throw new StewardError('application.not_found', `no application has id ${id}`);
  };
  return {
    async list(applicationId, f) {
      const after = checkKey(f.after, ['s']);
      await requireApplication(applicationId);
      const rows = await listAccountRows(db.k, { applicationId, state: f.state, identityId: f.identityId, nativeIdentityPrefix: f.nativeIdentityPrefix, after: after?.[0], limit: f.limit + 1 });
      return keyPage(rows, f.limit, (r) => [r.native_identity], toAccount);
    },
    async get(applicationId, accountId) {
      await requireApplication(applicationId);
      const r = await getAccountRow(db.k, applicationId, accountId);
      if (!r) throw new StewardError('account.not_found', `application ${applicationId} has no account with id ${accountId}`);
      return toAccount(r);
    },
  };
}
