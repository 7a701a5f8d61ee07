import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyAccountRequest, applyPlan } from './apply.ts';
import { APP, APP_SCHEMA, NATIVE_IDS, POOLS, SCHEMAS, requestValueArb, semanticPlanArb, stateArb } from './arbitraries.testing.ts';
import type { AccountRequest, AttributeRequest, PermissionRequest } from './model.ts';
import { normalizePlan } from './normalize.ts';
import { accountKey } from './state.ts';
import type { AccountState } from './state.ts';
import { scalarKey, valueList } from './values.ts';

const MULTI = APP_SCHEMA.attributes.filter((a) => a.multiValued).map((a) => a.name);
const ALL = Object.keys(POOLS);

const request = (attributeRequests: AttributeRequest[], permissionRequests: PermissionRequest[] = []): AccountRequest => ({
  application: APP,
  nativeIdentity: 'u1',
  op: 'Modify',
  attributeRequests,
  permissionRequests,
});

function run(state: AccountState, ...rqs: AccountRequest[]): AccountState {
  let s = state;
  for (const rq of rqs) {
    const r = applyAccountRequest(s, rq, APP_SCHEMA);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    s = r.value;
  }
  return s;
}

const existingState = stateArb.map((s) => (s.exists ? s : { ...s, exists: true, enabled: true }));

describe('the op algebra (property)', () => {
  it('Add then Remove of a value absent before restores the original', () => {
    fc.assert(
      fc.property(
        existingState,
        fc.constantFrom(...ALL).chain((name) => fc.tuple(fc.constant(name), requestValueArb(name))),
        (state, [name, value]) => {
          // On a single-valued attribute "absent" means no value at all: Add replaces any other.
          if (!MULTI.includes(name)) fc.pre(state.attributes[name] === undefined);
          // "Absent before" after coercion: '100' and 100 are one value of an integer attribute.
          const added = run(state, request([{ name, op: 'Add', value }]));
          const before = new Set(valueList(state.attributes[name]).map(scalarKey));
          const newly = valueList(added.attributes[name]).filter((v) => !before.has(scalarKey(v)));
          fc.pre(newly.length === valueList(value).length && newly.length > 0);
          expect(run(added, request([{ name, op: 'Remove', value }]))).toEqual(state);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('Add then Remove of rights absent before restores the original permissions', () => {
    fc.assert(
      fc.property(existingState, fc.constantFrom('t1', 't2'), fc.subarray(['read', 'write', 'delete'], { minLength: 1 }), (state, target, rights) => {
        fc.pre(rights.every((r) => !(state.permissions[target] ?? []).includes(r)));
        const added = run(state, request([], [{ target, op: 'Add', rights }]));
        expect(run(added, request([], [{ target, op: 'Remove', rights }]))).toEqual(state);
      }),
      { numRuns: 300 },
    );
  });

  it('Set is idempotent, on every kind of attribute and on permissions', () => {
    fc.assert(
      fc.property(
        existingState,
        fc.constantFrom(...ALL).chain((name) => fc.tuple(fc.constant(name), requestValueArb(name))),
        fc.subarray(['read', 'write']),
        (state, [name, value], rights) => {
          const set = request([{ name, op: 'Set', value }], [{ target: 't1', op: 'Set', rights }]);
          const once = run(state, set);
          expect(run(once, set)).toEqual(once);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('applying a normalised plan equals applying the original', () => {
    let compared = 0;
    fc.assert(
      fc.property(semanticPlanArb, stateArb, stateArb, (plan, s1, s2) => {
        const normalized = normalizePlan(plan, SCHEMAS);
        fc.pre(normalized.ok);
        if (!normalized.ok) return;
        expect(normalized.value.accountRequests.length).toBeLessThanOrEqual(plan.accountRequests.length);
        const states = new Map([
          [accountKey(APP, NATIVE_IDS[0]), s1],
          [accountKey(APP, NATIVE_IDS[1]), s2],
        ]);
        const original = applyPlan(plan, states, SCHEMAS);
        const merged = applyPlan(normalized.value, states, SCHEMAS);
        expect(merged.ok).toBe(original.ok);
        if (original.ok && merged.ok) {
          compared++;
          expect(merged.value).toEqual(original.value);
        }
      }),
      { numRuns: 1000 },
    );
    // Guard against a generator that only ever produces failing plans.
    expect(compared).toBeGreaterThan(50);
  });

  it('normalising twice changes nothing more', () => {
    fc.assert(
      fc.property(semanticPlanArb, (plan) => {
        const once = normalizePlan(plan, SCHEMAS);
        fc.pre(once.ok);
        if (!once.ok) return;
        expect(normalizePlan(once.value, SCHEMAS)).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });
});
