/**
 * An application's three policies (seed 003): what to do with an account when its identity
 * loses access (de-provisioning), how an account is matched to an identity (adoption), and
 * what to do when reconciliation finds an account changed out of band (remediation).
 */
import { fail, ok, type Problem, type Result } from './result.ts';

/** De-provisioning actions, mildest first; a connector supports some of them. */
export const DEPROVISIONING_ACTIONS = ['Suspend', 'Deactivate', 'Archive', 'Delete'] as const;
export type DeprovisioningAction = (typeof DEPROVISIONING_ACTIONS)[number];

export interface DeprovisioningPolicy {
  action: DeprovisioningAction;
  /** ISO 8601 duration in weeks, days, hours, minutes and seconds (`P7D`, `PT12H`, `P1DT6H`, `PT0S`). */
  gracePeriod: string;
}

/** Identity attributes an adoption rule may match on: the identity's searchable columns. */
export const ADOPTION_IDENTITY_ATTRIBUTES = ['userName', 'externalId', 'email', 'employeeNumber', 'displayName', 'givenName', 'familyName', 'department', 'title'] as const;
export type AdoptionIdentityAttribute = (typeof ADOPTION_IDENTITY_ATTRIBUTES)[number];

export interface AdoptionMatch {
  identityAttribute: AdoptionIdentityAttribute;
  accountAttribute: string;
}

/** Every pair must match (AND, as the seed says); an empty list adopts nothing automatically. */
export interface AdoptionPolicy {
  match: AdoptionMatch[];
}

/** The account-state changes reconciliation reports. */
export const ACCOUNT_CHANGES = ['accountAppeared', 'accountChanged', 'entitlementAddedOutOfBand', 'entitlementRemovedOutOfBand', 'accountRemoved'] as const;
export type AccountChange = (typeof ACCOUNT_CHANGES)[number];

/** `revoke` undoes the change on the target, `accept` takes it into Steward, `letMeDecide` only records it. */
export const REMEDIATIONS = ['revoke', 'accept', 'letMeDecide'] as const;
export type Remediation = (typeof REMEDIATIONS)[number];

export type RemediationPolicy = Record<AccountChange, Remediation>;

/** The grace period's upper bound: a year. */
export const MAX_GRACE_SECONDS = 366 * 86_400;

// Suspend is the mildest action and reversible, so no grace period is needed by default.
export const DEFAULT_DEPROVISIONING: DeprovisioningPolicy = { action: 'Suspend', gracePeriod: 'P0D' };
export const DEFAULT_ADOPTION: AdoptionPolicy = { match: [] };
// Nothing changes on its own until an administrator chooses: every change is recorded for review.
export const DEFAULT_REMEDIATION: RemediationPolicy = {
  accountAppeared: 'letMeDecide',
  accountChanged: 'letMeDecide',
  entitlementAddedOutOfBand: 'letMeDecide',
  entitlementRemovedOutOfBand: 'letMeDecide',
  accountRemoved: 'letMeDecide',
};

const DURATION_RE = /^P(?:(\d{1,4})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,7})H)?(?:(\d{1,9})M)?(?:(\d{1,10})S)?)?$/;

/** The length of an ISO 8601 duration (W, D, H, M, S only), in seconds; an error says what is accepted. */
export function parseGracePeriod(text: string, field = 'gracePeriod'): Result<number> {
  const m = DURATION_RE.exec(text);
  const bad = (message: string) => fail<Problem>({ code: 'application.invalid', field, message });
  if (!m || text === 'P' || text.endsWith('T')) {
    return bad(`'${text}' is not an ISO 8601 duration of weeks, days, hours, minutes and seconds (e.g. P7D, PT12H, P1DT6H, PT0S)`);
  }
  const [w, d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number];
  const seconds = w * 604_800 + d * 86_400 + h * 3_600 + min * 60 + s;
  if (seconds > MAX_GRACE_SECONDS) return bad(`'${text}' is longer than the longest grace period, 366 days`);
  return ok(seconds);
}

/** Fills the actions a partial remediation policy leaves out with the defaults. */
export const withRemediationDefaults = (p: Partial<RemediationPolicy> | undefined): RemediationPolicy => ({ ...DEFAULT_REMEDIATION, ...p });
