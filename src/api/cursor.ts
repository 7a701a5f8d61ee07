import { StewardError } from '../domain/errors.ts';

/** Encodes the sort key of the last item of a page as an opaque cursor. */
export const encodeCursor = (key: readonly unknown[]): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/** Decodes a cursor, or answers 400 naming the `cursor` parameter. */
export function decodeCursor(cursor: string | undefined, arity: number): unknown[] | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity) return v as unknown[];
  } catch {
    // fall through to the error below
  }
  throw new StewardError('request.invalid', 'cursor: not a cursor this list gave out', { problems: [{ code: 'request.invalid', field: 'query.cursor', message: 'is not a cursor this list gave out' }] });
}

/** Builds a page from one more row than asked for: the extra row says there is a next page. */
export function pageOf<R, T>(rows: R[], limit: number, key: (r: R) => unknown[], map: (r: R) => T): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  const last = slice[slice.length - 1];
  return { items: slice.map(map), nextCursor: more && last !== undefined ? encodeCursor(key(last)) : null };
}
