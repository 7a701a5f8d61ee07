/**
 * The ProvisioningPlan model (seed 004): what must change, declaratively. This is the one
 * language between policy (what access should be) and execution (connectors, ActionFlows).
 */

/** AccountRequest operations; `Modify` is the default when a plan omits `op`. */
export const ACCOUNT_OPS = ['Create', 'Modify', 'Delete', 'Disable', 'Enable', 'Unlock'] as const;
export type AccountOp = (typeof ACCOUNT_OPS)[number];

/** AttributeRequest and PermissionRequest operations; `Add` is the default. */
export const ATTRIBUTE_OPS = ['Set', 'Add', 'Remove'] as const;
export type AttributeOp = (typeof ATTRIBUTE_OPS)[number];

/**
 * A plan value: what `<String>`, `<Integer>`, `<Boolean>`, `<Date>` and `<List>` carry.
 * Dates are kept as `Date`; integers as JS numbers (safe-integer range, checked on parse).
 */
export type Scalar = string | number | boolean | Date;
export type PlanValue = Scalar | Scalar[];

/** Free-form options on a request (`<Attributes><Map>…` in XML), e.g. delete options. */
export type PlanArguments = Record<string, PlanValue | null>;

export interface AttributeRequest {
  name: string;
  op: AttributeOp;
  /** Absent for a request that carries no value (e.g. Remove of every value is not a thing; Set to nothing is `[]`). */
  value?: PlanValue;
  arguments?: PlanArguments;
  /** SailPoint's request-tracking id, carried through unchanged. */
  trackingId?: string;
}

export interface PermissionRequest {
  target: string;
  op: AttributeOp;
  /** Rights, always strings; CSV in XML (`rights='read,write'`). */
  rights: string[];
  arguments?: PlanArguments;
  /** SailPoint's request-tracking id, carried through unchanged. */
  trackingId?: string;
}

export interface AccountRequest {
  /** Application name. `Steward` (alias `IIQ`) targets the identity itself. */
  application: string;
  op: AccountOp;
  /** The account's key in the application (for a directory, the full DN). Absent only on a Create the target names itself. */
  nativeIdentity?: string;
  attributeRequests: AttributeRequest[];
  permissionRequests: PermissionRequest[];
  arguments?: PlanArguments;
  /** SailPoint's request-tracking id, carried through unchanged. */
  trackingId?: string;
}

export interface ProvisioningPlan {
  /** The target identity (Steward identity id or userName). Optional: may be given on the command line instead. */
  identity?: string;
  accountRequests: AccountRequest[];
  arguments?: PlanArguments;
  /** SailPoint's request-tracking id, carried through unchanged. */
  trackingId?: string;
}

/** The application name of Steward itself for identity-level requests, and its accepted alias. */
export const STEWARD_APPLICATION = 'Steward';
export const STEWARD_APPLICATION_ALIASES: readonly string[] = ['Steward', 'IIQ'];

export const isStewardApplication = (name: string): boolean => STEWARD_APPLICATION_ALIASES.includes(name);
