/**
 * Reconciliation settings per application: a cron schedule (five fields, UTC), the mode a
 * scheduled run asks for, the safety threshold and the listing page size. Schedules are
 * pg-boss cron schedules keyed by application; each firing starts a run as an API call would.
 */
import { fail, ok, type Problem, type Result } from '../domain/result.ts';

export const SCHEDULE_QUEUE = 'recon.schedule';
export const DEFAULT_SAFETY_THRESHOLD = 0.05;

export interface ReconciliationSettings {
  applicationId: string;
  /** A five-field cron expression (minute hour day-of-month month day-of-week), UTC; null: no schedule. */
  schedule: string | null;
  scheduleMode: 'full' | 'incremental';
  /** The share of the application's accounts (0 < t ≤ 1) a run may revoke, delete or find gone before it holds its remediations. */
  safetyThreshold: number;
  /** Accounts per listing page; null: the connector's own page size. */
  pageSize: number | null;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

function numberIn(text: string, f: (typeof FIELDS)[number]): number | null {
  const names: readonly string[] | undefined = 'names' in f ? f.names : undefined;
  const byName = names?.indexOf(text.toLowerCase()) ?? -1;
  if (byName >= 0) return byName + (f.name === 'month' ? 1 : 0);
  if (!/^\d{1,2}$/.test(text)) return null;
  const n = Number(text);
  return n >= f.min && n <= f.max ? n : null;
}

/** Checks a five-field cron expression; the problem names the field that is wrong. */
export function parseCron(text: string, field = 'schedule'): Result<string> {
  const bad = (message: string) => fail<Problem>({ code: 'reconciliation.invalid', field, message });
  if (text.length > 200) return bad('is longer than 200 characters');
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5) return bad(`'${text.slice(0, 60)}' has ${parts.length} fields; a cron expression has five: minute hour day-of-month month day-of-week (e.g. '0 2 * * *', daily at 02:00 UTC)`);
  for (let i = 0; i < 5; i++) {
    const f = FIELDS[i]!;
    for (const item of parts[i]!.split(',')) {
      const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d{1,2}))?$/.exec(item);
      if (!m) return bad(`the ${f.name} field '${parts[i]}' is not a cron list of values, ranges (a-b) and steps (*/n)`);
      const [, range, step] = m;
      if (step !== undefined && Number(step) < 1) return bad(`the ${f.name} field '${parts[i]}' has a step of 0`);
      if (range === '*') continue;
      const [lo, hi] = range!.split('-');
      const a = numberIn(lo!, f);
      const b = hi === undefined ? a : numberIn(hi, f);
      if (a === null || b === null) return bad(`the ${f.name} field '${parts[i]}' has a value outside ${f.min}–${f.max}`);
      if (b < a) return bad(`the ${f.name} field '${parts[i]}' has a reversed range`);
    }
  }
  return ok(parts.join(' '));
}

/** Checks settings input; every problem names its field. */
export function validateSettings(input: { schedule?: string | null; scheduleMode?: string; safetyThreshold?: number; pageSize?: number | null }): Result<Partial<Omit<ReconciliationSettings, 'applicationId'>>> {
  const problems: Problem[] = [];
  const out: Partial<Omit<ReconciliationSettings, 'applicationId'>> = {};
  if (input.schedule !== undefined) {
    if (input.schedule === null || input.schedule.trim() === '') out.schedule = null;
    else {
      const c = parseCron(input.schedule);
      if (c.ok) out.schedule = c.value;
      else problems.push(...c.errors);
    }
  }
  if (input.scheduleMode !== undefined) {
    if (input.scheduleMode === 'full' || input.scheduleMode === 'incremental') out.scheduleMode = input.scheduleMode;
    else problems.push({ code: 'reconciliation.invalid', field: 'scheduleMode', message: `'${input.scheduleMode}' is not full or incremental` });
  }
  if (input.safetyThreshold !== undefined) {
    const t = input.safetyThreshold;
    if (typeof t === 'number' && Number.isFinite(t) && t > 0 && t <= 1) out.safetyThreshold = t;
    else problems.push({ code: 'reconciliation.invalid', field: 'safetyThreshold', message: `${String(t)} is not a share between 0 (exclusive) and 1, e.g. 0.05 for 5%` });
  }
  if (input.pageSize === null) out.pageSize = null;
  else if (input.pageSize !== undefined) {
    const p = input.pageSize;
    if (Number.isSafeInteger(p) && p >= 1 && p <= 100_000) out.pageSize = p;
    else problems.push({ code: 'reconciliation.invalid', field: 'pageSize', message: `${String(p)} is not a whole number from 1 to 100000` });
  }
  return problems.length > 0 ? fail(...problems) : ok(out);
}
