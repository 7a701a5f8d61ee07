import type { PlanValue } from './model.ts';
import { STEWARD_APPLICATION, isStewardApplication } from './model.ts';

/**
 * An account's state as far as a plan is concerned. Multi-valued attributes hold lists
 * (in the order values were added), single-valued ones a scalar; an attribute with no
 * value is absent rather than `[]`, and a permission target with no rights is absent too,
 * so that equal states are equal objects.
 */
export interface AccountState {
  exists: boolean;
  enabled: boolean;
  locked: boolean;
  attributes: Record<string, PlanValue>;
  permissions: Record<string /* target */, string[]>;
}

/** The state of an account that does not exist. */
export const missingAccount = (): AccountState => ({ exists: false, enabled: false, locked: false, attributes: {}, permissions: {} });

/** The state of a freshly created account: enabled, unlocked, nothing set. */
export const createdAccount = (): AccountState => ({ exists: true, enabled: true, locked: false, attributes: {}, permissions: {} });

/** The application name accounts are filed under: aliases of Steward (`IIQ`) become `Steward`. */
export const canonicalApplication = (application: string): string => (isStewardApplication(application) ? STEWARD_APPLICATION : application);

/**
 * The key of one account in a `Map` of states: application (aliases folded) and native
 * identity. A Create without a nativeIdentity is keyed with the empty identity.
 */
export const accountKey = (application: string, nativeIdentity: string | undefined): string =>
  JSON.stringify([canonicalApplication(application), nativeIdentity ?? '']);

/** Account states by `accountKey`. */
export type AccountStates = ReadonlyMap<string, AccountState>;
