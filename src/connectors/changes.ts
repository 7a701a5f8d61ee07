/**
 * Folding a request's AttributeRequests into per-attribute changes against an account's
 * current values, with seed 004's semantics: Set replaces, Add and Remove change a
 * multi-valued attribute incrementally, and Set and Add are the same on a single value.
 * Every connector kind uses it so that "already so" is reported as `unchanged` the same way.
 */
import type { AttributeRequest, PlanValue, Scalar } from '../plan/model.ts';

/** A plan scalar as the text a target stores: dates as ISO 8601, the rest as String(). */
export function scalarText(value: Scalar): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

/** A plan value as a list of texts (absent → none). */
export function valueTexts(value: PlanValue | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(scalarText) : [scalarText(value)];
}

export interface AttributeChange {
  name: string;
  before: string[];
  after: string[];
  /** Values in `after` not in `before`, in request order. */
  added: string[];
  /** Values in `before` not in `after`. */
  removed: string[];
}

export interface PlannedRequest {
  index: number;
  request: AttributeRequest;
  /** Whether this request changes anything after the ones before it. */
  changed: boolean;
}

export interface ChangePlan {
  requests: PlannedRequest[];
  /** The net change of each attribute that some request touches (including net no-ops). */
  changes: Map<string, AttributeChange>;
}

export interface PlanOptions {
  multiValued(name: string): boolean;
  /** How two values of an attribute are compared (e.g. DNs case-insensitively); identity by default. */
  key?(name: string, value: string): string;
}

function sameSet(a: string[], b: string[], key: (v: string) => string): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(key));
  return b.every((v) => keys.has(key(v)));
}

function applyOne(before: string[], request: AttributeRequest, multi: boolean, key: (v: string) => string): string[] {
  const values = valueTexts(request.value);
  if (!multi) {
    if (request.op === 'Remove') {
      // Removing a single value clears it when it matches, or unconditionally when no value is given.
      if (values.length === 0) return [];
      const drop = new Set(values.map(key));
      return before.filter((v) => !drop.has(key(v)));
    }
    return values.slice(0, 1);
  }
  switch (request.op) {
    case 'Set': {
      const seen = new Set<string>();
      return values.filter((v) => !seen.has(key(v)) && seen.add(key(v)));
    }
    case 'Add': {
      const have = new Set(before.map(key));
      const out = [...before];
      for (const v of values) {
        if (!have.has(key(v))) {
          have.add(key(v));
          out.push(v);
        }
      }
      return out;
    }
    case 'Remove': {
      const drop = new Set(values.map(key));
      return before.filter((v) => !drop.has(key(v)));
    }
  }
}

/** Applies the requests in order to `current` and says what each changes and what each attribute becomes. */
export function planChanges(current: Record<string, string[]>, requests: AttributeRequest[], options: PlanOptions): ChangePlan {
  const state = new Map<string, string[]>();
  const planned: PlannedRequest[] = [];
  requests.forEach((request, index) => {
    const key = (v: string): string => (options.key ? options.key(request.name, v) : v);
    const before = state.get(request.name) ?? current[request.name] ?? [];
    const after = applyOne(before, request, options.multiValued(request.name), key);
    planned.push({ index, request, changed: !sameSet(before, after, key) });
    state.set(request.name, after);
  });
  const changes = new Map<string, AttributeChange>();
  for (const [name, after] of state) {
    const key = (v: string): string => (options.key ? options.key(name, v) : v);
    const before = current[name] ?? [];
    const beforeKeys = new Set(before.map(key));
    const afterKeys = new Set(after.map(key));
    changes.set(name, {
      name,
      before,
      after,
      added: after.filter((v) => !beforeKeys.has(key(v))),
      removed: before.filter((v) => !afterKeys.has(key(v))),
    });
  }
  return { requests: planned, changes };
}

/** Whether an attribute's net change does anything. */
export const isEffective = (change: AttributeChange): boolean => change.added.length > 0 || change.removed.length > 0;
