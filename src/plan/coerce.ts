import type { AttributeType } from '../domain/schema.ts';
import type { Scalar } from './model.ts';
import { dateFromEpochMillis, describeScalar, formatIsoDate, parseBoolean, parseInteger, parseIsoDate } from './values.ts';

/**
 * Coercion of plan values to an attribute's schema type, as SailPoint's Provisioner does
 * for connectors that do not: `'100'` to 100 for an integer, `'true'`/`'false'` for a
 * boolean, an ISO 8601 string (or epoch milliseconds as an integer) for a date, and any
 * scalar to its canonical text for a string.
 */

/** The scalar as the given type, or why it cannot be. */
export function coerceScalar(v: Scalar, type: AttributeType): { ok: true; value: Scalar } | { ok: false; why: string } {
  switch (type) {
    case 'string':
      if (typeof v === 'string') return { ok: true, value: v };
      if (v instanceof Date) return { ok: true, value: formatIsoDate(v) };
      return { ok: true, value: String(v) };
    case 'integer': {
      if (typeof v === 'number') return { ok: true, value: v };
      const n = typeof v === 'string' ? parseInteger(v.trim()) : undefined;
      if (n !== undefined) return { ok: true, value: n };
      return { ok: false, why: `${describeScalar(v)} is not an integer${typeof v === 'string' && /^\s*[+-]?[0-9]+\s*$/.test(v) ? ' in the safe range' : ''}` };
    }
    case 'boolean': {
      if (typeof v === 'boolean') return { ok: true, value: v };
      const b = typeof v === 'string' ? parseBoolean(v.trim()) : undefined;
      if (b !== undefined) return { ok: true, value: b };
      return { ok: false, why: `${describeScalar(v)} is not true or false` };
    }
    case 'date': {
      if (v instanceof Date) return { ok: true, value: v };
      const d = typeof v === 'string' ? parseIsoDate(v.trim()) : typeof v === 'number' ? dateFromEpochMillis(v) : undefined;
      if (d !== undefined) return { ok: true, value: d };
      return { ok: false, why: `${describeScalar(v)} is not an ISO 8601 date (with an offset when it has a time)` };
    }
  }
}
