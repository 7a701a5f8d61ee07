/** A parser's or validator's answer: a value, or every problem found. */
export type Result<T, E = Problem> = { ok: true; value: T } | { ok: false; errors: E[] };

/** One problem with an input: a stable code, the field or position it concerns, and why. */
export interface Problem {
  code: string;
  message: string;
  /** JSON-pointer-like path or field name, e.g. `emails[0].value` or `Department`. */
  field?: string;
  line?: number;
  column?: number;
}

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E = Problem>(...errors: E[]): Result<never, E> => ({ ok: false, errors });
