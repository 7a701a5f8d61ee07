import { describe, expect, it } from 'vitest';
import { planChanges, valueTexts } from './changes.ts';

const multi = (name: string): boolean => name !== 'title';

describe('planChanges (seed 004 semantics)', () => {
  it('Set replaces a multi-valued attribute; Add and Remove change it incrementally', () => {
    const plan = planChanges({ groups: ['A', 'B'] }, [
      { name: 'groups', op: 'Add', value: 'C' },
      { name: 'groups', op: 'Remove', value: 'A' },
    ], { multiValued: multi });
    expect(plan.changes.get('groups')).toMatchObject({ after: ['B', 'C'], added: ['C'], removed: ['A'] });
    const set = planChanges({ groups: ['A', 'B'] }, [{ name: 'groups', op: 'Set', value: ['Hunters', 'Gatherers'] }], { multiValued: multi });
    expect(set.changes.get('groups')).toMatchObject({ after: ['Hunters', 'Gatherers'], removed: ['A', 'B'] });
  });
  it('Set and Add are the same on a single-valued attribute', () => {
    const add = planChanges({ title: ['Old'] }, [{ name: 'title', op: 'Add', value: 'New' }], { multiValued: multi });
    const set = planChanges({ title: ['Old'] }, [{ name: 'title', op: 'Set', value: 'New' }], { multiValued: multi });
    expect(add.changes.get('title')!.after).toEqual(['New']);
    expect(set.changes.get('title')!.after).toEqual(['New']);
  });
  it('marks requests that change nothing as unchanged', () => {
    const plan = planChanges({ groups: ['A'] }, [
      { name: 'groups', op: 'Add', value: 'A' },
      { name: 'groups', op: 'Remove', value: 'Z' },
      { name: 'groups', op: 'Set', value: ['A'] },
    ], { multiValued: multi });
    expect(plan.requests.map((r) => r.changed)).toEqual([false, false, false]);
  });
  it('compares with the given key (e.g. DNs without regard to case)', () => {
    const plan = planChanges({ member: ['CN=A,DC=X'] }, [{ name: 'member', op: 'Add', value: 'cn=a,dc=x' }], { multiValued: multi, key: (_n, v) => v.toLowerCase() });
    expect(plan.requests[0]!.changed).toBe(false);
  });
  it('Remove without a value clears a single-valued attribute', () => {
    const plan = planChanges({ title: ['Old'] }, [{ name: 'title', op: 'Remove' }], { multiValued: multi });
    expect(plan.changes.get('title')!.after).toEqual([]);
  });
  it('turns plan values into texts, dates as ISO 8601', () => {
    expect(valueTexts([1, true, new Date('2026-01-02T03:04:05Z')])).toEqual(['1', 'true', '2026-01-02T03:04:05.000Z']);
  });
});
