/**
 * Roles: named bundles of applications and entitlements across applications, granted by
 * birthright rules or to identities directly (by request). Rows written and audited here;
 * the service recomputes after a change.
 */
import { sql, type Selectable } from 'kysely';
import { StewardError } from '../domain/errors.ts';
import type { Problem } from '../domain/result.ts';
import { appendAudit } from '../store/audit.ts';
import type { Executor } from '../store/db.ts';
import { isUniqueViolation } from '../store/errors.ts';
import type { RolesTable } from '../store/tables.ts';
import type { AccessItem } from './ruleset.ts';
import { resolveGrants, type GrantInput } from './rules.ts';

export interface RoleInput {
  name: string;
  description?: string | null;
  /** Applications and entitlements; a role holds no other roles. */
  items: Omit<GrantInput, 'roleId'>[];
}

export interface Role {
  id: string;
  name: string;
  description: string | null;
  items: AccessItem[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const notFound = (id: string) => new StewardError('role.not_found', `no role has id ${id}`);

const invalid = (problems: Problem[]) => new StewardError('role.invalid', problems.map((p) => `${p.field ?? ''}: ${p.message}`).join('; '), { problems });

async function itemsOf(db: Executor, ids: readonly string[]): Promise<Map<string, AccessItem[]>> {
  const out = new Map<string, AccessItem[]>();
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('role_items').selectAll().where(sql<boolean>`role_id = any(${ids}::uuid[])`).orderBy('application_id').orderBy('entitlement_id').execute();
  for (const r of rows) out.set(r.role_id, [...(out.get(r.role_id) ?? []), { applicationId: r.application_id, entitlementId: r.entitlement_id }]);
  return out;
}

const toRole = (r: Selectable<RolesTable>, items: AccessItem[]): Role => ({ id: r.id, name: r.name, description: r.description, items, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at });

/** Every role, by name, with its items. */
export async function listRoles(db: Executor): Promise<Role[]> {
  const rows = await db.selectFrom('roles').selectAll().orderBy(sql`lower(name)`).execute();
  const items = await itemsOf(db, rows.map((r) => r.id));
  return rows.map((r) => toRole(r, items.get(r.id) ?? []));
}

export async function getRole(db: Executor, id: string): Promise<Role> {
  const row = UUID.test(id) ? await db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
  if (!row) throw notFound(id);
  return toRole(row, (await itemsOf(db, [row.id])).get(row.id) ?? []);
}

async function checkItems(db: Executor, input: RoleInput): Promise<AccessItem[]> {
  const problems: Problem[] = [];
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) problems.push({ code: 'role.invalid', field: 'name', message: 'must be 1 to 200 characters' });
  if ((input.items ?? []).some((i) => (i as GrantInput).roleId !== undefined)) problems.push({ code: 'role.invalid', field: 'items', message: 'a role holds applications and entitlements, not other roles' });
  const g = await resolveGrants(db, input.items ?? [], 'items');
  problems.push(...g.problems.map((p) => ({ ...p, code: 'role.invalid' })));
  if (problems.length > 0) throw invalid(problems);
  return g.grants.map((s) => (s.type === 'entitlement' ? { applicationId: s.applicationId, entitlementId: s.entitlementId } : { applicationId: (s as { applicationId: string }).applicationId, entitlementId: null }));
}

async function writeItems(trx: Executor, roleId: string, items: AccessItem[]): Promise<void> {
  await trx.deleteFrom('role_items').where('role_id', '=', roleId).execute();
  if (items.length > 0) await trx.insertInto('role_items').values(items.map((i) => ({ role_id: roleId, application_id: i.applicationId, entitlement_id: i.entitlementId }))).execute();
}

const duplicate = (name: string, e: unknown) => new StewardError('role.duplicate_name', `name: another role is already called ${JSON.stringify(name)}`, { problems: [{ code: 'role.duplicate_name', field: 'name', message: 'is taken' }], cause: e });

export async function insertRole(trx: Executor, actor: string, input: RoleInput): Promise<Role> {
  const items = await checkItems(trx, input);
  try {
    const row = await trx.insertInto('roles').values({ name: input.name.trim(), description: input.description ?? null }).returningAll().executeTakeFirstOrThrow();
    await writeItems(trx, row.id, items);
    const role = toRole(row, items);
    await appendAudit(trx, [{ actor, action: 'role.create', objectType: 'role', objectId: role.id, after: role }]);
    return role;
  } catch (e) {
    throw isUniqueViolation(e, 'roles_name_key') ? duplicate(input.name, e) : e;
  }
}

export async function replaceRole(trx: Executor, actor: string, id: string, input: RoleInput): Promise<Role> {
  const before = await getRole(trx, id);
  const items = await checkItems(trx, input);
  try {
    const row = await trx
      .updateTable('roles')
      .set({ name: input.name.trim(), description: input.description ?? null, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
      .where('id', '=', before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeItems(trx, row.id, items);
    const role = toRole(row, items);
    await appendAudit(trx, [{ actor, action: 'role.update', objectType: 'role', objectId: role.id, before, after: role }]);
    return role;
  } catch (e) {
    throw isUniqueViolation(e, 'roles_name_key') ? duplicate(input.name, e) : e;
  }
}

export async function removeRole(trx: Executor, actor: string, id: string): Promise<{ members: string[] }> {
  const before = await getRole(trx, id);
  const members = (await trx.selectFrom('role_members').select('identity_id').where('role_id', '=', before.id).execute()).map((m) => m.identity_id);
  const inRules = await trx.selectFrom('birthright_rules').select(['id', 'name']).where(sql<boolean>`grants @> ${JSON.stringify([{ type: 'role', roleId: before.id }])}::jsonb`).execute();
  if (inRules.length > 0) {
    throw new StewardError('role.in_use', `the role is granted by rule${inRules.length > 1 ? 's' : ''} ${inRules.map((r) => JSON.stringify(r.name)).join(', ')}; change them first`);
  }
  await trx.deleteFrom('roles').where('id', '=', before.id).execute();
  await appendAudit(trx, [{ actor, action: 'role.delete', objectType: 'role', objectId: before.id, before }]);
  return { members };
}

/** Grants a role to an identity (idempotent); throws role.not_found or identity.not_found. */
export async function addMember(trx: Executor, actor: string, roleId: string, identityId: string, source: 'request' | 'direct'): Promise<boolean> {
  await getRole(trx, roleId);
  const identity = UUID.test(identityId) ? await trx.selectFrom('identities').select('id').where('id', '=', identityId).executeTakeFirst() : undefined;
  if (!identity) throw new StewardError('identity.not_found', `no identity has id ${identityId}`);
  const r = await trx.insertInto('role_members').values({ role_id: roleId, identity_id: identityId, source, created_by: actor }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  const added = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  if (added) await appendAudit(trx, [{ actor, action: 'role.member_add', objectType: 'role', objectId: roleId, after: { identityId, source } }]);
  return added;
}

export async function removeMember(trx: Executor, actor: string, roleId: string, identityId: string): Promise<void> {
  await getRole(trx, roleId);
  const r = UUID.test(identityId) ? await trx.deleteFrom('role_members').where('role_id', '=', roleId).where('identity_id', '=', identityId).executeTakeFirst() : undefined;
  if (!r || Number(r.numDeletedRows) === 0) throw new StewardError('role.not_found', `identity ${identityId} does not hold role ${roleId}`);
  await appendAudit(trx, [{ actor, action: 'role.member_remove', objectType: 'role', objectId: roleId, before: { identityId } }]);
}

/** The members of a role. */
export async function roleMembers(db: Executor, roleId: string): Promise<{ identityId: string; source: string; createdAt: Date }[]> {
  await getRole(db, roleId);
  const rows = await db.selectFrom('role_members').select(['identity_id', 'source', 'created_at']).where('role_id', '=', roleId).orderBy('created_at').execute();
  return rows.map((r) => ({ identityId: r.identity_id, source: r.source, createdAt: r.created_at }));
}
