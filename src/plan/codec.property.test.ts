import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planArb } from './arbitraries.testing.ts';
import { parsePlanJson } from './json-read.ts';
import { toJson, toJsonValue } from './json-write.ts';
import { validatePlanStructure } from './structure.ts';
import { parsePlanXml } from './xml-parse.ts';
import { toXml } from './xml-write.ts';

describe('codec round trips (property)', () => {
  it('every generated plan is structurally valid', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        expect(validatePlanStructure(plan)).toEqual({ ok: true, value: plan });
      }),
      { numRuns: 300 },
    );
  });

  it('XML: parsePlanXml(toXml(p)) equals p', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        expect(parsePlanXml(toXml(plan))).toEqual({ ok: true, value: plan });
      }),
      { numRuns: 500 },
    );
  });

  it('JSON: parsePlanJson(toJson(p)) equals p, from text and from the object', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        expect(parsePlanJson(toJson(plan))).toEqual({ ok: true, value: plan });
        expect(parsePlanJson(toJsonValue(plan))).toEqual({ ok: true, value: plan });
      }),
      { numRuns: 500 },
    );
  });

  it('XML → model → JSON → model → XML gives the same XML', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const xml = toXml(plan);
        const fromXml = parsePlanXml(xml);
        if (!fromXml.ok) throw new Error(JSON.stringify(fromXml.errors));
        const fromJson = parsePlanJson(toJson(fromXml.value));
        if (!fromJson.ok) throw new Error(JSON.stringify(fromJson.errors));
        expect(toXml(fromJson.value)).toBe(xml);
      }),
      { numRuns: 300 },
    );
  });
});
