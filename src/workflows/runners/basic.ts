/**
 * `none` (nothing to do) and `sleep` (a delay between scripts, so that a target's
 * asynchronous work can finish). A sleep is a scheduled job, never a timer in memory: the
 * runner answers `later` with the time to wake, the executor re-enqueues the script for
 * then, and a restart in between loses nothing. The wake-up time is kept in the script's
 * output, so a script run early (a stray job, a retry) sleeps on to the same moment.
 */
import type { Problem } from '../../domain/result.ts';
import { badMetadata, checkFields, optNumber, optText } from './metadata.ts';
import type { ScriptRunner } from './types.ts';

/** The longest sleep: a year. Anything longer is a mistake, not a delay. */
export const MAX_SLEEP_SECONDS = 366 * 24 * 3600;

export const noneRunner: ScriptRunner = {
  handles: (t) => t.family === 'fixed' && t.type === 'none',
  // A `note` says why there is nothing to do (a derived chain names the capability the connector lacks).
  validate: (_t, metadata, field) => checkFields(metadata ?? {}, field, { note: { kind: 'string' } }),
  run: () => Promise.resolve({ status: 'skipped' }),
};

export const sleepRunner: ScriptRunner = {
  handles: (t) => t.family === 'fixed' && t.type === 'sleep',
  validate(_t, metadata, field) {
    const problems: Problem[] = checkFields(metadata, field, { seconds: { kind: 'id' }, until: { kind: 'string' } });
    if (problems.length > 0) return problems;
    const hasSeconds = metadata.seconds !== undefined && metadata.seconds !== null;
    const hasUntil = metadata.until !== undefined && metadata.until !== null;
    if (hasSeconds === hasUntil) return [{ code: 'metadata.required', field: `${field}.seconds`, message: 'give either seconds (a delay) or until (a date and time), not both and not neither' }];
    const s = metadata.seconds;
    if (typeof s === 'number' && (!(s > 0) || s > MAX_SLEEP_SECONDS)) problems.push({ code: 'metadata.invalid', field: `${field}.seconds`, message: `must be more than 0 and at most ${MAX_SLEEP_SECONDS} (a year)` });
    const u = metadata.until;
    if (typeof u === 'string' && !u.includes('{{') && Number.isNaN(Date.parse(u))) problems.push({ code: 'metadata.invalid', field: `${field}.until`, message: 'must be an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z' });
    return problems;
  },
  async run(ctx, deps) {
    const now = ctx.now();
    const row = await deps.db.k.selectFrom('action_flow_scripts').select(['output']).where('id', '=', ctx.script.id).executeTakeFirst();
    const kept = (row?.output as { sleepUntil?: unknown } | null | undefined)?.sleepUntil;
    let until: Date;
    if (typeof kept === 'string' && !Number.isNaN(Date.parse(kept))) until = new Date(kept);
    else {
      const seconds = optNumber(ctx.script.metadata, 'seconds');
      const at = optText(ctx.script.metadata, 'until');
      if (seconds !== undefined) {
        if (seconds > MAX_SLEEP_SECONDS) throw badMetadata('seconds', `must be at most ${MAX_SLEEP_SECONDS}`);
        until = new Date(now.getTime() + seconds * 1000);
      } else if (at !== undefined) {
        if (Number.isNaN(Date.parse(at))) throw badMetadata('until', `'${at}' is not an ISO 8601 date and time`);
        until = new Date(at);
      } else throw badMetadata('seconds', 'give seconds or until');
    }
    if (until.getTime() <= now.getTime()) return { status: 'succeeded', output: { sleptUntil: until.toISOString() } };
    return { status: 'later', at: until, output: { sleepUntil: until.toISOString() } };
  },
};
