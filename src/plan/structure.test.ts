import { describe, expect, it } from 'vitest';
import type { ProvisioningPlan } from './model.ts';
import { validatePlanStructure } from './structure.ts';
import { parseDateText, parseInteger, parseIsoDate } from './values.ts';

describe('validatePlanStructure', () => {
  it('accepts a well-formed plan as it is', () => {
    const plan: ProvisioningPlan = { accountRequests: [{ application: 'A', op: 'Create', attributeRequests: [{ name: 'n', op: 'Set' }], permissionRequests: [] }] };
    expect(validatePlanStructure(plan)).toEqual({ ok: true, value: plan });
  });

  it('reports every problem of a plan built in code, with its field', () => {
    const plan = {
      identity: '',
      accountRequests: [
        {
          application: 'A',
          op: 'Rename',
          attributeRequests: [
            { name: '__proto__', op: 'Add', value: 1.5 },
            { name: 'n', op: 'Remove' },
            { name: 'd', op: 'Set', value: [new Date(NaN), [1], null, 2 ** 60] },
          ],
          permissionRequests: [{ target: 't', op: 'Add', rights: ['ok', ' padded', 'a,b', ''] }],
          arguments: { '': 1, x: undefined },
        },
      ],
    } as unknown as ProvisioningPlan;
    const r = validatePlanStructure(plan);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([
      ['plan.invalid_value', 'identity'],
      ['plan.invalid_op', 'accountRequests[0].op'],
      ['plan.missing_field', 'accountRequests[0].nativeIdentity'],
      ['plan.invalid_value', 'accountRequests[0].arguments'],
      ['plan.invalid_value', 'accountRequests[0].arguments.x'],
      ['plan.forbidden_key', 'accountRequests[0].attributeRequests[0].name'],
      ['plan.invalid_value', 'accountRequests[0].attributeRequests[0].value'],
      ['plan.missing_field', 'accountRequests[0].attributeRequests[1].value'],
      ['plan.invalid_value', 'accountRequests[0].attributeRequests[2].value[0]'],
      ['plan.invalid_value', 'accountRequests[0].attributeRequests[2].value[1]'],
      ['plan.invalid_value', 'accountRequests[0].attributeRequests[2].value[2]'],
      ['plan.invalid_value', 'accountRequests[0].attributeRequests[2].value[3]'],
      ['plan.invalid_right', 'accountRequests[0].permissionRequests[0].rights[1]'],
      ['plan.invalid_right', 'accountRequests[0].permissionRequests[0].rights[2]'],
      ['plan.invalid_right', 'accountRequests[0].permissionRequests[0].rights[3]'],
    ]);
    for (const e of r.errors) expect(e.message.startsWith(`${e.field ?? ''}: `)).toBe(true);
  });
});

describe('plan values', () => {
  it('reads ISO 8601 dates strictly', () => {
    expect(parseIsoDate('2026-01-02')).toEqual(new Date('2026-01-02T00:00:00Z'));
    expect(parseIsoDate('2026-01-02T03:04:05.678912Z')).toEqual(new Date('2026-01-02T03:04:05.678Z'));
    expect(parseIsoDate('2026-01-02T03:04-0530')).toEqual(new Date('2026-01-02T08:34:00Z'));
    expect(parseIsoDate('2024-02-29')).toEqual(new Date('2024-02-29T00:00:00Z'));
    expect(parseIsoDate('+275760-09-13T00:00:00.000Z')).toEqual(new Date(8.64e15));
    expect(parseIsoDate('0001-01-01')?.getUTCFullYear()).toBe(1);
    for (const bad of ['2023-02-29', '2026-13-01', '2026-01-02T24:00Z', '2026-01-02T03:04:05', '02/01/2026', '2026-1-2', '', '+275760-09-13T00:00:00.001Z']) {
      expect(parseIsoDate(bad)).toBeUndefined();
    }
  });

  it('reads <Date> text as epoch milliseconds or ISO', () => {
    expect(parseDateText('1767322245000')).toEqual(new Date(1767322245000));
    expect(parseDateText('-1')).toEqual(new Date(-1));
    expect(parseDateText('8640000000000001')).toBeUndefined();
  });

  it('reads integers in the safe range only, without -0', () => {
    expect(parseInteger('+42')).toBe(42);
    expect(Object.is(parseInteger('-0'), 0)).toBe(true);
    expect(parseInteger('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseInteger('9007199254740992')).toBeUndefined();
    expect(parseInteger('1e3')).toBeUndefined();
    expect(parseInteger('0x10')).toBeUndefined();
  });
});
