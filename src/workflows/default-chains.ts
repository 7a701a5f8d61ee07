/**
 * The ActionChain Steward derives where none is saved, from what the application's connector
 * can do: provisioning makes the account (and adds the entitlement), de-provisioning does what
 * the application's de-provisioning policy says (or takes the entitlement away). Where the
 * connector cannot, the chain is one `none` script whose note says so, so a person can save a
 * chain that asks someone (a GitLab issue, an email) instead.
 */
import { MEMBERSHIP_OPERATIONS } from '../connectors/index.ts';
import { ENTITLEMENT_KINDS, type EntitlementKind } from '../domain/schema.ts';
import type { ChainScript } from './flows.ts';

/** The application facts a default chain is derived from. */
export interface DefaultChainApplication {
  connectorKind: string;
  /** The operations the application allows (its stored capabilities). */
  capabilities: readonly string[];
  /** `{ action: 'Suspend' | 'Deactivate' | 'Archive' | 'Delete', … }`; Suspend when absent. */
  deprovisioningPolicy: unknown;
}

export type DefaultChainPurpose = 'provisioning' | 'deprovisioning';

const none = (note: string): ChainScript[] => [{ type: 'none', metadata: { note } }];

function policyAction(policy: unknown): string {
  const action = policy !== null && typeof policy === 'object' ? (policy as { action?: unknown }).action : undefined;
  return typeof action === 'string' ? action : 'Suspend';
}

/** The scripts of the chain Steward uses for this application (and entitlement) and purpose when none is saved. */
export function defaultActionChain(application: DefaultChainApplication, entitlement: { kind: string } | null, purpose: DefaultChainPurpose): ChainScript[] {
  const kind = application.connectorKind;
  const can = new Set(application.capabilities);
  const api = (op: string): ChainScript => ({ type: `${kind}_api_${op}`, metadata: {} });
  const cannot = (what: string, op: string): ChainScript[] =>
    none(`the ${kind} connector of this application cannot ${what} (no ${op} capability): save a chain that asks someone to, e.g. with gitlab_issue_create or email_notification`);

  if (entitlement === null) {
    if (purpose === 'provisioning') return can.has('create_user') ? [api('create_user')] : cannot('create accounts', 'create_user');
    const action = policyAction(application.deprovisioningPolicy);
    const op = action === 'Delete' ? 'delete_user' : 'disable_user';
    return can.has(op) ? [api(op)] : cannot(`${action === 'Delete' ? 'delete' : 'disable'} accounts, as the de-provisioning policy (${action}) asks`, op);
  }

  if (!(ENTITLEMENT_KINDS as readonly string[]).includes(entitlement.kind) || entitlement.kind === 'permission') {
    return none(`a ${entitlement.kind} entitlement has no membership operation of its own: grant it through a plan, or save a chain`);
  }
  const ops = MEMBERSHIP_OPERATIONS[entitlement.kind as EntitlementKind];
  if (purpose === 'provisioning') {
    if (!can.has(ops.add)) return cannot(`add accounts to a ${entitlement.kind}`, ops.add);
    // create_user finds an account the identity already has, so it is safe before every grant.
    return can.has('create_user') ? [api('create_user'), api(ops.add)] : [api(ops.add)];
  }
  return can.has(ops.remove) ? [api(ops.remove)] : cannot(`remove accounts from a ${entitlement.kind}`, ops.remove);
}

/** `defaultActionChain` in the shape the ActionChain service takes (`DefaultChain`). */
export function deriveDefaultChain(target: { application: DefaultChainApplication; entitlement: { kind: string } | null }, purpose: DefaultChainPurpose): ChainScript[] {
  return defaultActionChain(target.application, target.entitlement, purpose);
}
