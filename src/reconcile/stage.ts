/**
 * Staging: each page a connector lists is written, as it comes, into the run's staging rows
 * (COPY on PostgreSQL), together with the run's cursor (one transaction), so a run killed at
 * any point resumes after its last written page and nothing is counted twice. The snapshot
 * hash is the md5 of the account as jsonb text (keys in jsonb's fixed order), computed here.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { AccountItem, EntitlementItem, EntitlementRef } from '../connectors/index.ts';
import { copyRows, type CopyValue } from '../store/copy.ts';
import type { Executor } from '../store/db.ts';

/** Entitlements in a fixed order, so the hash does not change when a target reorders them. */
export function sortedEntitlements(refs: readonly EntitlementRef[]): EntitlementRef[] {
  const seen = new Set<string>();
  const out: EntitlementRef[] = [];
  for (const r of refs) {
    const k = `${r.kind}\u0000${r.nativeValue}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ kind: r.kind, nativeValue: r.nativeValue });
  }
  return out.sort((a, b) => (a.kind === b.kind ? (a.nativeValue < b.nativeValue ? -1 : a.nativeValue > b.nativeValue ? 1 : 0) : a.kind < b.kind ? -1 : 1));
}

/** Plan values as JSON: dates as ISO text (what the accounts table stores). */
function jsonAttributes(a: AccountItem['attributes']): Record<string, unknown> {
  for (const k in a) {
    const v = a[k];
    if (v instanceof Date || (Array.isArray(v) && v.some((x) => x instanceof Date))) {
      return Object.fromEntries(Object.entries(a).map(([n, x]) => [n, Array.isArray(x) ? x.map((y) => (y instanceof Date ? y.toISOString() : y)) : x instanceof Date ? x.toISOString() : x]));
    }
  }
  return a;
}

/** A number as jsonb prints it: plain decimal digits, never an exponent. */
function jsonbNumber(n: number): string {
  const text = JSON.stringify(n);
  const e = text.search(/e/i);
  if (e < 0) return text;
  const sign = text.startsWith('-') ? '-' : '';
  const mantissa = text.slice(sign.length, e);
  const exp = Number(text.slice(e + 1));
  const point = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const at = (point < 0 ? mantissa.length : point) + exp;
  if (at <= 0) return `${sign}0.${'0'.repeat(-at)}${digits}`;
  if (at >= digits.length) return `${sign}${digits}${'0'.repeat(at - digits.length)}`;
  return `${sign}${digits.slice(0, at)}.${digits.slice(at)}`;
}

/** jsonb orders object keys by their length in UTF-8 bytes, then bytewise. */
function jsonbKeyOrder(a: string, b: string): number {
  const la = Buffer.byteLength(a);
  const lb = Buffer.byteLength(b);
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The same order for ASCII keys (UTF-16 units are then the UTF-8 bytes), without encoding them. */
const asciiKeyOrder = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * A JSON value as PostgreSQL prints it as jsonb (`value::jsonb::text`): keys in jsonb's order,
 * `", "` and `": "` between items, numbers without exponents. The snapshot hash is the md5 of
 * this text, so hashes computed here equal the ones earlier versions had the database compute.
 */
export function jsonbText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? jsonbNumber(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : jsonbText(v))).join(', ')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    keys.sort(keys.every(isAscii) ? asciiKeyOrder : jsonbKeyOrder);
    return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText((value as Record<string, unknown>)[k])}`).join(', ')}}`;
  }
  return 'null';
}

/** jsonbText of sorted entitlement references, whose two keys are always in this order. */
const entitlementsText = (refs: readonly EntitlementRef[]): string => `[${refs.map((r) => `{"kind": ${JSON.stringify(r.kind)}, "nativeValue": ${JSON.stringify(r.nativeValue)}}`).join(', ')}]`;

/** md5 of `jsonb_build_array(attributes, enabled, locked, entitlements)::text`, from the two values' jsonb text. */
const hashOfTexts = (attributes: string, enabled: boolean, locked: boolean, entitlements: string): string =>
  createHash('md5').update(`[${attributes}, ${enabled ? 'true' : 'false'}, ${locked ? 'true' : 'false'}, ${entitlements}]`).digest('hex');

/** The snapshot hash of a listed account: md5 of its attributes, flags and (sorted) entitlements as jsonb text. */
export function snapshotHash(attributes: Record<string, unknown>, enabled: boolean, locked: boolean, entitlements: readonly EntitlementRef[]): string {
  return hashOfTexts(jsonbText(attributes), enabled, locked, entitlementsText(entitlements));
}

/** The snapshot hash of a listed account, as staging computes it. */
export function accountHash(a: AccountItem): string {
  return hashOfTexts(jsonbText(jsonAttributes(a.attributes)), a.enabled, a.locked, entitlementsText(sortedEntitlements(a.entitlements)));
}

const STAGING_COLUMNS = ['run_id', 'page', 'native_identity', 'attributes', 'enabled', 'locked', 'entitlements', 'hash'] as const;

/**
 * Writes one page of listed accounts into the run's staging rows (COPY on PostgreSQL when `db`
 * is a session's transaction): each account with its snapshot hash, which the apply step
 * compares with the stored account's. An account listed twice on one page is written once.
 */
export async function stageAccounts(db: Executor, runId: string, page: number, items: readonly AccountItem[]): Promise<number> {
  if (items.length === 0) return 0;
  const seen = new Set<string>();
  const rows: CopyValue[][] = [];
  for (const a of items) {
    if (seen.has(a.nativeIdentity)) continue;
    seen.add(a.nativeIdentity);
    // The jsonb text is both what the hash is made of and what the jsonb columns are given.
    const attributes = jsonbText(jsonAttributes(a.attributes));
    const entitlements = entitlementsText(sortedEntitlements(a.entitlements));
    rows.push([runId, page, a.nativeIdentity, attributes, a.enabled, a.locked, entitlements, hashOfTexts(attributes, a.enabled, a.locked, entitlements)]);
  }
  return copyRows(db, 'reconciliation_staging', STAGING_COLUMNS, rows);
}

/** Whether the run has staged rows (a server crash empties the unlogged staging table). */
export async function hasStagedRows(db: Executor, runId: string): Promise<boolean> {
  const r = await db.selectFrom('reconciliation_staging').select('run_id').where('run_id', '=', runId).limit(1).executeTakeFirst();
  return r !== undefined;
}

/** Writes a page of the entitlements the application offers: new ones inserted, names and descriptions kept current. */
export async function upsertEntitlementPage(db: Executor, applicationId: string, items: readonly EntitlementItem[]): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map((e) => ({ k: e.kind, v: e.nativeValue, n: e.name, d: e.description ?? null }));
  await sql`
    insert into entitlements as t (application_id, kind, native_value, name, description)
    select ${applicationId}::uuid, x.k, x.v, x.n, x.d
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(k text, v text, n text, d text)
    on conflict (application_id, kind, native_value) do update
      set name = excluded.name, description = coalesce(excluded.description, t.description), updated_at = now()
      where (t.name, t.description) is distinct from (excluded.name, coalesce(excluded.description, t.description))`.execute(db);
}

export async function clearStaging(db: Executor, runId: string): Promise<void> {
  await db.deleteFrom('reconciliation_staging').where('run_id', '=', runId).execute();
}
