/** Between GitLab users and Steward accounts. */
import type { AttributeSchema } from '../../domain/schema.ts';
import type { PlanValue } from '../../plan/model.ts';
import type { AccountItem } from '../contract.ts';
import type { GitlabUser } from './api.ts';

/** Single-valued attributes written with PUT /users/:id, by their GitLab name. */
export const USER_FIELDS = ['username', 'email', 'name', 'job_title'] as const;
export const EMAILS = 'emails';
export const GROUPS = 'groups';
export const PASSWORD = 'password';

export const GITLAB_ATTRIBUTES: AttributeSchema[] = [
  { name: 'username', type: 'string', multiValued: false, required: true, description: 'The unique user name (login).' },
  { name: 'email', type: 'string', multiValued: false, required: true, description: 'The primary email.' },
  { name: 'name', type: 'string', multiValued: false, required: true, description: 'The display name.' },
  { name: 'job_title', type: 'string', multiValued: false, description: 'The job title.' },
  { name: EMAILS, type: 'string', multiValued: true, description: 'Secondary emails (User emails API).' },
  { name: GROUPS, type: 'string', multiValued: true, entitlementKind: 'group', description: 'Groups the user is a direct member of, by group id.' },
];

/** A user as an account; `emails` and `groups` when they were read. */
export function toAccount(u: GitlabUser, extra: { emails?: string[]; groups?: string[] } = {}): AccountItem {
  const attributes: Record<string, PlanValue> = {};
  for (const f of USER_FIELDS) {
    const v = u[f];
    if (typeof v === 'string' && v !== '') attributes[f] = v;
  }
  if (extra.emails !== undefined) attributes[EMAILS] = extra.emails;
  return {
    nativeIdentity: String(u.id),
    attributes,
    // GitLab's states: active, blocked, ldap_blocked, blocked_pending_approval, deactivated…; only active signs in.
    enabled: u.state === 'active',
    locked: u.locked === true,
    entitlements: (extra.groups ?? []).map((g) => ({ kind: 'group' as const, nativeValue: g })),
  };
}
