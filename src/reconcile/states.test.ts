import { describe, expect, it } from 'vitest';
import { ACCOUNT_STATES, allowedActions, transition, TRANSITIONS } from './states.ts';

describe('account state transitions', () => {
  it('allows exactly the documented transitions', () => {
    expect(transition('Unmatched', 'unmanage')).toBe('Unmanaged');
    expect(transition('Unmatched', 'orphan')).toBe('Orphan');
    expect(transition('Unmatched', 'adoption')).toBe('Matched');
    expect(transition('Orphan', 'manage')).toBe('Unmatched');
    expect(transition('Matched', 'release')).toBe('Unmatched');
    expect(transition('Matched', 'orphan')).toBeNull();
    expect(transition('Matched', 'adoption')).toBeNull();
    expect(transition('Unmanaged', 'release')).toBeNull();
  });

  it('names the allowed actions from every state, each leading somewhere else', () => {
    expect(allowedActions('Matched')).toEqual(['unmanage', 'release']);
    expect(allowedActions('Unmatched')).toEqual(['unmanage', 'orphan', 'adoption']);
    expect(allowedActions('Orphan')).toEqual(['unmanage', 'manage', 'adoption']);
    expect(allowedActions('Unmanaged')).toEqual(['manage', 'adoption']);
    for (const s of ACCOUNT_STATES) for (const a of allowedActions(s)) expect(TRANSITIONS[a].to).not.toBe(s);
  });
});
