/**
 * Birthright rules and rule-based groups as stored: input checked (the condition parsed
 * with positions, every grant resolved), rows written and audited. Recomputation after a
 * write, and the safety threshold, belong to the service that calls these.
 */
import { sql } from 'kysely';
import { StewardError } from '../domain/errors.ts';
import type { Problem } from '../domain/result.ts';
import { appendAudit } from '../store/audit.ts';
import type { Executor } from '../store/db.ts';
import { isUniqueViolation } from '../store/errors.ts';
import type { BirthrightRulesTable } from '../store/tables.ts';
import type { Selectable } from 'kysely';
import { parseCondition } from './condition.ts';
import type { StoredGrant } from './ruleset.ts';

/** A grant as callers write it: exactly one of the three. */
export interface GrantInput {
  applicationId?: string;
  entitlementId?: string;
  roleId?: string;
}

export interface RuleInput {
  name: string;
  description?: string | null;
  /** The condition, in the language of docs/lifecycle.md. */
  condition: string;
  grants: GrantInput[];
  /** When an identity stops matching because its attributes changed, its requested access to the granted applications ends too. */
  revokeRequestedOnMove?: boolean;
  enabled?: boolean;
}

export interface Rule {
  id: string;
  name: string;
  description: string | null;
  condition: string;
  grants: StoredGrant[];
  revokeRequestedOnMove: boolean;
  enabled: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const MAX_GRANTS = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const toRule = (r: Selectable<BirthrightRulesTable>): Rule => ({
  id: r.id,
  name: r.name,
  description: r.description,
  condition: r.condition,
  grants: r.grants as StoredGrant[],
  revokeRequestedOnMove: r.revoke_requested_on_move,
  enabled: r.enabled,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const invalidRule = (problems: Problem[]) =>
  new StewardError('rule.invalid', problems.map((p) => `${p.field ?? ''}${p.line !== undefined ? ` (line ${p.line}, column ${p.column})` : ''}: ${p.message}`).join('; '), { problems });

/** Resolves grants against the store: each names one existing application, entitlement or role. */
export async function resolveGrants(db: Executor, grants: readonly GrantInput[], field = 'grants'): Promise<{ grants: StoredGrant[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const bad = (i: number, key: string, message: string) => problems.push({ code: 'rule.invalid', field: `${field}[${i}]${key ? `.${key}` : ''}`, message });
  const isList: boolean = Array.isArray(grants);
  if (!isList || grants.length === 0) return { grants: [], problems: [{ code: 'rule.invalid', field, message: 'must name at least one application, entitlement or role' }] };
  if (grants.length > MAX_GRANTS) return { grants: [], problems: [{ code: 'rule.invalid', field, message: `holds more than ${MAX_GRANTS} grants` }] };
  const ids = { applicationId: new Set<string>(), entitlementId: new Set<string>(), roleId: new Set<string>() };
  grants.forEach((g, i) => {
    const keys = (['applicationId', 'entitlementId', 'roleId'] as const).filter((k) => g[k] !== undefined);
    if (keys.length !== 1) return bad(i, '', 'must name exactly one of applicationId, entitlementId or roleId');
    const k = keys[0]!;
    if (typeof g[k] !== 'string' || !UUID.test(g[k])) return bad(i, k, 'is not an id');
    ids[k].add(g[k].toLowerCase());
  });
  if (problems.length > 0) return { grants: [], problems };
  const [apps, ents, roles] = await Promise.all([
    ids.applicationId.size ? db.selectFrom('applications').select('id').where(sql<boolean>`id = any(${[...ids.applicationId]}::uuid[])`).execute() : [],
    ids.entitlementId.size ? db.selectFrom('entitlements').select(['id', 'application_id']).where(sql<boolean>`id = any(${[...ids.entitlementId]}::uuid[])`).execute() : [],
    ids.roleId.size ? db.selectFrom('roles').select('id').where(sql<boolean>`id = any(${[...ids.roleId]}::uuid[])`).execute() : [],
  ]);
  const appSet = new Set(apps.map((a) => a.id));
  const entMap = new Map(ents.map((e) => [e.id, e.application_id]));
  const roleSet = new Set(roles.map((r) => r.id));
  const out: StoredGrant[] = [];
  const seen = new Set<string>();
  grants.forEach((g, i) => {
    let s: StoredGrant | undefined;
    if (g.applicationId !== undefined) {
      const id = g.applicationId.toLowerCase();
      if (appSet.has(id)) s = { type: 'application', applicationId: id };
      else bad(i, 'applicationId', `no application has id ${g.applicationId}`);
    } else if (g.entitlementId !== undefined) {
      const id = g.entitlementId.toLowerCase();
      const app = entMap.get(id);
      if (app) s = { type: 'entitlement', applicationId: app, entitlementId: id };
      else bad(i, 'entitlementId', `no entitlement has id ${g.entitlementId}`);
    } else if (g.roleId !== undefined) {
      const id = g.roleId.toLowerCase();
      if (roleSet.has(id)) s = { type: 'role', roleId: id };
      else bad(i, 'roleId', `no role has id ${g.roleId}`);
    }
    if (!s) return;
    const key = JSON.stringify(s);
    if (seen.has(key)) return bad(i, '', 'repeats an earlier grant');
    seen.add(key);
    out.push(s);
  });
  return { grants: out, problems };
}

/** Checks a rule: name, condition (with line and column), grants. Throws rule.invalid with every problem. */
export async function checkRule(db: Executor, input: RuleInput): Promise<{ grants: StoredGrant[] }> {
  const problems: Problem[] = [];
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) problems.push({ code: 'rule.invalid', field: 'name', message: 'must be 1 to 200 characters' });
  const c = parseCondition(input.condition);
  if (!c.ok) problems.push(...c.errors);
  const g = await resolveGrants(db, input.grants);
  problems.push(...g.problems);
  if (problems.length > 0) throw invalidRule(problems);
  return { grants: g.grants };
}

const duplicateName = (name: string, e: unknown) =>
  new StewardError('rule.duplicate_name', `name: another rule is already called ${JSON.stringify(name)}`, { problems: [{ code: 'rule.duplicate_name', field: 'name', message: 'is taken' }], cause: e });

/** Inserts a checked rule (with this id, when given) and audits it. */
export async function insertRule(trx: Executor, actor: string, input: RuleInput, grants: StoredGrant[], id?: string): Promise<Rule> {
  try {
    const row = await trx
      .insertInto('birthright_rules')
      .values({
        ...(id ? { id } : {}),
        name: input.name.trim(),
        description: input.description ?? null,
        condition: input.condition,
        grants: JSON.stringify(grants),
        revoke_requested_on_move: input.revokeRequestedOnMove ?? false,
        enabled: input.enabled ?? true,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const rule = toRule(row);
    await appendAudit(trx, [{ actor, action: 'rule.create', objectType: 'rule', objectId: rule.id, after: rule }]);
    return rule;
  } catch (e) {
    throw isUniqueViolation(e, 'birthright_rules_name_key') ? duplicateName(input.name, e) : e;
  }
}

/** Replaces a rule (checked) and audits it; throws rule.not_found. */
export async function replaceRule(trx: Executor, actor: string, id: string, input: RuleInput, grants: StoredGrant[], version?: number): Promise<Rule> {
  const before = UUID.test(id) ? await trx.selectFrom('birthright_rules').selectAll().where('id', '=', id).forUpdate().executeTakeFirst() : undefined;
  if (!before) throw new StewardError('rule.not_found', `no rule has id ${id}`);
  if (version !== undefined && version !== before.version) throw new StewardError('store.conflict', `the rule is at version ${before.version}, not ${version}`);
  try {
    const row = await trx
      .updateTable('birthright_rules')
      .set({
        name: input.name.trim(),
        description: input.description ?? null,
        condition: input.condition,
        grants: JSON.stringify(grants),
        revoke_requested_on_move: input.revokeRequestedOnMove ?? false,
        enabled: input.enabled ?? true,
        version: sql<number>`version + 1`,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const rule = toRule(row);
    await appendAudit(trx, [{ actor, action: 'rule.update', objectType: 'rule', objectId: id, before: toRule(before), after: rule }]);
    return rule;
  } catch (e) {
    throw isUniqueViolation(e, 'birthright_rules_name_key') ? duplicateName(input.name, e) : e;
  }
}

/** Deletes a rule and audits it; throws rule.not_found. */
export async function removeRule(trx: Executor, actor: string, id: string): Promise<Rule> {
  const row = UUID.test(id) ? await trx.deleteFrom('birthright_rules').where('id', '=', id).returningAll().executeTakeFirst() : undefined;
  if (!row) throw new StewardError('rule.not_found', `no rule has id ${id}`);
  const rule = toRule(row);
  await appendAudit(trx, [{ actor, action: 'rule.delete', objectType: 'rule', objectId: id, before: rule }]);
  return rule;
}

/** Puts a rule back as it was (same id, same version), after a held change undid its save; audited. */
export async function restoreRule(trx: Executor, actor: string, rule: Rule): Promise<void> {
  const fields = {
    name: rule.name,
    description: rule.description,
    condition: rule.condition,
    grants: JSON.stringify(rule.grants),
    revoke_requested_on_move: rule.revokeRequestedOnMove,
    enabled: rule.enabled,
    version: rule.version,
  };
  await trx
    .insertInto('birthright_rules')
    .values({ id: rule.id, ...fields, created_at: new Date(rule.createdAt) })
    .onConflict((oc) => oc.column('id').doUpdateSet({ ...fields, updated_at: sql<Date>`now()` }))
    .execute();
  await appendAudit(trx, [{ actor, action: 'rule.restore', objectType: 'rule', objectId: rule.id, after: rule }]);
}

/** Sets (or with null removes) a group's membership rule; throws group.not_found or rule.invalid. */
export async function writeGroupRule(trx: Executor, actor: string, groupId: string, condition: string | null): Promise<void> {
  const group = UUID.test(groupId) ? await trx.selectFrom('groups').select(['id']).where('id', '=', groupId).executeTakeFirst() : undefined;
  if (!group) throw new StewardError('group.not_found', `no group has id ${groupId}`);
  const before = await trx.selectFrom('dynamic_groups').select('condition').where('group_id', '=', groupId).executeTakeFirst();
  if (condition === null) {
    await trx.deleteFrom('dynamic_groups').where('group_id', '=', groupId).execute();
  } else {
    const c = parseCondition(condition);
    if (!c.ok) throw invalidRule(c.errors);
    // A group's rule may not read groups: memberships would depend on the order groups are computed in.
    if (c.value.attributes.has('groups')) throw invalidRule([{ code: 'rule.invalid_condition', field: 'condition', message: "a group's membership rule cannot read groups", line: 1, column: condition.indexOf('groups') + 1 }]);
    await sql`insert into dynamic_groups (group_id, condition) values (${groupId}, ${condition})
              on conflict (group_id) do update set condition = excluded.condition, updated_at = now()`.execute(trx);
  }
  await appendAudit(trx, [{ actor, action: condition === null ? 'group.rule_remove' : 'group.rule_set', objectType: 'group', objectId: groupId, before: before ?? null, after: condition === null ? null : { condition } }]);
}
