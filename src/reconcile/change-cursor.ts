/**
 * The change cursor of an application: where its next incremental run starts reading. It is
 * the highest change mark (the target's modification time) a run saw, with the accounts seen
 * at that mark and their snapshot hashes. A delta read asks for marks at or after it (`ge`,
 * so a change in the same instant is never missed); an account listed again at the same mark
 * with the same snapshot was already seen and is not staged again, while one changed again
 * within that instant has another hash and is.
 */
import type { AccountItem } from '../connectors/index.ts';
import { fail, ok, type Result } from '../domain/result.ts';
import { accountHash } from './stage.ts';

export interface ChangeCursor {
  mark: string;
  /** nativeIdentity → snapshot hash of the accounts seen at `mark`; null when too many to keep (they are then staged again). */
  seen: Record<string, string> | null;
}

/** At most this many accounts at one mark are remembered; past it they are read and staged again (correct, slower). */
export const MAX_SEEN_AT_MARK = 1_000;

const MARK = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A stored cursor's text as a ChangeCursor, with an error naming the part that is wrong. */
export function parseChangeCursor(text: string): Result<ChangeCursor> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return fail({ code: 'reconciliation.invalid_cursor', field: 'changeCursor', message: 'is not JSON' });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail({ code: 'reconciliation.invalid_cursor', field: 'changeCursor', message: 'is not an object' });
  const { mark, seen } = v as { mark?: unknown; seen?: unknown };
  if (typeof mark !== 'string' || !MARK.test(mark) || Number.isNaN(new Date(mark).getTime())) {
    return fail({ code: 'reconciliation.invalid_cursor', field: 'changeCursor.mark', message: 'is not an ISO 8601 UTC instant with milliseconds' });
  }
  if (seen === null) return ok({ mark, seen: null });
  if (seen === undefined || typeof seen !== 'object' || Array.isArray(seen)) return fail({ code: 'reconciliation.invalid_cursor', field: 'changeCursor.seen', message: 'is neither an object nor null' });
  const entries = Object.entries(seen as Record<string, unknown>);
  if (entries.length > MAX_SEEN_AT_MARK) return fail({ code: 'reconciliation.invalid_cursor', field: 'changeCursor.seen', message: `has more than ${MAX_SEEN_AT_MARK} accounts` });
  for (const [k, h] of entries) {
    if (typeof h !== 'string' || !/^[0-9a-f]{32}$/.test(h)) return fail({ code: 'reconciliation.invalid_cursor', field: `changeCursor.seen.${k.slice(0, 40)}`, message: 'is not an md5 hash' });
  }
  return ok({ mark, seen: Object.fromEntries(entries) as Record<string, string> });
}

/** The cursor after a page: a higher mark replaces it, the same mark adds the page's accounts at it. */
export function advanceCursor(cursor: ChangeCursor | null, items: readonly AccountItem[]): ChangeCursor | null {
  let top = cursor?.mark;
  for (const a of items) if (a.changeMark !== undefined && (top === undefined || a.changeMark > top)) top = a.changeMark;
  if (top === undefined) return null;
  const kept = cursor !== null && cursor.mark === top ? cursor.seen : {};
  let seen: Record<string, string> | null = kept === null ? null : { ...kept };
  for (const a of items) {
    if (a.changeMark !== top || seen === null) continue;
    if (!(a.nativeIdentity in seen) && Object.keys(seen).length >= MAX_SEEN_AT_MARK) seen = null;
    else seen[a.nativeIdentity] = accountHash(a);
  }
  return { mark: top, seen };
}

/** The page without the accounts the cursor saw already, unchanged, at its mark. */
export function unseen(cursor: ChangeCursor, items: readonly AccountItem[]): AccountItem[] {
  const seen = cursor.seen;
  if (seen === null) return [...items];
  return items.filter((a) => !(a.changeMark === cursor.mark && seen[a.nativeIdentity] === accountHash(a)));
}
