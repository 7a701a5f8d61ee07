import { StewardError } from '../domain/errors.ts';

/** A page as services give it: the items, and the sort key to continue after (null on the last). */
export interface KeyPage<T> {
  items: T[];
  nextKey: unknown[] | null;
}

/** Builds a page from one more row than asked for: the extra row says there is a next page. */
export function keyPage<R, T>(rows: R[], limit: number, key: (r: R) => unknown[], map: (r: R) => T): KeyPage<T> {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  const last = slice[slice.length - 1];
  return { items: slice.map(map), nextKey: more && last !== undefined ? key(last) : null };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const badCursor = () =>
  new StewardError('request.invalid', 'cursor: not a cursor this list gave out', { problems: [{ code: 'request.invalid', field: 'query.cursor', message: 'is not a cursor this list gave out' }] });

/**
 * Checks a decoded keyset against the shape a list uses (`s` a string, `u` a uuid), so a
 * forged cursor gets a 400 rather than reaching SQL.
 */
export function checkKey(key: readonly unknown[] | undefined, shape: readonly ('s' | 'u')[]): string[] | undefined {
  if (key === undefined) return undefined;
  if (key.length !== shape.length) throw badCursor();
  return key.map((v, i) => {
    if (typeof v !== 'string' || v.length > 2000 || (shape[i] === 'u' && !UUID_RE.test(v))) throw badCursor();
    return v;
  });
}
