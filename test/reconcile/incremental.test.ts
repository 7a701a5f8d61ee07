/**
 * Incremental (delta) runs: after a full run, an account changed and one added on the target
 * out of band are all an incremental run reads and stages; their delta and the new Unmatched
 * account are recorded; an account deleted on the target is not marked removed by it, but is
 * by the next full run. On the SCIM test server (`meta.lastModified ge`), on slapd
 * (`modifyTimestamp>=`), and a csv application, whose incremental request runs full and says so.
 * An incremental run killed mid-way resumes and leaves the same cursor as an uninterrupted one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { RunAborted } from '../../src/reconcile/index.ts';
import type { TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';
import { PEOPLE, slapdUnavailableReason, startSlapd, type Slapd } from '../support/slapd.ts';
import { createReconTestApp, driven, makeApp } from './support.ts';

const skipLdap = slapdUnavailableReason();

async function settle(t: TestApp, appId: string): Promise<void> {
  // Removals of one account in four must not be held by the default 5% threshold.
  const r = await t.call(t.admin, 'PUT', `/appaccess/v1.0/applications/${appId}/reconciliationSettings`, { safetyThreshold: 1 });
  expect(r.statusCode, r.body).toBe(200);
}

const accountsOf = (t: TestApp, appId: string) => t.db.k.selectFrom('accounts').selectAll().where('application_id', '=', appId).execute();

async function delta(t: TestApp, appId: string, runId: string, accountId: string) {
  const r = await t.call(t.admin, 'GET', `/appaccess/v1.0/applications/${appId}/reconciliationDelta/${runId}/${accountId}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ kind: string; attributes: Record<string, { before?: unknown; after?: unknown }> }>();
}

describe.each(testDbKinds())('incremental reconciliation runs, %s', (kind) => {
  let t: TestApp;
  let scim: ScimServer;
  let dir: string;
  beforeAll(async () => {
    t = await createReconTestApp(kind);
    scim = await startScimServer();
    dir = mkdtempSync(join(tmpdir(), 'steward-incr-'));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await scim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('SCIM: an incremental run reads only what changed since the last run (meta.lastModified ge), records it, and leaves deletions to the next full run', async () => {
    const appId = await makeApp(t, { connectorKind: 'scim', settings: { baseUrl: scim.url, pageSize: 2, retries: 0 }, secrets: { token: scim.token } });
    await settle(t, appId);
    const d = driven(t);
    const ids = scim.seedUsers(3, { prefix: 'inc' });

    // The first run has no cursor to read from: it runs full and says why.
    const first = await d.run(appId, 'incremental');
    expect(first).toMatchObject({ status: 'completed', requestedMode: 'incremental', mode: 'full', baseline: true, progress: { accountsSeen: 3, new: 3 } });
    expect(first.modeReason).toMatch(/no completed run/);

    // Out of band: one changed, one added, one deleted.
    scim.touchUser(ids[0]!, { displayName: 'Changed By Hand' });
    const [added] = scim.seedUsers(1, { prefix: 'added' });
    const del = await fetch(`${scim.url}/Users/${ids[2]}`, { method: 'DELETE', headers: { authorization: `Bearer ${scim.token}` } });
    expect(del.status).toBe(204);
    scim.clearRequests();

    const second = await d.run(appId, 'incremental');
    expect(second).toMatchObject({ status: 'completed', requestedMode: 'incremental', mode: 'incremental', modeReason: null, baseline: false });
    // Only the changed and the added account were staged; the unchanged ones are not, the deleted one is not removed.
    expect(second.progress).toMatchObject({ accountsSeen: 2, new: 1, changed: 1, removed: 0 });
    expect(scim.requests().some((r) => r.method === 'GET' && decodeURIComponent(r.path.replaceAll('+', ' ')).includes('meta.lastModified ge "'))).toBe(true);

    const accounts = await accountsOf(t, appId);
    const byId = new Map(accounts.map((a) => [(a.attributes as { userName?: string }).userName, a]));
    expect(accounts.filter((a) => a.removed_at !== null)).toEqual([]);
    const changed = byId.get('inc0')!;
    expect(await delta(t, appId, second.id, changed.id)).toMatchObject({ kind: 'changed', attributes: { displayName: { before: 'Given Family0', after: 'Changed By Hand' } } });
    const fresh = byId.get(scim.users().find((u) => u.id === added)!.userName)!;
    expect(fresh.state).toBe('Unmatched');
    expect(await delta(t, appId, second.id, fresh.id)).toMatchObject({ kind: 'appeared' });
    expect(byId.get('inc2')!.removed_at).toBeNull();

    // Nothing changed since: the next incremental run stages nothing (the accounts at the cursor's mark were seen).
    const third = await d.run(appId, 'incremental');
    expect(third).toMatchObject({ status: 'completed', mode: 'incremental', progress: { accountsSeen: 0, new: 0, changed: 0, removed: 0 } });

    // The next full run sees the deletion.
    const full = await d.run(appId, 'full');
    expect(full).toMatchObject({ status: 'completed', mode: 'full', modeReason: null, progress: { accountsSeen: 3, removed: 1 } });
    expect((await accountsOf(t, appId)).filter((a) => a.removed_at !== null).map((a) => (a.attributes as { userName?: string }).userName)).toEqual(['inc2']);
  });

  it('SCIM: an incremental run killed mid-way resumes after its last page and leaves the same cursor as an uninterrupted one', async () => {
    const s = await startScimServer();
    try {
      const ids = s.seedUsers(6, { prefix: 'res' });
      const d = driven(t);
      const app = () => makeApp(t, { connectorKind: 'scim', settings: { baseUrl: s.url, pageSize: 2, retries: 0 }, secrets: { token: s.token } });
      const whole = await app();
      const killed = await app();
      await d.run(whole);
      await d.run(killed);
      for (const i of [0, 2, 4]) s.touchUser(ids[i]!, { displayName: `Renamed ${i}` });
      s.seedUsers(2, { prefix: 'resnew' });

      const uninterrupted = await d.run(whole, 'incremental');
      expect(uninterrupted).toMatchObject({ status: 'completed', mode: 'incremental', progress: { accountsSeen: 5, new: 2, changed: 3, removed: 0 } });
      const started = await d.recon.start(SYSTEM_ACTOR, killed, { mode: 'incremental' });
      const controller = new AbortController();
      await expect(d.recon.runNow(started.id, { signal: controller.signal, onPage: (r) => (r.phase === 'accounts' && r.progress.pages >= 1 ? controller.abort() : undefined) })).rejects.toBeInstanceOf(RunAborted);
      // The first page is res0 (renamed) and res1 (at the cursor's mark, seen and unchanged: not staged).
      expect(await d.recon.status(killed, started.id)).toMatchObject({ status: 'running', phase: 'accounts', progress: { pages: 1, accountsSeen: 1 } });
      const resumed = await d.recon.runNow(started.id);
      expect(resumed).toMatchObject({ status: 'completed', mode: 'incremental', attempts: 2 });
      expect(resumed.progress).toEqual(uninterrupted.progress);
      const cursorOf = async (runId: string) => (await t.db.k.selectFrom('reconciliation_runs').select('change_cursor').where('id', '=', runId).executeTakeFirstOrThrow()).change_cursor;
      expect(JSON.parse((await cursorOf(resumed.id))!)).toEqual(JSON.parse((await cursorOf(uninterrupted.id))!));
      // Both left a cursor past every change: nothing is staged again.
      expect((await d.run(killed, 'incremental')).progress.accountsSeen).toBe(0);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('csv: an incremental request reads everything (the kind cannot read changes) and says so', async () => {
    const path = join(dir, 'accounts.csv');
    writeFileSync(path, 'id,name\n1,Ann\n2,Bob\n3,Cy\n');
    const appId = await makeApp(t, { connectorKind: 'csv', settings: { path, keyColumn: 'id', pageSize: 2 }, secrets: {} });
    await settle(t, appId);
    const d = driven(t);
    expect(await d.run(appId)).toMatchObject({ status: 'completed', mode: 'full', modeReason: null, progress: { accountsSeen: 3 } });
    writeFileSync(path, 'id,name\n1,Ann\n2,Bobby\n');
    const run = await d.run(appId, 'incremental');
    expect(run).toMatchObject({ status: 'completed', requestedMode: 'incremental', mode: 'full', progress: { accountsSeen: 2, changed: 1, removed: 1 } });
    expect(run.modeReason).toMatch(/csv connector cannot read changes since a cursor/);
    const read = await t.call(t.admin, 'GET', `/appaccess/v1.0/applications/${appId}/reconciliation/${run.id}`);
    expect(read.json()).toMatchObject({ requestedMode: 'incremental', mode: 'full', modeReason: run.modeReason });
  });
});

describe.skipIf(skipLdap !== null).each(testDbKinds())(`incremental reconciliation runs on slapd, %s${skipLdap ? ` (skipped: ${skipLdap})` : ''}`, (kind) => {
  let t: TestApp;
  let slapd: Slapd;
  let admin: Client;
  beforeAll(async () => {
    t = await createReconTestApp(kind);
    slapd = await startSlapd();
    admin = await slapd.admin();
  }, 120_000);
  afterAll(async () => {
    await admin?.unbind();
    await slapd?.stop();
    await t?.close();
  });

  const person = (uid: string) => admin.add(`uid=${uid},${PEOPLE}`, { objectClass: ['inetOrgPerson'], uid, cn: `Person ${uid}`, sn: uid });

  it('an incremental run reads only the entries modified since the last run (modifyTimestamp>=), records them, and leaves deletions to the next full run', async () => {
    for (const uid of ['ina', 'inb', 'inc']) await person(uid);
    const appId = await makeApp(t, {
      connectorKind: 'ldap',
      settings: { url: slapd.url, bindDn: slapd.rootDn, baseDn: PEOPLE, pageSize: 2, timeoutMs: 5000 },
      secrets: { bindPassword: slapd.rootPassword },
    });
    await settle(t, appId);
    const d = driven(t);
    expect(await d.run(appId)).toMatchObject({ status: 'completed', mode: 'full', progress: { accountsSeen: 3, new: 3 } });

    // Out of band, likely within the same second as the entries' creation: modifyTimestamp has whole seconds.
    await admin.modify(`uid=ina,${PEOPLE}`, [new Change({ operation: 'replace', modification: new Attribute({ type: 'cn', values: ['Renamed By Hand'] }) })]);
    await person('ind');
    await admin.del(`uid=inc,${PEOPLE}`);

    const second = await d.run(appId, 'incremental');
    expect(second).toMatchObject({ status: 'completed', requestedMode: 'incremental', mode: 'incremental', modeReason: null });
    expect(second.progress).toMatchObject({ accountsSeen: 2, new: 1, changed: 1, removed: 0 });
    const accounts = await accountsOf(t, appId);
    const byDn = new Map(accounts.map((a) => [a.native_identity, a]));
    expect(accounts.filter((a) => a.removed_at !== null)).toEqual([]);
    const ina = byDn.get(`uid=ina,${PEOPLE}`)!;
    expect(await delta(t, appId, second.id, ina.id)).toMatchObject({ kind: 'changed', attributes: { cn: { after: ['Renamed By Hand'] } } });
    const ind = byDn.get(`uid=ind,${PEOPLE}`)!;
    expect(ind.state).toBe('Unmatched');
    expect(await delta(t, appId, second.id, ind.id)).toMatchObject({ kind: 'appeared' });

    const full = await d.run(appId, 'full');
    expect(full).toMatchObject({ status: 'completed', mode: 'full', progress: { accountsSeen: 3, removed: 1 } });
    expect((await accountsOf(t, appId)).filter((a) => a.removed_at !== null).map((a) => a.native_identity)).toEqual([`uid=inc,${PEOPLE}`]);
  });
});
