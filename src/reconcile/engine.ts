/**
 * One run, carried out: entitlements aggregated, accounts listed page by page into staging
 * (each page committed with the run's cursor, so a run killed mid-way resumes after its last
 * page), then in one transaction the deltas, removals, correlation and remediations. Every
 * connector call goes through the application's concurrency limit.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { AccountItem, Connector, ConnectorLimiter, ConnectorRegistry, Page } from '../connectors/index.ts';
import { isConnectorError, maxConcurrencyOf, secretScrubber } from '../connectors/index.ts';
import { DEFAULT_ADOPTION, withRemediationDefaults, type AdoptionPolicy, type RemediationPolicy } from '../domain/policies.ts';
import type { AccountSchema } from '../domain/schema.ts';
import { getApplicationRow } from '../store/applications.ts';
import type { SecretBox } from '../store/crypto.ts';
import { withSession } from '../store/copy.ts';
import type { Db } from '../store/db.ts';
import type { ApplicationRow } from '../store/tables.ts';
import { advanceCursor, parseChangeCursor, unseen, type ChangeCursor } from './change-cursor.ts';
import { correlate, markOrphans, stateCounts } from './correlation.ts';
import { applyListed, compareListing, markRemoved } from './deltas.ts';
import { applyApproved, countByStatus, createRemediations, holdRemovals, holdRevokes, revokedAccounts, type ExecutePlan } from './remediation.ts';
import { claimRun, getRunRow, hasCompletedRun, lockOwnedRun, releaseRun, RunLeased, RunLeaseLost, toRun, updateOwnedRun, updateRun, type ReconciliationRun, type RunRow } from './runs.ts';
import { clearStaging, hasStagedRows, stageAccounts, upsertEntitlementPage } from './stage.ts';

export interface EngineDeps {
  db: Db;
  secrets: SecretBox;
  connectors: ConnectorRegistry;
  limiter: ConnectorLimiter;
  executePlan?: ExecutePlan | undefined;
  /** How long a worker's hold on a run lasts without a page written (default DEFAULT_LEASE_SECONDS). */
  leaseSeconds?: number | undefined;
}

export interface RunOptions {
  /** Aborting stops the run after the page being written; the run stays `running` and resumes where it stopped. */
  signal?: AbortSignal;
  /** Called (and awaited) after each page is committed: tests abort here to simulate a crash, or hold the run. */
  onPage?: (run: ReconciliationRun) => void | Promise<void>;
  /** Milliseconds spent per step of the run, summed into this record (the benchmark's breakdown). */
  timings?: Record<string, number>;
}

/** Runs `fn`, adding its wall time to `options.timings[name]` when timings are asked for. */
async function timed<T>(options: RunOptions, name: string, fn: () => Promise<T>): Promise<T> {
  const timings = options.timings;
  if (!timings) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = (timings[name] ?? 0) + performance.now() - t0;
  }
}

/** Thrown when a run was aborted by its signal: the run is left to be resumed. */
export class RunAborted extends Error {
  constructor() {
    super('the reconciliation run was interrupted; it resumes from its last page');
    this.name = 'RunAborted';
  }
}

function openConnector(deps: EngineDeps, app: ApplicationRow): { connector: Connector; scrub: (t: string) => string } {
  const secrets = Object.fromEntries(Object.entries(app.secrets).map(([k, v]) => [k, deps.secrets.open(v)]));
  const scrub = secretScrubber(Object.values(secrets));
  const kind = deps.connectors.get(app.connector_kind);
  if (kind === undefined) throw new PermanentRunError(`the connector kind '${app.connector_kind}' is not installed on this server`);
  try {
    return { connector: kind.create({ settings: app.settings, secrets }), scrub };
  } catch (e) {
    throw new PermanentRunError(scrub(`the ${kind.name} connector refused the settings: ${(e as Error).message}`));
  }
}

class PermanentRunError extends Error {}

/**
 * Whether the application's connector reads changes since a cursor (`listAccountsChangedSince`):
 * null when it does, otherwise why an incremental run of it reads everything.
 */
export function changeReadingRefusal(deps: EngineDeps, app: ApplicationRow): string | null {
  let opened: { connector: Connector } | undefined;
  try {
    opened = openConnector(deps, app);
  } catch (e) {
    return `the connector could not be made to ask (${(e as Error).message})`;
  }
  const reads = typeof opened.connector.listAccountsChangedSince === 'function';
  void opened.connector.close().catch(() => undefined);
  return reads ? null : `the ${app.connector_kind} connector cannot read changes since a cursor, so every account was read`;
}

