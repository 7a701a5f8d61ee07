import type { PlanValue, Scalar } from './model.ts';

/**
 * Plan values: the one place that says what a scalar is, how dates and integers are read
 * and written, and when two values are the same. Both codecs and the semantics use it, so
 * XML, JSON and apply can never disagree about a value.
 */

/** The largest |epoch milliseconds| a JS Date can hold (ECMAScript's time range). */
const MAX_TIME = 8.64e15;

/** True when `v` is one of the four scalar kinds a plan may carry. */
export function isScalar(v: unknown): v is Scalar {
  if (typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isSafeInteger(v);
  return v instanceof Date && !Number.isNaN(v.getTime());
}

/** A string that identifies a scalar by kind and content, for set operations (`'100'` and `100` differ). */
export function scalarKey(v: Scalar): string {
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'number') return `n${v}`;
  if (typeof v === 'boolean') return v ? 'bt' : 'bf';
  return `d${v.getTime()}`;
}

/** True when two scalars are the same kind and content (dates by instant). */
export const scalarEquals = (a: Scalar, b: Scalar): boolean => scalarKey(a) === scalarKey(b);

/** The values of `v` as a list: a scalar is a list of one, absent is empty. */
export function valueList(v: PlanValue | undefined): Scalar[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** True when two plan values are the same (lists element by element, in order). */
export function valueEquals(a: PlanValue | undefined, b: PlanValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (!Array.isArray(a)) return scalarEquals(a, b as Scalar);
  const bl = b as Scalar[];
  return a.length === bl.length && a.every((x, i) => scalarEquals(x, bl[i] as Scalar));
}

/** Describes a scalar for an error message, e.g. `'abc'`, `100`, `date 2026-01-02T00:00:00.000Z`. */
export function describeScalar(v: Scalar): string {
  if (typeof v === 'string') return `'${v.length > 80 ? `${v.slice(0, 77)}...` : v}'`;
  if (v instanceof Date) return `date ${v.toISOString()}`;
  return String(v);
}

const INTEGER_TEXT = /^[+-]?[0-9]+$/;

/** Reads decimal integer text (sign allowed); undefined when it is not one or is outside the safe-integer range. */
export function parseInteger(text: string): number | undefined {
  if (!INTEGER_TEXT.test(text)) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return undefined;
  return n === 0 ? 0 : n; // no -0: it would not survive a round trip through text
}

/** Reads `true`/`false` in any letter case (Java's `Boolean.parseBoolean` habit, strictly two words). */
export function parseBoolean(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return undefined;
}

/** Epoch milliseconds to a Date; undefined outside the range a Date can hold. */
export function dateFromEpochMillis(ms: number): Date | undefined {
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > MAX_TIME) return undefined;
  return new Date(ms === 0 ? 0 : ms);
}

const ISO_DATE =
  /^([+-][0-9]{6}|[0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?))?$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * Reads an ISO 8601 date (`2026-01-02`, midnight UTC) or date-time with an offset
 * (`2026-01-02T03:04:05.678Z`, `…+02:00`). A time without an offset is refused: it would
 * mean a different instant on every server. Fractions beyond milliseconds are truncated.
 */
export function parseIsoDate(text: string): Date | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, fs, zs] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  if (ys === '-000000') return undefined; // ISO 8601 forbids negative zero year
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > (month === 2 && !isLeap(year) ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0))) return undefined;
  if (hs !== undefined && zs === undefined) return undefined;
  const hour = hs === undefined ? 0 : Number(hs);
  const minute = mis === undefined ? 0 : Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  const ms = fs === undefined ? 0 : Number(fs.slice(0, 3).padEnd(3, '0'));
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (zs !== undefined && zs !== 'Z' && zs !== 'z') {
    const sign = zs.startsWith('-') ? -1 : 1;
    const digits = zs.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  const t = d.getTime() - offsetMinutes * 60_000;
  if (Number.isNaN(t) || Math.abs(t) > MAX_TIME) return undefined;
  return new Date(t);
}

const EPOCH_TEXT = /^[+-]?[0-9]+$/;

/** Reads a `<Date>` body or JSON date: epoch milliseconds (SailPoint's form) or ISO 8601. */
export function parseDateText(text: string): Date | undefined {
  if (EPOCH_TEXT.test(text)) {
    const n = parseInteger(text);
    return n === undefined ? undefined : dateFromEpochMillis(n);
  }
  return parseIsoDate(text);
}

/** The canonical ISO 8601 form of a date: UTC, milliseconds, `Z`. */
export const formatIsoDate = (d: Date): string => d.toISOString();

// Characters XML 1.0 can carry at all (its `Char` production). A lone surrogate fails too.
const NON_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The first character XML 1.0 cannot represent, as `U+XXXX`; undefined when every character is fine. */
export function firstNonXmlChar(s: string): string | undefined {
  const m = NON_XML_CHAR.exec(s);
  if (!m) return undefined;
  return `U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}
