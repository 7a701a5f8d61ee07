import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StewardError } from '../../domain/errors.ts';
import { verifySlackSignature } from './slack.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const sign = (ts: string, body: string, secret = SECRET) => `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
const code = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return e instanceof StewardError ? e.code : 'other';
  }
};

describe('verifySlackSignature', () => {
  it("accepts Slack's own documented example", () => {
    // From Slack's "Verifying requests from Slack" guide.
    const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const ts = '1531420618';
    expect(code(() => verifySlackSignature(SECRET, ts, 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503', body, new Date(Number(ts) * 1000 + 10_000)))).toBeNull();
  });

  it('accepts a signed body and refuses any change of body, timestamp or key', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), fc.string({ minLength: 1, maxLength: 5 }), (body, t, extra) => {
        const ts = String(t);
        const now = new Date(t * 1000);
        const sig = sign(ts, body);
        expect(code(() => verifySlackSignature(SECRET, ts, sig, body, now))).toBeNull();
        expect(code(() => verifySlackSignature(SECRET, ts, sig, body + extra, now))).toBe('slack.unauthorized');
        expect(code(() => verifySlackSignature(SECRET, String(t + 1), sig, body, now))).toBe('slack.unauthorized');
        expect(code(() => verifySlackSignature(`${SECRET}x`, ts, sig, body, now))).toBe('slack.unauthorized');
      }),
      { numRuns: 200 },
    );
  });

  it('refuses stale, future, malformed and missing headers', () => {
    const t = 1_700_000_000;
    const now = new Date(t * 1000);
    const body = 'payload=%7B%7D';
    const ok = (ts: number) => code(() => verifySlackSignature(SECRET, String(ts), sign(String(ts), body), body, now));
    expect(ok(t - 300)).toBeNull();
    expect(ok(t - 301)).toBe('slack.unauthorized');
    expect(ok(t + 301)).toBe('slack.unauthorized');
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 80 })), fc.option(fc.string({ maxLength: 80 })), (ts, sig) => {
        expect(code(() => verifySlackSignature(SECRET, ts ?? undefined, sig ?? undefined, body, now))).toBe('slack.unauthorized');
      }),
    );
  });
});
