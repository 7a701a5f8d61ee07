import { describe, expect, it } from 'vitest';
import type { AccountItem } from '../connectors/index.ts';
import { advanceCursor, MAX_SEEN_AT_MARK, parseChangeCursor, unseen } from './change-cursor.ts';
import { accountHash } from './stage.ts';

const item = (nativeIdentity: string, changeMark: string | undefined, name = nativeIdentity): AccountItem => ({
  nativeIdentity,
  attributes: { name },
  enabled: true,
  locked: false,
  entitlements: [],
  ...(changeMark === undefined ? {} : { changeMark }),
});
const T1 = '2026-11-23T10:00:00.000Z';
const T2 = '2026-11-23T10:00:01.000Z';

describe('change cursors', () => {
  it('keep the highest mark and the accounts seen at it, with their snapshot hashes', () => {
    const c1 = advanceCursor(null, [item('a', T1), item('b', T2), item('c', undefined)]);
    expect(c1).toEqual({ mark: T2, seen: { b: accountHash(item('b', T2)) } });
    const c2 = advanceCursor(c1, [item('d', T2), item('e', T1)]);
    expect(c2).toEqual({ mark: T2, seen: { b: accountHash(item('b', T2)), d: accountHash(item('d', T2)) } });
    expect(advanceCursor(null, [item('x', undefined)])).toBeNull();
    expect(advanceCursor(c2, [])).toEqual(c2);
  });

  it('stop remembering accounts past the limit (they are then staged again) rather than grow without bound', () => {
    const many = Array.from({ length: MAX_SEEN_AT_MARK + 1 }, (_, i) => item(`u${i}`, T1));
    const c = advanceCursor(null, many);
    expect(c).toEqual({ mark: T1, seen: null });
    expect(unseen(c!, many)).toHaveLength(many.length);
  });

  it('skip an account seen at the mark only while its snapshot is the same: one changed again in the same instant is read', () => {
    const c = advanceCursor(null, [item('a', T1), item('b', T1)])!;
    const page = [item('a', T1), item('b', T1, 'renamed in the same instant'), item('c', T1), item('a', T2)];
    expect(unseen(c, page).map((a) => [a.nativeIdentity, a.changeMark])).toEqual([['b', T1], ['c', T1], ['a', T2]]);
  });

  it('parse what they print, and refuse anything else naming the part that is wrong', () => {
    const c = advanceCursor(null, [item('a', T1)])!;
    expect(parseChangeCursor(JSON.stringify(c))).toEqual({ ok: true, value: c });
    expect(parseChangeCursor(JSON.stringify({ mark: T1, seen: null }))).toEqual({ ok: true, value: { mark: T1, seen: null } });
    const cases: [string, string][] = [
      ['', 'changeCursor'],
      ['{', 'changeCursor'],
      ['null', 'changeCursor'],
      ['[1]', 'changeCursor'],
      ['"x"', 'changeCursor'],
      ['{}', 'changeCursor.mark'],
      [JSON.stringify({ mark: '2026-11-23T10:00:00Z', seen: {} }), 'changeCursor.mark'],
      [JSON.stringify({ mark: 5, seen: {} }), 'changeCursor.mark'],
      [JSON.stringify({ mark: '2026-13-45T10:00:00.000Z', seen: {} }), 'changeCursor.mark'],
      [JSON.stringify({ mark: T1 }), 'changeCursor.seen'],
      [JSON.stringify({ mark: T1, seen: [] }), 'changeCursor.seen'],
      [JSON.stringify({ mark: T1, seen: { a: 'not-a-hash' } }), 'changeCursor.seen.a'],
      [JSON.stringify({ mark: T1, seen: { a: 7 } }), 'changeCursor.seen.a'],
      [JSON.stringify({ mark: T1, seen: Object.fromEntries(Array.from({ length: MAX_SEEN_AT_MARK + 1 }, (_, i) => [`u${i}`, 'a'.repeat(32)])) }), 'changeCursor.seen'],
    ];
    for (const [text, field] of cases) {
      const r = parseChangeCursor(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.errors[0], text).toMatchObject({ code: 'reconciliation.invalid_cursor', field });
    }
  });
});
