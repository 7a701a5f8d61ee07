/**
 * Listing cursors for targets that can only be read from the start (a file, an LDAP paged
 * search, whose server-side cookie dies with its connection): the cursor names how many
 * items were delivered and the key of the last one, and resuming re-reads past that key.
 */
import { ConnectorError } from './errors.ts';

export interface KeyCursor {
  /** Items delivered before this point. */
  n: number;
  /** The key of the last item delivered. */
  k: string;
}

/** A cursor as an opaque URL-safe string. */
export function encodeCursor(c: KeyCursor): string {
  return Buffer.from(JSON.stringify([c.n, c.k])).toString('base64url');
}

/** The cursor in a string made by encodeCursor; a permanent invalid_request error otherwise. */
export function decodeCursor(text: string): KeyCursor {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && (v[0] as number) > 0 && typeof v[1] === 'string') {
      return { n: v[0] as number, k: v[1] };
    }
  } catch {
    // fall through to the one error below
  }
  throw new ConnectorError('permanent', 'invalid_request', `cursor '${text.slice(0, 40)}' was not made by this connector kind`);
}

/**
 * The items of `open()` after the cursor's key. The fast path skips `n - 1` items and finds
 * the key where it was; if the target changed before that point, a second read looks for the
 * key anywhere and carries on after it. A key that is gone makes the cursor stale.
 */
export async function* resumeAfter<T>(open: () => AsyncIterable<T>, keyOf: (item: T) => string, cursor: KeyCursor | null): AsyncGenerator<T> {
  if (cursor === null) {
    yield* open();
    return;
  }
  let index = 0;
  let found = false;
  for await (const item of open()) {
    if (found) {
      yield item;
    } else if (index === cursor.n - 1) {
      if (keyOf(item) !== cursor.k) break;
      found = true;
    }
    index++;
  }
  if (found) return;
  for await (const item of open()) {
    if (found) yield item;
    else if (keyOf(item) === cursor.k) found = true;
  }
  if (!found) throw stale(cursor);
}

function stale(cursor: KeyCursor): ConnectorError {
  return new ConnectorError('permanent', 'cursor_stale', `the listing cannot resume: the entry '${cursor.k}' it stopped at is gone; start the listing again`);
}

/**
 * Groups items into pages of `size`, each with the cursor to resume after it; the last page
 * has a null cursor. One empty page when there are no items, so a caller always sees the end.
 */
export async function* paginate<T>(items: AsyncIterable<T>, size: number, keyOf: (item: T) => string, delivered = 0): AsyncGenerator<{ items: T[]; nextCursor: string | null }> {
  let page: T[] = [];
  let held: T[] | null = null;
  let count = delivered;
  for await (const item of items) {
    if (held !== null) {
      count += held.length;
      yield { items: held, nextCursor: encodeCursor({ n: count, k: keyOf(held[held.length - 1]!) }) };
      held = null;
    }
    page.push(item);
    // Hold a full page until one more item shows it is not the last.
    if (page.length === size) {
      held = page;
      page = [];
    }
  }
  if (held !== null) yield { items: held, nextCursor: null };
  else yield { items: page, nextCursor: null };
}

/**
 * resumeAfter for sources that deliver batches (a paged search's pages): the same skipping,
 * with one step per batch rather than per item.
 */
export async function* resumeBatchesAfter<T>(open: () => AsyncIterable<T[]>, keyOf: (item: T) => string, cursor: KeyCursor | null): AsyncGenerator<T[]> {
  if (cursor === null) {
    yield* open();
    return;
  }
  let index = 0;
  let found = false;
  for await (const batch of open()) {
    if (found) {
      yield batch;
      continue;
    }
    const at = cursor.n - 1 - index;
    index += batch.length;
    if (at >= batch.length) continue;
    if (keyOf(batch[at]!) !== cursor.k) break;
    found = true;
    if (at + 1 < batch.length) yield batch.slice(at + 1);
  }
  if (found) return;
  // The key is not where it was (or the source got shorter): look for it anywhere.
  for await (const batch of open()) {
    if (found) {
      yield batch;
      continue;
    }
    const at = batch.findIndex((item) => keyOf(item) === cursor.k);
    if (at < 0) continue;
    found = true;
    if (at + 1 < batch.length) yield batch.slice(at + 1);
  }
  if (!found) throw stale(cursor);
}

/** paginate for batches: pages of exactly `size` (the last one shorter), each with its cursor. */
export async function* paginateBatches<T>(batches: AsyncIterable<T[]>, size: number, keyOf: (item: T) => string, delivered = 0): AsyncGenerator<{ items: T[]; nextCursor: string | null }> {
  let buf: T[] = [];
  let count = delivered;
  for await (const batch of batches) {
    buf = buf.length === 0 ? batch : buf.concat(batch);
    // Keep at least one item back, so the page that ends the listing is the one with no cursor.
    while (buf.length > size) {
      const page = buf.slice(0, size);
      buf = buf.slice(size);
      count += page.length;
      yield { items: page, nextCursor: encodeCursor({ n: count, k: keyOf(page[page.length - 1]!) }) };
    }
  }
  yield { items: buf, nextCursor: null };
}

const ISO_MARK = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A target's modification time as a change mark (ISO 8601 UTC, milliseconds), or undefined when it is not a time. */
export function changeMarkOf(value: unknown): string | undefined {
  const d = value instanceof Date ? value : typeof value === 'string' && value.trim() !== '' ? new Date(value) : undefined;
  return d === undefined || Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The instant a `since` mark names; a permanent invalid_request error for anything a listing did not make. */
export function parseChangeMark(text: string): Date {
  const d = ISO_MARK.test(text) ? new Date(text) : undefined;
  if (d === undefined || Number.isNaN(d.getTime()) || d.toISOString() !== text) {
    throw new ConnectorError('permanent', 'invalid_request', `change mark '${text.slice(0, 40)}' is not an ISO 8601 UTC instant with milliseconds (as 2026-11-23T10:00:00.000Z)`);
  }
  return d;
}
