import type { Result } from '../domain/result.ts';
import { ok } from '../domain/result.ts';
import { applyPlan } from './apply.ts';
import type { PlanValue, ProvisioningPlan, Scalar } from './model.ts';
import { accountKey, missingAccount } from './state.ts';
import type { AccountState, AccountStates } from './state.ts';
import type { AccountSchemas } from './steward-schema.ts';
import { scalarKey, valueEquals, valueList } from './values.ts';

/**
 * The preview of a plan: for each account it touches, the state before and after and what
 * differs, worked out by applying the plan to copies. Nothing is changed.
 */

export interface FlagChange {
  before: boolean;
  after: boolean;
}

export interface AttributeChange {
  name: string;
  before?: PlanValue;
  after?: PlanValue;
  /** Values present after and not before, and the other way round (for a single value, the old and the new). */
  added: Scalar[];
  removed: Scalar[];
}

export interface PermissionChange {
  target: string;
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
}

export interface AccountPreview {
  /** The application as the plan first names it, and the key its state is filed under. */
  application: string;
  nativeIdentity?: string;
  key: string;
  before: AccountState;
  after: AccountState;
  /** Whether anything at all differs. */
  changed: boolean;
  exists?: FlagChange;
  enabled?: FlagChange;
  locked?: FlagChange;
  /** Only the attributes and permission targets that differ, by name. */
  attributes: AttributeChange[];
  permissions: PermissionChange[];
}

export interface PlanPreview {
  accounts: AccountPreview[];
}

/** Per account the plan touches, in plan order: before, after and the differences; or every problem applying it. */
export function previewPlan(plan: ProvisioningPlan, states: AccountStates, schemas: AccountSchemas): Result<PlanPreview> {
  const applied = applyPlan(plan, states, schemas);
  if (!applied.ok) return applied;
  const accounts: AccountPreview[] = [];
  const seen = new Set<string>();
  for (const ar of plan.accountRequests) {
    const key = accountKey(ar.application, ar.nativeIdentity);
    if (seen.has(key)) continue;
    seen.add(key);
    const before = states.get(key) ?? missingAccount();
    const after = applied.value.get(key) ?? before;
    accounts.push(diffAccount(ar.application, ar.nativeIdentity, key, before, after));
  }
  return ok({ accounts });
}

function flag(before: boolean, after: boolean): FlagChange | undefined {
  return before === after ? undefined : { before, after };
}

/** The differences between two states of one account. */
export function diffAccount(application: string, nativeIdentity: string | undefined, key: string, before: AccountState, after: AccountState): AccountPreview {
  const p: AccountPreview = { application, key, before, after, changed: false, attributes: [], permissions: [] };
  if (nativeIdentity !== undefined) p.nativeIdentity = nativeIdentity;
  const exists = flag(before.exists, after.exists);
  const enabled = flag(before.enabled, after.enabled);
  const locked = flag(before.locked, after.locked);
  if (exists) p.exists = exists;
  if (enabled) p.enabled = enabled;
  if (locked) p.locked = locked;
  for (const name of unionKeys(before.attributes, after.attributes)) {
    const b = Object.hasOwn(before.attributes, name) ? before.attributes[name] : undefined;
    const a = Object.hasOwn(after.attributes, name) ? after.attributes[name] : undefined;
    if (valueEquals(b, a)) continue;
    const change: AttributeChange = { name, ...difference(valueList(b), valueList(a)) };
    if (b !== undefined) change.before = b;
    if (a !== undefined) change.after = a;
    p.attributes.push(change);
  }
  for (const target of unionKeys(before.permissions, after.permissions)) {
    const b = (Object.hasOwn(before.permissions, target) ? before.permissions[target] : undefined) ?? [];
    const a = (Object.hasOwn(after.permissions, target) ? after.permissions[target] : undefined) ?? [];
    if (valueEquals(b, a)) continue;
    p.permissions.push({ target, before: b, after: a, ...difference(b, a) });
  }
  p.changed = exists !== undefined || enabled !== undefined || locked !== undefined || p.attributes.length > 0 || p.permissions.length > 0;
  return p;
}

function unionKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

function difference<T extends Scalar>(before: T[], after: T[]): { added: T[]; removed: T[] } {
  const b = new Set(before.map(scalarKey));
  const a = new Set(after.map(scalarKey));
  return { added: after.filter((v) => !b.has(scalarKey(v))), removed: before.filter((v) => !a.has(scalarKey(v))) };
}
