// Fixtures for the plan tests: an application with a schema and attribute mappings, its
// group entitlements, identities, assignments and accounts, written with unique names.
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import type { DeprovisioningAction } from '../../src/domain/policies.ts';
import type { Db } from '../../src/store/db.ts';
import { identityColumns } from '../../src/store/identities.ts';
import { uniqueName, type TestApp } from '../support/app.ts';

export interface PlanWorld {
  appId: string;
  appName: string;
  /** Entitlement ids by native value. */
  groups: Record<string, string>;
}

/** An application (scim kind) with login/mail/dept mapped from the identity and a group-valued `groups`. */
export async function makePlanApp(t: TestApp, options: { action?: DeprovisioningAction; capabilities?: string[] } = {}): Promise<PlanWorld> {
  const name = uniqueName('app');
  const app = await t.services.applications.create(SYSTEM_ACTOR, {
    name,
    connectorKind: 'scim',
    settings: { baseUrl: 'https://scim.example.com/v2' },
    secrets: { token: 'tok' },
    accountSchema: {
      attributes: [
        { name: 'login', type: 'string', multiValued: false },
        { name: 'mail', type: 'string', multiValued: false },
        { name: 'dept', type: 'string', multiValued: false },
        { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
      ],
    },
    attributeMappings: [
      { accountAttribute: 'login', identityAttribute: 'userName' },
      { accountAttribute: 'mail', identityAttribute: 'email' },
      { accountAttribute: 'dept', identityAttribute: 'department' },
    ],
    ...(options.capabilities ? { capabilities: options.capabilities } : {}),
    ...(options.action ? { deprovisioningPolicy: { action: options.action } } : {}),
  });
  const ents = await t.services.entitlements.create(SYSTEM_ACTOR, app.id, ['g1', 'g2', 'g3'].map((v) => ({ kind: 'group' as const, nativeValue: `cn=${v}`, name: `${name}-${v}` })));
  return { appId: app.id, appName: name, groups: Object.fromEntries(ents.map((e) => [e.nativeValue, e.id])) };
}

/** A new identity with an email and a department; its id and userName. */
export async function makePerson(db: Db, department = 'Sales'): Promise<{ id: string; userName: string }> {
  const userName = uniqueName('user');
  const r = await db.k
    .insertInto('identities')
    .values({ ...identityColumns({ userName, emails: [{ value: `${userName}@example.com`, primary: true }] }, null), department })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: r.id, userName };
}

export async function assign(db: Db, holder: { identityId?: string; groupId?: string }, applicationId: string, entitlementId: string | null, extra: { status?: string; validFrom?: Date; validUntil?: Date } = {}): Promise<void> {
  await db.k
    .insertInto('assignments')
    .values({
      identity_id: holder.identityId ?? null,
      group_id: holder.groupId ?? null,
      application_id: applicationId,
      entitlement_id: entitlementId,
      source: 'request',
      status: extra.status ?? 'active',
      valid_from: extra.validFrom ?? null,
      valid_until: extra.validUntil ?? null,
    })
    .execute();
}

export async function makeAccount(db: Db, applicationId: string, nativeIdentity: string, identityId: string | null, attributes: Record<string, unknown>, enabled = true): Promise<void> {
  await db.k
    .insertInto('accounts')
    .values({ application_id: applicationId, native_identity: nativeIdentity, identity_id: identityId, attributes: JSON.stringify(attributes), enabled, state: identityId ? 'Matched' : 'Unmatched' })
    .execute();
}
