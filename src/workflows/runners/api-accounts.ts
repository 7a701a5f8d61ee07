/**
 * Steward's view of an account after an API script changed it: the account row of the
 * application (native identity, attributes, enabled, locked) written from what the target
 * reads back, in one statement, so Steward matches the target without waiting for the
 * next reconciliation. Entitlement-valued attributes (`groups`) are kept in `attributes`
 * under their attribute name, as the plan compiler reads them.
 */
import { sql } from 'kysely';
import type { AccountItem, Capabilities } from '../../connectors/index.ts';
import type { Db } from '../../store/db.ts';
import { runPrepared } from '../prepared.ts';

/** An account's attributes as stored: its own, plus each entitlement attribute's native values. */
export function storedAttributes(item: AccountItem, capabilities: Capabilities): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(item.attributes)) out[name] = Array.isArray(v) ? v.map((x) => (x instanceof Date ? x.toISOString() : x)) : v instanceof Date ? v.toISOString() : v;
  for (const [attr, kind] of Object.entries(capabilities.entitlementAttributes)) {
    out[attr] = item.entitlements.filter((e) => e.kind === kind).map((e) => e.nativeValue).sort();
  }
  return out;
}

/** The native identity of the account an identity holds in an application (the most recently changed one), if any. */
export async function accountOfIdentity(db: Db, applicationId: string, identityId: string): Promise<string | undefined> {
  const q = db.k
    .selectFrom('accounts')
    .select(['native_identity'])
    .where('application_id', '=', applicationId)
    .where('identity_id', '=', identityId)
    .orderBy('updated_at', 'desc')
    .limit(1);
  const { rows } = await runPrepared(db, 'account_of_identity', q.compile());
  return rows[0]?.native_identity;
}

/**
 * Writes the account as read from the target: inserted (Matched to `identityId` when given)
 * or updated in place. Other accounts of the identity in the application are left alone
 * (an identity may hold several); reconciliation settles renames.
 */
export async function recordAccount(db: Db, applicationId: string, identityId: string | null, item: AccountItem, capabilities: Capabilities): Promise<void> {
  const attributes = JSON.stringify(storedAttributes(item, capabilities));
  // One statement: atomic on its own, so no transaction (and its two extra round trips) around it.
  const q = db.k
    .insertInto('accounts')
    .values({
      application_id: applicationId,
      native_identity: item.nativeIdentity,
      identity_id: identityId,
      state: identityId === null ? 'Unmatched' : 'Matched',
      enabled: item.enabled,
      locked: item.locked,
      attributes,
    })
    .onConflict((oc) =>
      oc.columns(['application_id', 'native_identity']).doUpdateSet({
        attributes: (eb) => eb.ref('excluded.attributes'),
        enabled: (eb) => eb.ref('excluded.enabled'),
        locked: (eb) => eb.ref('excluded.locked'),
        identity_id: sql<string | null>`coalesce(excluded.identity_id, accounts.identity_id)`,
        state: sql<string>`case when coalesce(excluded.identity_id, accounts.identity_id) is null then accounts.state else 'Matched' end`,
        updated_at: sql<Date>`now()`,
      }),
    );
  await runPrepared(db, 'account_record', q.compile());
}

/**
 * Sets a state flag (enabled, locked) on a stored account, matching it to `identityId` when
 * given, as `recordAccount` would with the attributes unchanged; answers false when Steward
 * has no row for the account.
 */
export async function recordFlag(db: Db, applicationId: string, nativeIdentity: string, identityId: string | null, flag: { enabled: boolean } | { locked: boolean }): Promise<boolean> {
  const column = 'enabled' in flag ? 'enabled' : 'locked';
  const value = 'enabled' in flag ? flag.enabled : flag.locked;
  const r = await runPrepared(
    db,
    `account_set_${column}`,
    sql`update accounts set ${sql.ref(column)} = ${value}, identity_id = coalesce(${identityId}::uuid, identity_id),
          state = case when coalesce(${identityId}::uuid, identity_id) is null then state else 'Matched' end, updated_at = now()
        where application_id = ${applicationId} and native_identity = ${nativeIdentity}`.compile(db.k),
  );
  return r.rowCount > 0;
}

/** Removes the account row of an account the target no longer has. */
export async function forgetAccount(db: Db, applicationId: string, nativeIdentity: string): Promise<void> {
  await db.k.deleteFrom('accounts').where('application_id', '=', applicationId).where('native_identity', '=', nativeIdentity).execute();
}
