/**
 * Listings by the configured pagination style. Steward's cursor names where the next page
 * starts (a page number, an offset, the target's own cursor, or the next-page link), so a
 * listing resumes in another process without re-reading what came before.
 */
import type { Page } from '../contract.ts';
import { ConnectorError } from '../errors.ts';
import type { HttpResponse } from '../http.ts';
import type { RestClient } from './client.ts';
import { readPath } from './path.ts';
import type { OperationSpec, RestSettings } from './settings.ts';

type Position = { p: number } | { o: number } | { c: string } | { u: string } | { start: true };

function encode(pos: Position): string {
  return Buffer.from(JSON.stringify(pos)).toString('base64url');
}

function decode(cursor: string | null | undefined): Position {
  if (cursor === null || cursor === undefined || cursor === '') return { start: true };
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (Number.isSafeInteger(v.p) || Number.isSafeInteger(v.o) || typeof v.c === 'string' || typeof v.u === 'string') return v as Position;
  } catch {
    // the one error below
  }
  throw new ConnectorError('permanent', 'invalid_request', `cursor '${cursor.slice(0, 40)}' was not made by the rest connector`);
}

/** The next page's link (RFC 8288 `rel="next"`), if any. */
export function nextLink(header: string | null): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

function itemsOf(res: HttpResponse, spec: OperationSpec, name: string): unknown[] {
  const items = readPath(res.body, spec.items ?? '');
  if (!Array.isArray(items)) throw new ConnectorError('permanent', 'target_error', `${name}: the answer has no array at '${spec.items ?? ''}'; check the operation's items path`);
  return items;
}

/** Every page of a listing operation, each mapped; resumable from a page's nextCursor. */
export async function* listPages<T>(client: RestClient, settings: RestSettings, spec: OperationSpec, name: string, cursor: string | null | undefined, size: number, map: (item: unknown) => T | undefined): AsyncGenerator<Page<T>> {
  const pg = settings.pagination;
  const context = { settings: settings.plain };
  let pos = decode(cursor);
  for (;;) {
    const query: Record<string, string> = {};
    let url: string | undefined;
    if (pg.style !== 'none') query[pg.sizeParam] = String(size);
    switch (pg.style) {
      case 'page':
        query[pg.pageParam] = String('p' in pos ? pos.p : pg.firstPage);
        break;
      case 'offset':
        query[pg.offsetParam] = String('o' in pos ? pos.o : 0);
        break;
      case 'cursor':
        if ('c' in pos) query[pg.cursorParam] = pos.c;
        break;
      case 'link':
        if ('u' in pos) {
          url = pos.u;
          delete query[pg.sizeParam];
        }
        break;
      case 'none':
        break;
    }
    const res = await client.call(spec, context, { query, ...(url === undefined ? {} : { url }) });
    const raw = itemsOf(res, spec, name);
    const items = raw.map(map).filter((x): x is T => x !== undefined);
    let next: Position | null = null;
    switch (pg.style) {
      case 'page':
        if (raw.length >= size) next = { p: ('p' in pos ? pos.p : pg.firstPage) + 1 };
        break;
      case 'offset':
        if (raw.length >= size) next = { o: ('o' in pos ? pos.o : 0) + raw.length };
        break;
      case 'cursor': {
        const c = readPath(res.body, pg.nextCursor);
        if (typeof c === 'string' && c !== '') next = { c };
        else if (typeof c === 'number') next = { c: String(c) };
        break;
      }
      case 'link': {
        const link = nextLink(res.headers.get('link'));
        if (link !== undefined) next = { u: new URL(link, client.baseUrl + '/').toString() };
        break;
      }
      case 'none':
        break;
    }
    // A full page may be the last: the next request then answers empty, and that ends it.
    if (next !== null && raw.length === 0) next = null;
    yield { items, nextCursor: next === null ? null : encode(next) };
    if (next === null) return;
    pos = next;
  }
}
