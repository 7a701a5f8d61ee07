import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCron, validateSettings } from './schedules.ts';

describe('parseCron', () => {
  it('accepts five-field expressions with lists, ranges, steps and names', () => {
    for (const c of ['0 2 * * *', '*/15 * * * *', '0 0 1,15 * *', '30 6 * jan-mar mon-fri', '0 0 * * 7', '5-10/2 0-23 1-31 1-12 0-6']) {
      expect(parseCron(c)).toEqual({ ok: true, value: c });
    }
    expect(parseCron('  0   2 * * *  ')).toEqual({ ok: true, value: '0 2 * * *' });
  });

  it('names the field that is wrong', () => {
    const bad = (text: string, message: RegExp) => {
      const r = parseCron(text);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.errors[0]!.field).toBe('schedule');
        expect(r.errors[0]!.message).toMatch(message);
      }
    };
    bad('0 2 * *', /has 4 fields/);
    bad('0 2 * * * *', /has 6 fields/);
    bad('60 * * * *', /minute field '60' has a value outside 0–59/);
    bad('* 24 * * *', /hour field/);
    bad('* * 0 * *', /day of month field/);
    bad('* * * 13 *', /month field/);
    bad('* * * * 8', /day of week field/);
    bad('*/0 * * * *', /step of 0/);
    bad('5-1 * * * *', /reversed range/);
    bad('a;b * * * *', /not a cron list/);
    bad('@daily', /has 1 fields/);
    bad('', /has 1 fields/);
    bad('1 '.repeat(150), /longer than 200/);
  });

  it('never throws, whatever the text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      const r = parseCron(s);
      expect(typeof r.ok).toBe('boolean');
    }));
  });
});

describe('validateSettings', () => {
  it('keeps what is given and reports every wrong field', () => {
    expect(validateSettings({ schedule: '0 3 * * *', safetyThreshold: 0.1, pageSize: 500, scheduleMode: 'incremental' })).toEqual({ ok: true, value: { schedule: '0 3 * * *', safetyThreshold: 0.1, pageSize: 500, scheduleMode: 'incremental' } });
    expect(validateSettings({ schedule: null, pageSize: null })).toEqual({ ok: true, value: { schedule: null, pageSize: null } });
    const r = validateSettings({ schedule: 'nope', safetyThreshold: 0, pageSize: 0.5, scheduleMode: 'sometimes' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((p) => p.field)).toEqual(['schedule', 'scheduleMode', 'safetyThreshold', 'pageSize']);
    const big = validateSettings({ safetyThreshold: 1.5, pageSize: 100_001 });
    expect(big.ok).toBe(false);
    expect(validateSettings({ safetyThreshold: Number.NaN }).ok).toBe(false);
  });
});
