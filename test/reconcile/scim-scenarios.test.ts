/**
 * Reconciliation scenarios on the SCIM test server: an account made by hand in the target
 * appears Unmatched and is adopted; an account whose identity was deleted becomes Orphan;
 * a group added out of band is revoked under "revoke" and queued under "Let me decide"; a
 * run killed mid-way resumes and ends as an uninterrupted one; a truncated read is held.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scimKind } from '../../src/connectors/index.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { RunAborted, type ReconciliationRun } from '../../src/reconcile/index.ts';
import type { TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { startScimServer, type ScimServer } from '../support/scim-server.ts';
import { createReconTestApp, driven, identityNamed, makeApp } from './support.ts';

const byUserName = { match: [{ identityAttribute: 'userName', accountAttribute: 'userName' }] };

describe.each(testDbKinds())('reconciliation on the SCIM test server, %s', (kind) => {
  let t: TestApp;
  let scim: ScimServer;
  beforeAll(async () => {
    t = await createReconTestApp(kind);
    scim = await startScimServer();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await scim?.close();
  });

  /** A fresh target prefix so the scenarios do not see each other's users: a new server per scenario. */
  async function target(): Promise<ScimServer> {
    return startScimServer();
  }
  const scimApp = (s: ScimServer, extra: Record<string, unknown> = {}) =>
    makeApp(t, { connectorKind: 'scim', settings: { baseUrl: s.url, pageSize: 2, retries: 0 }, secrets: { token: s.token }, adoptionPolicy: byUserName, ...extra });

  async function startAndWait(appId: string): Promise<ReconciliationRun> {
    const res = await t.call(t.admin, 'POST', `/appaccess/v1.0/applications/${appId}/reconciliation`, {});
    expect(res.statusCode, res.body).toBe(202);
    const run = res.json<ReconciliationRun>();
    await t.services.reconciliation.idle();
    const done = await t.call(t.admin, 'GET', `/appaccess/v1.0/applications/${appId}/reconciliation/${run.id}`);
    expect(done.statusCode, done.body).toBe(200);
    return done.json<ReconciliationRun>();
  }
  const accountOf = (appId: string, nativeIdentity: string) => t.db.k.selectFrom('accounts').selectAll().where('application_id', '=', appId).where('native_identity', '=', nativeIdentity).executeTakeFirstOrThrow();

  it('an account made by hand in the target appears as Unmatched, with its delta, and is then adopted (audited)', async () => {
    const s = await target();
    try {
      const ids = s.seedUsers(3, { prefix: 'ada' });
      await identityNamed(t.db, 'ada0');
      await identityNamed(t.db, 'ada1');
      await identityNamed(t.db, 'ada2');
      const appId = await scimApp(s);
      const first = await startAndWait(appId);
      expect(first).toMatchObject({ status: 'completed', baseline: true, progress: { accountsSeen: 3, new: 3, matched: 3, unmatched: 0 } });

      const [byHand] = s.seedUsers(1, { prefix: 'byhand' });
      const second = await startAndWait(appId);
      expect(second).toMatchObject({ status: 'completed', baseline: false, progress: { accountsSeen: 4, new: 1, changed: 0, removed: 0, matched: 3, unmatched: 1 } });
      const acc = await accountOf(appId, byHand!);
      expect(acc.state).toBe('Unmatched');
      const delta = await t.call(t.admin, 'GET', `/appaccess/v1.0/applications/${appId}/reconciliationDelta/${second.id}/${acc.id}`);
      expect(delta.statusCode, delta.body).toBe(200);
      expect(delta.json()).toMatchObject({ kind: 'appeared', attributes: { userName: { after: 'byhand3' } } });
      expect(delta.json().attributes.userName.before).toBeUndefined();
      // Unchanged accounts have no delta.
      const unchanged = await accountOf(appId, ids[0]!);
      expect((await t.call(t.admin, 'GET', `/appaccess/v1.0/applications/${appId}/reconciliationDelta/${second.id}/${unchanged.id}`)).statusCode).toBe(404);
      // Appearing out of band is in the "Let me decide" queue (the default policy).
      const queue = await t.call(t.admin, 'GET', `/v1.0/remediations?status=pending&applicationId=${appId}`);
      expect(queue.json().items.map((r: { change: string; accountId: string }) => [r.change, r.accountId])).toEqual([['accountAppeared', acc.id]]);

      const who = await identityNamed(t.db, 'someone-else');
      const adopted = await t.call(t.admin, 'POST', `/appaccess/v1.0/accounts/${acc.id}/adoption/${who}`);
      expect(adopted.statusCode, adopted.body).toBe(200);
      expect(adopted.json()).toMatchObject({ state: 'Matched', identityId: who });
      const audit = await t.db.k.selectFrom('audit_events').selectAll().where('object_id', '=', acc.id).where('action', '=', 'account.adopt').execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]!.after).toEqual({ state: 'Matched', identityId: who });
      const assignment = await t.db.k.selectFrom('assignments').selectAll().where('identity_id', '=', who).where('application_id', '=', appId).execute();
      expect(assignment.map((a) => [a.source, a.entitlement_id, a.status])).toEqual([['adoption', null, 'active']]);
      // Adopting a Matched account again is a 409 naming what is allowed from Matched.
      const again = await t.call(t.admin, 'POST', `/appaccess/v1.0/accounts/${acc.id}/adoption/${who}`);
      expect(again.statusCode).toBe(409);
      expect(again.json().error).toMatchObject({ code: 'account.invalid_transition' });
      expect(again.json().error.message).toContain('Allowed: unmanage, release');
      // A later run keeps the adoption.
      const third = await startAndWait(appId);
      expect(third.progress).toMatchObject({ matched: 4, unmatched: 0 });
    } finally {
      await s.close();
    }
  }, 120_000);

  it('an account whose identity was deleted becomes Orphan; state transitions answer 409 naming the allowed actions', async () => {
    const s = await target();
    try {
      const [gone, kept] = s.seedUsers(2, { prefix: 'orph' });
      const goneId = await identityNamed(t.db, 'orph0');
      await identityNamed(t.db, 'orph1');
      const appId = await scimApp(s);
      await startAndWait(appId);
      expect((await accountOf(appId, gone!)).identity_id).toBe(goneId);
      await t.db.k.deleteFrom('identities').where('id', '=', goneId).execute();
      const run = await startAndWait(appId);
      expect(run.progress).toMatchObject({ matched: 1, orphan: 1 });
      const orphan = await accountOf(appId, gone!);
      expect(orphan.state).toBe('Orphan');
      expect((await accountOf(appId, kept!)).state).toBe('Matched');

      const bad = await t.call(t.admin, 'POST', `/appaccess/v1.0/applications/${appId}/accounts/${orphan.id}/release`);
      expect(bad.statusCode).toBe(409);
      expect(bad.json().error.message).toContain('Allowed: unmanage, manage, adoption');
      const unknown = await t.call(t.admin, 'POST', `/appaccess/v1.0/applications/${appId}/accounts/${orphan.id}/explode`);
      expect(unknown.statusCode).toBe(400);
      const unmanaged = await t.call(t.admin, 'POST', `/appaccess/v1.0/applications/${appId}/accounts/${orphan.id}/unmanage`);
      expect(unmanaged.statusCode, unmanaged.body).toBe(200);
      expect(unmanaged.json().state).toBe('Unmanaged');
      // Correlation leaves an Unmanaged account alone.
      await startAndWait(appId);
      expect((await accountOf(appId, gone!)).state).toBe('Unmanaged');
      const needs = await t.call(await t.token('read-audit'), 'POST', `/appaccess/v1.0/applications/${appId}/accounts/${orphan.id}/manage`);
      expect(needs.statusCode).toBe(403);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a group added out of band is revoked under "revoke": the plan handed to the executor removes it, and carried out it does', async () => {
    const s = await target();
    try {
      const [u0, u1] = s.seedUsers(2, { prefix: 'rev' });
      await identityNamed(t.db, 'rev0');
      await identityNamed(t.db, 'rev1');
      const appId = await scimApp(s, { remediationPolicy: { entitlementAddedOutOfBand: 'revoke' } });
      // Revoking one account's group of two is 50%: past the default threshold of 5%, so allow it.
      const settings = await t.call(t.admin, 'PUT', `/appaccess/v1.0/applications/${appId}/reconciliationSettings`, { safetyThreshold: 0.5 });
      expect(settings.statusCode, settings.body).toBe(200);
      expect(settings.json()).toEqual({ applicationId: appId, schedule: null, scheduleMode: 'full', safetyThreshold: 0.5, pageSize: null });
      const d = driven(t);
      expect((await d.run(appId)).baseline).toBe(true);
      const group = s.seedGroup('Admins', [u0!]);
      const run = await d.run(appId);
      expect(run.progress).toMatchObject({ changed: 1, entitlementsSeen: 1 });
      expect(run.remediations).toEqual({ pending: 0, held: 0, applied: 1 });
      const appName = (await t.db.k.selectFrom('applications').select('name').where('id', '=', appId).executeTakeFirstOrThrow()).name;
      const identity = (await accountOf(appId, u0!)).identity_id;
      expect(d.plans).toEqual([
        {
          createdBy: `reconciliation:${run.id}`,
          plan: { identity, accountRequests: [{ application: appName, op: 'Modify', nativeIdentity: u0, attributeRequests: [{ name: 'groups', op: 'Remove', value: group.id }], permissionRequests: [] }] },
        },
      ]);
      const rem = await d.recon.remediations.list({ runId: run.id, limit: 10 });
      expect(rem.map((r) => [r.change, r.action, r.status, r.entitlement, r.flowIds])).toEqual([['entitlementAddedOutOfBand', 'revoke', 'applied', { kind: 'group', nativeValue: group.id }, ['flow-1']]]);
      // The entitlement was aggregated into the store.
      expect(await t.db.k.selectFrom('entitlements').select(['kind', 'native_value', 'name']).where('application_id', '=', appId).execute()).toEqual([{ kind: 'group', native_value: group.id, name: 'Admins' }]);
      // The plan is right: carried out by the scim connector, the membership is gone.
      const connector = scimKind.create({ settings: { baseUrl: s.url, retries: 0 }, secrets: { token: s.token } });
      const result = await connector.apply(d.plans[0]!.plan.accountRequests[0]!);
      await connector.close();
      expect(result.status).toBe('committed');
      expect(s.users().find((u) => u.id === u0)!.groups ?? []).toEqual([]);
      expect(s.users().find((u) => u.id === u1)!.groups ?? []).toEqual([]);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a group added out of band is queued under "Let me decide", and accepting it records an assignment with source reconciliation', async () => {
    const s = await target();
    try {
      const [u0] = s.seedUsers(2, { prefix: 'lmd' });
      const who = await identityNamed(t.db, 'lmd0');
      await identityNamed(t.db, 'lmd1');
      const appId = await scimApp(s);
      const d = driven(t);
      await d.run(appId);
      const group = s.seedGroup('Finance', [u0!]);
      const run = await d.run(appId);
      expect(run.remediations).toEqual({ pending: 1, held: 0, applied: 0 });
      expect(d.plans).toEqual([]);
      const listed = await t.call(t.admin, 'GET', `/v1.0/remediations?status=pending&applicationId=${appId}`);
      expect(listed.statusCode, listed.body).toBe(200);
      const [item] = listed.json().items as { id: string; change: string; entitlement: unknown; reconciliationId: string; identityId: string }[];
      expect(item).toMatchObject({ change: 'entitlementAddedOutOfBand', entitlement: { kind: 'group', nativeValue: group.id }, reconciliationId: run.id, identityId: who });
      const decided = await t.call(t.admin, 'POST', `/v1.0/remediations/${item!.id}/decision`, { decision: 'accept' });
      expect(decided.statusCode, decided.body).toBe(200);
      expect(decided.json()).toMatchObject({ status: 'applied', decision: 'accept', action: 'accept' });
      const ent = await t.db.k.selectFrom('entitlements').select('id').where('application_id', '=', appId).where('native_value', '=', group.id).executeTakeFirstOrThrow();
      const a = await t.db.k.selectFrom('assignments').selectAll().where('identity_id', '=', who).where('entitlement_id', '=', ent.id).execute();
      expect(a.map((x) => [x.source, x.status])).toEqual([['reconciliation', 'active']]);
      expect((await t.call(t.admin, 'POST', `/v1.0/remediations/${item!.id}/decision`, { decision: 'revoke' })).statusCode).toBe(409);
      // Now assigned, the membership is no longer out of band: the next run finds nothing to remediate.
      const next = await d.run(appId);
      expect(next.remediations).toEqual({ pending: 0, held: 0, applied: 0 });
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a run killed mid-way resumes from its last page and ends with the same result as an uninterrupted one', async () => {
    const s = await target();
    try {
      const ids = s.seedUsers(9, { prefix: 'kill' });
      for (let i = 0; i < 6; i++) await identityNamed(t.db, `kill${i}`);
      const whole = await scimApp(s);
      const killed = await scimApp(s);
      const d = driven(t);
      await d.run(whole);
      await d.run(killed);
      // Changes behind Steward's back: one changed, one removed, one added, one group.
      s.touchUser(ids[1]!, { displayName: 'Renamed One' });
      await fetch(`${s.url}/Users/${ids[2]}`, { method: 'DELETE', headers: { authorization: `Bearer ${s.token}` } });
      s.seedUsers(1, { prefix: 'late' });
      s.seedGroup('Ops', [ids[3]!]);

      const uninterrupted = await d.run(whole);
      const started = await d.recon.start(SYSTEM_ACTOR, killed);
      const controller = new AbortController();
      await expect(d.recon.runNow(started.id, { signal: controller.signal, onPage: (r) => (r.progress.pages >= 2 ? controller.abort() : undefined) })).rejects.toBeInstanceOf(RunAborted);
      const midway = await d.recon.status(killed, started.id);
      expect(midway).toMatchObject({ status: 'running', phase: 'accounts', progress: { pages: 2, accountsSeen: 4 } });
      // One run at a time: a second start is refused while this one waits to resume.
      await expect(d.recon.start(SYSTEM_ACTOR, killed)).rejects.toMatchObject({ code: 'reconciliation.already_running' });
      const resumed = await d.recon.runNow(started.id);
      expect(resumed.status).toBe('completed');
      expect(resumed.attempts).toBe(2);
      expect(resumed.progress).toEqual({ ...uninterrupted.progress });
      const view = async (appId: string) =>
        (await t.db.k.selectFrom('accounts').select(['native_identity', 'state', 'identity_id', 'attributes', 'entitlements', 'removed_at']).where('application_id', '=', appId).orderBy('native_identity').execute()).map((a) => ({
          ...a,
          removed_at: a.removed_at !== null,
          // Entitlement ids differ per application; kind and target value do not.
        }));
      expect(await view(killed)).toEqual(await view(whole));
      const deltas = async (runId: string) => (await t.db.k.selectFrom('reconciliation_deltas').innerJoin('accounts', 'accounts.id', 'reconciliation_deltas.account_id').select(['native_identity', 'kind', 'changes']).where('run_id', '=', runId).orderBy('native_identity').execute());
      expect(await deltas(resumed.id)).toEqual(await deltas(uninterrupted.id));
      expect(await t.db.k.selectFrom('reconciliation_staging').select('run_id').where('run_id', 'in', [resumed.id, uninterrupted.id]).execute()).toEqual([]);
    } finally {
      await s.close();
    }
  }, 180_000);

  it('a read that suddenly returns far fewer accounts is held for an administrator instead of marking them removed', async () => {
    const s = await target();
    try {
      const ids = s.seedUsers(10, { prefix: 'trunc' });
      const appId = await scimApp(s, { remediationPolicy: { accountRemoved: 'accept' } });
      const d = driven(t);
      await d.run(appId);
      for (const id of ids.slice(0, 4)) await fetch(`${s.url}/Users/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${s.token}` } });
      const run = await d.run(appId);
      expect(run.progress.removed).toBe(0);
      expect(run.remediations.held).toBe(4);
      expect(run.heldReason).toContain('4 of 10 accounts (40.0%) were not listed');
      expect(await t.db.k.selectFrom('accounts').select('id').where('application_id', '=', appId).where('removed_at', 'is not', null).execute()).toEqual([]);
      // Deciding a held one needs admin.
      const [held] = await d.recon.remediations.list({ runId: run.id, status: 'held', limit: 1 });
      const manager = await t.token('manage-applications');
      expect((await t.call(manager, 'POST', `/v1.0/remediations/${held!.id}/decision`, { decision: 'accept' })).statusCode).toBe(403);
      expect((await t.call(manager, 'POST', `/appaccess/v1.0/applications/${appId}/reconciliation/${run.id}/confirmation`, { confirm: true })).statusCode).toBe(403);
      const confirmed = await t.call(t.admin, 'POST', `/appaccess/v1.0/applications/${appId}/reconciliation/${run.id}/confirmation`, { confirm: true });
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      expect(confirmed.json()).toMatchObject({ heldReason: null, progress: { removed: 4 }, remediations: { held: 0, applied: 4 } });
      const removed = await t.db.k.selectFrom('accounts').select('native_identity').where('application_id', '=', appId).where('removed_at', 'is not', null).orderBy('native_identity').execute();
      expect(removed.map((r) => r.native_identity)).toEqual(ids.slice(0, 4).sort());
      expect((await t.call(t.admin, 'POST', `/appaccess/v1.0/applications/${appId}/reconciliation/${run.id}/confirmation`, { confirm: true })).statusCode).toBe(409);
    } finally {
      await s.close();
    }
  }, 120_000);
});