/** The change cursor a cursor column holds; a permanent run error when it is not one this engine wrote. */
function changeCursorOf(text: string | null, column: string): ChangeCursor | null {
  if (text === null) return null;
  const r = parseChangeCursor(text);
  if (!r.ok) throw new PermanentRunError(`the run's ${column} is not a change cursor: ${r.errors.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  return r.value;
}

/** Pages of a listing, each fetched under the application's concurrency limit. */
async function* limited<T>(deps: EngineDeps, app: ApplicationRow, pages: AsyncIterable<Page<T>>): AsyncGenerator<Page<T>> {
  const it = pages[Symbol.asyncIterator]();
  const max = maxConcurrencyOf(app.settings);
  try {
    for (;;) {
      const r = await deps.limiter.run(app.id, () => it.next(), max);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

/** How long a worker's hold on a run lasts without a page written, unless the deps say otherwise. */
export const DEFAULT_LEASE_SECONDS = 300;

/** Who this execution is: a run is held by one execution at a time. */
const newOwner = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** One execution of a run: who holds it and for how long each renewal lasts. */
interface Holder {
  owner: string;
  leaseMs: number;
}

/**
 * Carries out (or resumes) one run to its end; returns it as it ended. The run is held by this
 * execution (a lease, renewed with each page) so no two workers carry it out at once: throws
 * RunLeased when another worker holds it; a worker that outlived its lease has its next write
 * refused (RunLeaseLost) once another has taken the run over.
 */
export async function executeRun(deps: EngineDeps, runId: string, options: RunOptions = {}): Promise<ReconciliationRun> {
  const { db } = deps;
  let run = await getRunRow(db.k, runId);
  if (!run) throw new Error(`no reconciliation run has id ${runId}`);
  if (isEnded(run)) return toRun(run);
  const holder: Holder = { owner: newOwner(), leaseMs: (deps.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000 };
  const claimed = await claimRun(db.k, runId, holder.owner, holder.leaseMs);
  if (!claimed) {
    const now = (await getRunRow(db.k, runId))!;
    if (isEnded(now)) return toRun(now);
    throw new RunLeased(runId, now.owner, now.lease_until);
  }
  run = claimed;
  if (run.status === 'stopping') return finishStopped(deps, run, holder);
  const app = await getApplicationRow(db.k, run.application_id);
  if (!app) throw new Error(`the application of run ${runId} is gone`);
  let scrub = (t: string) => t;
  try {
    run = await checkStaging(deps, run, holder);
    const opened = openConnector(deps, app);
    scrub = opened.scrub;
    const { connector } = opened;
    try {
      if (run.phase === 'entitlements') run = await readEntitlements(deps, app, connector, run, holder, options);
      if (run.phase === 'accounts' && run.status !== 'stopping') run = await readAccounts(deps, app, connector, run, holder, options);
    } finally {
      void connector.close().catch(() => undefined);
    }
    if (run.status === 'stopping') return finishStopped(deps, run, holder);
    if (run.phase === 'apply') await applyRun(deps, app, run, holder, options);
    return toRun((await getRunRow(db.k, runId))!);
  } catch (e) {
    // Taken over by another worker: nothing of this one's is written any more.
    if (e instanceof RunLeaseLost) throw e;
    if (e instanceof RunAborted) {
      await releaseRun(db.k, runId, holder.owner);
      throw e;
    }
    const message = scrub(e instanceof Error ? e.message : String(e));
    if (e instanceof PermanentRunError || (isConnectorError(e) && e.kind === 'permanent')) {
      await db.tx(async (tx) => {
        await updateOwnedRun(tx, runId, holder.owner, holder.leaseMs, { status: 'failed', last_error: message, finished_at: new Date() });
        await clearStaging(tx, runId);
      });
      return toRun((await getRunRow(db.k, runId))!);
    }
    // Retryable: the run stays `running` at its last page, given up so that the retried job resumes it.
    await updateOwnedRun(db.k, runId, holder.owner, holder.leaseMs, { last_error: message, owner: null, lease_until: null }).catch(() => undefined);
    throw e;
  }
}

const isEnded = (run: RunRow): boolean => run.status === 'completed' || run.status === 'failed' || run.status === 'stopped';

/**
 * Staging is an unlogged table: a server crash empties it. A run that had written pages and
 * finds none of them reads its listing again from the start instead of taking every account
 * it no longer sees for removed.
 */
async function checkStaging(deps: EngineDeps, run: RunRow, holder: Holder): Promise<RunRow> {
  if ((run.phase !== 'accounts' && run.phase !== 'apply') || run.accounts_seen === 0) return run;
  if (await hasStagedRows(deps.db.k, run.id)) return run;
  await updateOwnedRun(deps.db.k, run.id, holder.owner, holder.leaseMs, { phase: 'accounts', account_cursor: null, change_cursor: run.mode === 'incremental' ? run.change_since : null, pages: 0, accounts_seen: 0, last_error: 'the staged listing was lost (a database restart); the accounts are read again' });
  return (await getRunRow(deps.db.k, run.id))!;
}

const pageOptions = (run: RunRow) => (run.page_size === null ? {} : { pageSize: run.page_size });

function checkAbort(options: RunOptions): void {
  if (options.signal?.aborted) throw new RunAborted();
}

async function readEntitlements(deps: EngineDeps, app: ApplicationRow, connector: Connector, run: RunRow, holder: Holder, options: RunOptions): Promise<RunRow> {
  let current = run;
  for await (const page of limited(deps, app, connector.listEntitlements(current.entitlement_cursor, pageOptions(current)))) {
    const status = await timed(options, 'entitlements.write', () => deps.db.tx(async (tx) => {
      await upsertEntitlementPage(tx, app.id, page.items);
      return updateOwnedRun(tx, run.id, holder.owner, holder.leaseMs, { entitlement_cursor: page.nextCursor, entitlements_seen: current.entitlements_seen + page.items.length, phase: page.nextCursor === null ? 'accounts' : 'entitlements' });
    }));
    current = (await getRunRow(deps.db.k, run.id))!;
    await options.onPage?.(toRun(current));
    if (status === 'stopping') return current;
    checkAbort(options);
  }
  if (current.phase === 'entitlements') {
    await updateOwnedRun(deps.db.k, run.id, holder.owner, holder.leaseMs, { phase: 'accounts' });
    current = (await getRunRow(deps.db.k, run.id))!;
  }
  return current;
}

/** The run's listing: every account, or (an incremental run) the accounts changed since its cursor's mark. */
function accountListing(connector: Connector, run: RunRow, since: ChangeCursor | null): AsyncIterable<Page<AccountItem>> {
  if (run.mode !== 'incremental') return connector.listAccounts(run.account_cursor, pageOptions(run));
  if (since === null) throw new PermanentRunError('the incremental run has no change cursor to read from');
  if (connector.listAccountsChangedSince === undefined) throw new PermanentRunError(`the ${connector.kind} connector cannot read changes since a cursor; start a full run`);
  return connector.listAccountsChangedSince(since.mark, run.account_cursor, pageOptions(run));
}

async function readAccounts(deps: EngineDeps, app: ApplicationRow, connector: Connector, run: RunRow, holder: Holder, options: RunOptions): Promise<RunRow> {
  const since = run.mode === 'incremental' ? changeCursorOf(run.change_since, 'change_since') : null;
  // Each page is COPYed into staging on one dedicated connection, in the transaction that moves the cursor.
  return withSession(deps.db, async (session) => {
    let current = run;
    let cursor = changeCursorOf(current.change_cursor, 'change_cursor');
    const it = limited(deps, app, accountListing(connector, current, since))[Symbol.asyncIterator]();
    // The next page is read from the target while this one is written (two cores, two jobs).
    let next = it.next();
    try {
      for (;;) {
        const r = await timed(options, 'accounts.read (waiting on the connector)', () => next);
        if (r.done) break;
        const page = r.value;
        next = it.next();
        // A delta read asks for marks at or after the cursor's: the accounts it saw there, unchanged, are not staged again.
        const items = since === null ? page.items : unseen(since, page.items);
        cursor = advanceCursor(cursor, page.items);
        const after = {
          pages: current.pages + 1,
          accounts_seen: current.accounts_seen + items.length,
          account_cursor: page.nextCursor,
          phase: page.nextCursor === null ? 'apply' : 'accounts',
          change_cursor: cursor === null ? null : JSON.stringify(cursor),
        };
        const status = await timed(options, 'accounts.write (staging page + cursor)', () =>
          session.tx(async (tx) => {
            // No wait for the WAL flush: staging is unlogged, so a crash that loses this commit
            // empties staging too, and the run then reads its listing again (checkStaging).
            await sql`set local synchronous_commit = off`.execute(tx);
            await stageAccounts(tx, run.id, current.pages, items);
            return updateOwnedRun(tx, run.id, holder.owner, holder.leaseMs, after);
          }),
        );
        current = { ...current, ...after, status };
        await options.onPage?.(toRun(current));
        if (status === 'stopping') return current;
        checkAbort(options);
      }
    } finally {
      // A page read ahead and not written is read again by a resumed run; its failure is not this run's.
      next.catch(() => undefined);
      await it.return?.(undefined).catch(() => undefined);
    }
    if (current.phase === 'accounts') {
      await updateOwnedRun(session.k, run.id, holder.owner, holder.leaseMs, { phase: 'apply' });
      current = { ...current, phase: 'apply' };
    }
    return current;
  });
}

async function finishStopped(deps: EngineDeps, run: RunRow, holder: Holder): Promise<ReconciliationRun> {
  await deps.db.tx(async (tx) => {
    await updateOwnedRun(tx, run.id, holder.owner, holder.leaseMs, { status: 'stopped', finished_at: new Date() });
    await clearStaging(tx, run.id);
  });
  return toRun((await getRunRow(deps.db.k, run.id))!);
}

const share = (n: number, of: number): string => `${((n / Math.max(1, of)) * 100).toFixed(1)}%`;

/** The set-based end of a run, in one transaction: a crash before its commit leaves the staged listing to apply again. */
async function applyRun(deps: EngineDeps, app: ApplicationRow, run: RunRow, holder: Holder, options: RunOptions): Promise<void> {
  const t = <T>(name: string, fn: () => Promise<T>) => timed(options, `apply.${name}`, fn);
  const adoption = (app.adoption_policy as AdoptionPolicy | null) ?? DEFAULT_ADOPTION;
  const policy: RemediationPolicy = withRemediationDefaults(app.remediation_policy as Partial<RemediationPolicy> | null ?? undefined);
  await t('transaction (total)', () => deps.db.tx(async (tx) => {
    // Held to the end of the transaction: a worker taking the run over waits, then finds it completed.
    await lockOwnedRun(tx, run.id, holder.owner);
    const baseline = !(await hasCompletedRun(tx, app.id, run.id));
    const before = await t('compare the listing', () => compareListing(tx, app.id, run.id));
    // A delta read lists only what changed: it cannot see a deletion, so it marks nothing removed.
    const incremental = run.mode === 'incremental';
    // A read that suddenly returns far fewer accounts (a failed or truncated listing) must not look like mass deletion.
    const holdRemoval = !incremental && before.missing > 0 && before.missing > run.safety_threshold * before.live;
    const reasons: string[] = [];
    const listed = await t('new and changed accounts', () => applyListed(tx, app.id, run.id, baseline));
    let removed = 0;
    if (holdRemoval) {
      await t('hold removals', () => holdRemovals(tx, run.id, policy));
      reasons.push(`${before.missing} of ${before.live} accounts (${share(before.missing, before.live)}) were not listed, more than the safety threshold of ${share(run.safety_threshold, 1)}; they are marked removed only when an administrator confirms`);
    } else if (!incremental) removed = await t('mark removed', () => markRemoved(tx, run.id, baseline));
    // Many new rows leave the planner's statistics behind, and the correlation join would be
    // planned as a nested loop (minutes at 20,000 accounts instead of a second's hash join).
    if (listed.new >= 1_000) await t('analyze', () => sql`analyze accounts`.execute(tx));
    await t('orphans', () => markOrphans(tx, app.id));
    await t('correlate', () => correlate(tx, app.id, adoption));
    if (!baseline) {
      await t('create remediations', () => createRemediations(tx, app.id, run.id, policy));
      const counts = await stateCounts(tx, app.id);
      const total = counts.Matched + counts.Unmatched + counts.Unmanaged + counts.Orphan;
      const revoking = await revokedAccounts(tx, run.id);
      if (revoking > 0 && revoking > run.safety_threshold * total) {
        await holdRevokes(tx, run.id);
        reasons.push(`revoking would change or delete ${revoking} of ${total} accounts (${share(revoking, total)}), more than the safety threshold of ${share(run.safety_threshold, 1)}`);
      }
      await t('apply approved', () => applyApproved(tx, { applicationId: app.id, applicationName: app.name, schema: app.account_schema as AccountSchema | null, executePlan: deps.executePlan, createdBy: `reconciliation:${run.id}` }, { runId: run.id }));
    }
    const counts = await stateCounts(tx, app.id);
    const rem = await countByStatus(tx, run.id);
    await t('clear staging', () => clearStaging(tx, run.id));
    await updateRun(tx, run.id, {
      status: 'completed',
      phase: 'done',
      baseline,
      accounts_new: listed.new,
      accounts_changed: listed.changed,
      accounts_removed: removed,
      accounts_matched: counts.Matched,
      accounts_unmatched: counts.Unmatched,
      accounts_orphan: counts.Orphan,
      remediations_pending: rem.pending,
      remediations_held: rem.held,
      remediations_applied: rem.applied,
      held_reason: reasons.length > 0 ? reasons.join('; ') : null,
      last_error: null,
      finished_at: new Date(),
    });
  }));
}
