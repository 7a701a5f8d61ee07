import { sql, type RawBuilder, type SqlBool } from 'kysely';

/** Escapes LIKE's wildcards so user text matches only itself (used with ESCAPE '\'). */
export const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** `lower(column)` starts with the text, case-insensitively; the text's wildcards are literal. */
export const startsWithFolded = (column: RawBuilder<unknown>, text: string): RawBuilder<SqlBool> =>
  sql<SqlBool>`lower(${column}) like ${`${escapeLike(text.toLowerCase())}%`} escape '\\'`;

/** The column contains the text, case-insensitively; the text's wildcards are literal. */
export const containsFolded = (column: RawBuilder<unknown>, text: string): RawBuilder<SqlBool> =>
  sql<SqlBool>`lower(${column}) like ${`%${escapeLike(text.toLowerCase())}%`} escape '\\'`;
