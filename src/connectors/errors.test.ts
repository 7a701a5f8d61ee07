import { describe, expect, it } from 'vitest';
import { ConnectorError, parseRetryAfter, secretScrubber, toApplyError } from './errors.ts';

describe('parseRetryAfter', () => {
  it('reads delay-seconds as milliseconds', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
  });
  it('reads an HTTP date as the time left until it', () => {
    const now = Date.parse('Mon, 23 Nov 2026 10:00:00 GMT');
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
  });
  it('never gives a negative wait for a date in the past', () => {
    const now = Date.parse('Mon, 23 Nov 2026 10:00:00 GMT');
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('is undefined when absent or unreadable', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
  });
});

describe('secretScrubber', () => {
  it('replaces every occurrence of each secret, longest first', () => {
    const scrub = secretScrubber(['hunter22', 'hunter22-extended', undefined]);
    expect(scrub('token hunter22-extended and hunter22 again')).toBe('token *** and *** again');
  });
  it('leaves secrets too short to scrub meaningfully', () => {
    expect(secretScrubber(['abc'])('abc abc')).toBe('abc abc');
  });
});

describe('toApplyError', () => {
  it('keeps a ConnectorError’s classification', () => {
    const e = new ConnectorError('rate_limited', 'rate_limited', 'slow down', { status: 429, retryAfterMs: 5000 });
    expect(toApplyError(e)).toEqual({ kind: 'rate_limited', code: 'rate_limited', message: 'slow down', status: 429, retryAfterMs: 5000 });
  });
  it('counts an unknown error as retryable', () => {
    expect(toApplyError(new Error('boom'))).toMatchObject({ kind: 'retryable', message: 'boom' });
  });
});
