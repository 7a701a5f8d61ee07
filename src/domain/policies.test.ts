import { describe, expect, it } from 'vitest';
import { DEFAULT_REMEDIATION, parseGracePeriod, withRemediationDefaults } from './policies.ts';

describe('parseGracePeriod', () => {
  it.each([
    ['P0D', 0],
    ['PT0S', 0],
    ['P7D', 7 * 86_400],
    ['PT12H', 12 * 3_600],
    ['P1DT6H', 30 * 3_600],
    ['PT90M', 5_400],
    ['P2W', 14 * 86_400],
    ['P1DT1H1M1S', 86_400 + 3_600 + 61],
    ['P366D', 366 * 86_400],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseGracePeriod(text)).toEqual({ ok: true, value: seconds });
  });

  it.each(['', 'P', 'PT', 'P1DT', '7d', 'p7d', 'P1Y', 'P1M', 'P1.5D', '-P1D', 'P1D ', 'PT1H2D'])('refuses %j naming the field and what is accepted', (text) => {
    const r = parseGracePeriod(text, 'deprovisioningPolicy.gracePeriod');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors[0]!.field).toBe('deprovisioningPolicy.gracePeriod');
      expect(r.errors[0]!.message).toContain('ISO 8601');
    }
  });

  it('refuses a grace period over 366 days', () => {
    const r = parseGracePeriod('P367D');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.message).toContain('366 days');
  });
});

describe('withRemediationDefaults', () => {
  it('fills what is left out with letMeDecide and keeps what is given', () => {
    expect(withRemediationDefaults(undefined)).toEqual(DEFAULT_REMEDIATION);
    expect(withRemediationDefaults({ accountRemoved: 'accept' })).toEqual({ ...DEFAULT_REMEDIATION, accountRemoved: 'accept' });
    expect(Object.values(DEFAULT_REMEDIATION).every((r) => r === 'letMeDecide')).toBe(true);
  });
});
