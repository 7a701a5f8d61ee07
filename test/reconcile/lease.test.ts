// One worker per run: while a worker holds a run (its lease), a second one cannot carry the
// same run out; once the lease has ended another takes it over and resumes it, and the
// first worker's next page is refused instead of being written twice.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { RunLeased, RunLeaseLost, type ReconciliationRun } from '../../src/reconcile/index.ts';
import type { TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { createReconTestApp, driven, makeApp } from './support.ts';

describe.each(testDbKinds())('a reconciliation run is held by one worker at a time on %s', (kind) => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await createReconTestApp(kind);
    dir = mkdtempSync(join(tmpdir(), 'steward-recon-lease-'));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a second worker is refused while the first holds the run; after the lease ends it takes over, and the first one’s next page is refused', async () => {
    const path = join(dir, 'accounts.csv');
    writeFileSync(path, 'id,userName\n' + Array.from({ length: 8 }, (_, i) => `a${i},user${i}\n`).join(''));
    const appId = await makeApp(t, { connectorKind: 'csv', settings: { path, keyColumn: 'id', pageSize: 2 }, secrets: {} });
    const { recon } = driven(t);
    const started = await recon.start(SYSTEM_ACTOR, appId);

    // Worker A writes its first page of accounts, then stalls (a long pause, a slow target).
    let paused!: () => void;
    const isPaused = new Promise<void>((r) => (paused = r));
    let resume!: () => void;
    const gate = new Promise<void>((r) => (resume = r));
    const a = recon.runNow(started.id, {
      onPage: async (run) => {
        if (run.phase === 'accounts' && run.progress.pages === 1) {
          paused();
          await gate;
        }
      },
    });
    const aEnded = a.then(
      (run) => ({ run, error: undefined }),
      (error: unknown) => ({ run: undefined, error }),
    );
    await isPaused;
    const staged = () => t.db.k.selectFrom('reconciliation_staging').select('native_identity').where('run_id', '=', started.id).execute();
    const held = await t.db.k.selectFrom('reconciliation_runs').select(['owner', 'lease_until', 'pages']).where('id', '=', started.id).executeTakeFirstOrThrow();
    expect(held.owner).not.toBeNull();
    expect(held.pages).toBe(1);

    // Worker B (a job handed out again) cannot carry the same run out while A's lease holds.
    const b = await recon.runNow(started.id).catch((e: unknown) => e);
    expect(b).toBeInstanceOf(RunLeased);
    expect(b).toMatchObject({ owner: held.owner });
    expect(await staged()).toHaveLength(2);
    expect((await recon.status(appId, started.id)).progress.pages).toBe(1);

    // A's lease ends (it has written nothing for longer than the lease): B takes the run over and finishes it.
    await sql`update reconciliation_runs set lease_until = now() - interval '1 second' where id = ${started.id}::uuid`.execute(t.db.k);
    const byB: ReconciliationRun = await recon.runNow(started.id);
    expect(byB).toMatchObject({ status: 'completed', progress: { accountsSeen: 8, pages: 4, new: 8 } });

    // A wakes up: the page it read meanwhile is refused, nothing of it is written.
    resume();
    const aResult = await aEnded;
    expect(aResult.error).toBeInstanceOf(RunLeaseLost);
    const after = await recon.status(appId, started.id);
    expect(after).toMatchObject({ status: 'completed', progress: { accountsSeen: 8, pages: 4, new: 8 } });
    const accounts = await t.db.k.selectFrom('accounts').select('native_identity').where('application_id', '=', appId).orderBy('native_identity').execute();
    expect(accounts.map((x) => x.native_identity)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']);
    expect(await staged()).toEqual([]);
  }, 120_000);

  it('a run given up on interruption is resumed at once by another worker', async () => {
    const path = join(dir, 'interrupted.csv');
    writeFileSync(path, 'id,userName\n' + Array.from({ length: 6 }, (_, i) => `b${i},user${i}\n`).join(''));
    const appId = await makeApp(t, { connectorKind: 'csv', settings: { path, keyColumn: 'id', pageSize: 2 }, secrets: {} });
    const { recon } = driven(t);
    const started = await recon.start(SYSTEM_ACTOR, appId);
    const stop = new AbortController();
    await expect(recon.runNow(started.id, { signal: stop.signal, onPage: (run) => (run.progress.pages === 1 ? stop.abort() : undefined) })).rejects.toThrow(/interrupted/);
    expect(await t.db.k.selectFrom('reconciliation_runs').select(['owner', 'lease_until']).where('id', '=', started.id).executeTakeFirstOrThrow()).toEqual({ owner: null, lease_until: null });
    expect(await recon.runNow(started.id)).toMatchObject({ status: 'completed', progress: { accountsSeen: 6, new: 6 } });
  }, 120_000);

  it('a run whose staged rows were lost (a database restart empties the unlogged table) reads its listing again', async () => {
    const path = join(dir, 'lost.csv');
    writeFileSync(path, 'id,userName\n' + Array.from({ length: 6 }, (_, i) => `c${i},user${i}\n`).join(''));
    const appId = await makeApp(t, { connectorKind: 'csv', settings: { path, keyColumn: 'id', pageSize: 2 }, secrets: {} });
    const { recon } = driven(t);
    const first = await recon.start(SYSTEM_ACTOR, appId);
    expect(await recon.runNow(first.id)).toMatchObject({ status: 'completed', progress: { new: 6 } });

    const started = await recon.start(SYSTEM_ACTOR, appId);
    const stop = new AbortController();
    await expect(recon.runNow(started.id, { signal: stop.signal, onPage: (run) => (run.progress.pages === 2 ? stop.abort() : undefined) })).rejects.toThrow(/interrupted/);
    await t.db.k.deleteFrom('reconciliation_staging').where('run_id', '=', started.id).execute();
    const resumed = await recon.runNow(started.id);
    // Without the check the four accounts of the lost pages would be taken for removed.
    expect(resumed).toMatchObject({ status: 'completed', heldReason: null, progress: { accountsSeen: 6, new: 0, changed: 0, removed: 0 } });
    expect(await t.db.k.selectFrom('accounts').select('id').where('application_id', '=', appId).where('removed_at', 'is not', null).execute()).toEqual([]);
  }, 120_000);
});
