/**
 * Account states (seed 003) and the transitions a person may make. Reconciliation itself
 * moves Unmatched to Matched (correlation) and Matched to Orphan (the identity is gone);
 * everything else is an administrator's call:
 *
 * | action    | from                         | to        |
 * | --------- | ---------------------------- | --------- |
 * | unmanage  | Unmatched, Orphan, Matched   | Unmanaged |
 * | orphan    | Unmatched                    | Orphan    |
 * | manage    | Unmanaged, Orphan            | Unmatched |
 * | release   | Matched                      | Unmatched |
 * | adoption  | Unmatched, Orphan, Unmanaged | Matched   |
 */
export const ACCOUNT_STATES = ['Matched', 'Unmatched', 'Unmanaged', 'Orphan'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

export const ACCOUNT_ACTIONS = ['unmanage', 'orphan', 'manage', 'release'] as const;
export type AccountAction = (typeof ACCOUNT_ACTIONS)[number];

export const TRANSITIONS: Readonly<Record<AccountAction | 'adoption', { from: readonly AccountState[]; to: AccountState }>> = {
  unmanage: { from: ['Unmatched', 'Orphan', 'Matched'], to: 'Unmanaged' },
  orphan: { from: ['Unmatched'], to: 'Orphan' },
  manage: { from: ['Unmanaged', 'Orphan'], to: 'Unmatched' },
  release: { from: ['Matched'], to: 'Unmatched' },
  adoption: { from: ['Unmatched', 'Orphan', 'Unmanaged'], to: 'Matched' },
};

/** The actions allowed from a state (for the 409 that names them). */
export function allowedActions(state: AccountState): (AccountAction | 'adoption')[] {
  return (Object.keys(TRANSITIONS) as (AccountAction | 'adoption')[]).filter((a) => TRANSITIONS[a].from.includes(state));
}

/** The state an action leads to from `state`, or null when the action is not allowed there. */
export function transition(state: AccountState, action: AccountAction | 'adoption'): AccountState | null {
  const t = TRANSITIONS[action];
  return t.from.includes(state) ? t.to : null;
}
