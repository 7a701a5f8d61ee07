/**
 * Reconciliation scenarios on a real OpenLDAP server (skipped, saying why, where slapd is
 * not installed): an entry made by hand appears Unmatched and is adopted; a group added
 * out of band is revoked under "revoke" (and the plan, carried out, removes it) and queued
 * under "Let me decide"; an entry whose identity was deleted becomes Orphan.
 */
import type { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapKind } from '../../src/connectors/index.ts';
import type { TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { GROUPS, PEOPLE, slapdUnavailableReason, startSlapd, type Slapd } from '../support/slapd.ts';
import { createReconTestApp, driven, identityNamed, makeApp } from './support.ts';

const skip = slapdUnavailableReason();

describe.skipIf(skip !== null).each(testDbKinds())(`reconciliation on slapd, %s${skip ? ` (skipped: ${skip})` : ''}`, (kind) => {
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
  const ldapApp = (remediationPolicy: Record<string, string> = {}) =>
    makeApp(t, {
      connectorKind: 'ldap',
      settings: { url: slapd.url, bindDn: slapd.rootDn, baseDn: PEOPLE, groupBaseDn: GROUPS, pageSize: 2, timeoutMs: 5000 },
      secrets: { bindPassword: slapd.rootPassword },
      adoptionPolicy: { match: [{ identityAttribute: 'userName', accountAttribute: 'uid' }] },
      remediationPolicy,
    });
  const accountOf = (appId: string, dn: string) => t.db.k.selectFrom('accounts').selectAll().where('application_id', '=', appId).where('native_identity', '=', dn).executeTakeFirstOrThrow();

  it('an entry made by hand is Unmatched then adopted; a group added out of band is revoked under revoke and queued under Let me decide; a deleted identity leaves an Orphan', async () => {
    await person('lena');
    await person('omar');
    const lena = await identityNamed(t.db, 'lena');
    const omar = await identityNamed(t.db, 'omar');
    const revoking = await ldapApp({ entitlementAddedOutOfBand: 'revoke' });
    const deciding = await ldapApp();
    for (const id of [revoking, deciding]) {
      const r = await t.call(t.admin, 'PUT', `/appaccess/v1.0/applications/${id}/reconciliationSettings`, { safetyThreshold: 1 });
      expect(r.statusCode, r.body).toBe(200);
    }
    const d = driven(t);
    expect((await d.run(revoking)).progress).toMatchObject({ accountsSeen: 2, matched: 2 });
    expect((await d.run(deciding)).progress).toMatchObject({ accountsSeen: 2, matched: 2 });

    // By hand, behind Steward's back: a new entry, and a group holding lena.
    await person('byhand');
    const groupDn = `cn=auditors,${GROUPS}`;
    await admin.add(groupDn, { objectClass: ['groupOfNames'], cn: 'auditors', member: `uid=lena,${PEOPLE}` });

    const decided = await d.run(deciding);
    expect(decided.progress).toMatchObject({ new: 1, changed: 1, unmatched: 1, matched: 2 });
    const pending = await d.recon.remediations.list({ runId: decided.id, status: 'pending', limit: 10 });
    expect(pending.map((r) => [r.change, r.entitlement]).sort()).toEqual([
      ['accountAppeared', null],
      ['entitlementAddedOutOfBand', { kind: 'group', nativeValue: groupDn }],
    ]);
    expect(d.plans).toEqual([]);

    const revoked = await d.run(revoking);
    expect(revoked.remediations).toMatchObject({ applied: 1, pending: 1 });
    const lenaDn = `uid=lena,${PEOPLE}`;
    expect(d.plans.map((p) => p.plan)).toEqual([
      { identity: lena, accountRequests: [{ application: expect.any(String) as string, op: 'Modify', nativeIdentity: lenaDn, attributeRequests: [{ name: 'groups', op: 'Remove', value: groupDn }], permissionRequests: [] }] },
    ]);
    const connector = ldapKind.create({ settings: { url: slapd.url, bindDn: slapd.rootDn, baseDn: PEOPLE, groupBaseDn: GROUPS }, secrets: { bindPassword: slapd.rootPassword } });
    try {
      expect((await connector.apply(d.plans[0]!.plan.accountRequests[0]!)).status).toBe('committed');
      expect((await connector.getAccount(lenaDn))!.entitlements).toEqual([]);
    } finally {
      await connector.close();
    }

    // The entry made by hand, adopted to omar's colleague.
    const hand = await accountOf(deciding, `uid=byhand,${PEOPLE}`);
    expect(hand.state).toBe('Unmatched');
    const who = await identityNamed(t.db, 'hand-owner');
    const adopted = await t.call(t.admin, 'POST', `/appaccess/v1.0/accounts/${hand.id}/adoption/${who}`);
    expect(adopted.statusCode, adopted.body).toBe(200);
    expect(adopted.json()).toMatchObject({ state: 'Matched', identityId: who });

    // omar leaves the identity store: his entry is an Orphan at the next run.
    await t.db.k.deleteFrom('identities').where('id', '=', omar).execute();
    const after = await d.run(deciding);
    expect(after.progress.orphan).toBe(1);
    expect((await accountOf(deciding, `uid=omar,${PEOPLE}`)).state).toBe('Orphan');
  }, 180_000);
});
