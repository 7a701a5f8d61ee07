/**
 * Recomputation: for a batch of identities, what the rules, roles and rule-based groups say
 * they should hold, made true in the store (birthright and role assignments, dynamic group
 * members), and the plans that take their accounts there — compiled by the plan compiler
 * for exactly the identities whose access changed. A constant number of set-based
 * statements per batch, whatever its size.
 */
import { sql } from 'kysely';
import type { ProvisioningPlan } from '../plan/index.ts';
// Straight from the compiler's module: services/index.ts builds the lifecycle service, so going through it would be a cycle.
import { compilePlans } from '../services/plan-compile.ts';
import { appendAudit, type AuditInput } from '../store/audit.ts';
import type { Executor } from '../store/db.ts';
import { loadFacts, type IdentityFacts } from './facts.ts';
import type { AccessItem, Ruleset } from './ruleset.ts';

/** Sources of the assignments recomputation owns; every other source is left alone. */
export const OWNED_SOURCES = ['birthright', 'role'] as const;
type OwnedSource = (typeof OWNED_SOURCES)[number];

export const SAMPLE_SIZE = 10;

/** Who gains or loses one application or entitlement. */
export interface AccessChange {
  applicationId: string;
  entitlementId: string | null;
  count: number;
  /** Up to ten userNames. */
  sample: string[];
}

export interface GroupChange {
  groupId: string;
  added: number;
  removed: number;
  sample: string[];
}

/** What a run changes, gathered across its batches. */
export class ImpactCollector {
  readonly gains = new Map<string, AccessChange>();
  readonly losses = new Map<string, AccessChange>();
  readonly groups = new Map<string, GroupChange>();
  evaluated = 0;
  changed = 0;

  note(into: Map<string, AccessChange>, item: AccessItem, userName: string): void {
    const key = `${item.applicationId}|${item.entitlementId ?? ''}`;
    let c = into.get(key);
    if (!c) into.set(key, (c = { applicationId: item.applicationId, entitlementId: item.entitlementId, count: 0, sample: [] }));
    c.count++;
    if (c.sample.length < SAMPLE_SIZE) c.sample.push(userName);
  }

  noteGroup(groupId: string, added: boolean, userName: string): void {
    let g = this.groups.get(groupId);
    if (!g) this.groups.set(groupId, (g = { groupId, added: 0, removed: 0, sample: [] }));
    if (added) g.added++;
    else g.removed++;
    if (g.sample.length < SAMPLE_SIZE) g.sample.push(userName);
  }
}

export interface BatchContext {
  now: Date;
  /** The audit actor of the writes. */
  actor: string;
  ruleset: Ruleset;
  /** Identities whose plan is compiled even when their assignments did not change (their own events). */
  force?: ReadonlySet<string>;
  impact: ImpactCollector;
}

interface OwnedRow {
  id: string;
  identity_id: string;
  application_id: string;
  entitlement_id: string | null;
  source: OwnedSource;
}

const keyOf = (identityId: string, item: AccessItem, source: string) => `${identityId}|${item.applicationId}|${item.entitlementId ?? ''}|${source}`;

/** Brings the rule-based groups' members among these identities up to date; returns who changed. */
async function syncDynamicGroups(trx: Executor, facts: Map<string, IdentityFacts>, ctx: BatchContext): Promise<Set<string>> {
  const changed = new Set<string>();
  const groups = ctx.ruleset.dynamicGroups;
  if (groups.length === 0 || facts.size === 0) return changed;
  const ids = [...facts.keys()];
  const current = await trx
    .selectFrom('group_members')
    .select(['group_id', 'identity_id'])
    .where(sql<boolean>`group_id = any(${groups.map((g) => g.groupId)}::uuid[]) and identity_id = any(${ids}::uuid[])`)
    .execute();
  const have = new Set(current.map((m) => `${m.group_id}|${m.identity_id}`));
  const add: { g: string; i: string }[] = [];
  const remove: { g: string; i: string }[] = [];
  const events: AuditInput[] = [];
  for (const g of groups) {
    for (const f of facts.values()) {
      const want = f.inGoodStanding && g.condition.test(f.facts);
      const is = have.has(`${g.groupId}|${f.id}`);
      if (want === is) continue;
      (want ? add : remove).push({ g: g.groupId, i: f.id });
      changed.add(f.id);
      ctx.impact.noteGroup(g.groupId, want, f.userName);
      const names = f.facts.groups as string[] | undefined;
      if (names) f.facts.groups = want ? [...names, g.displayName] : names.filter((n) => n !== g.displayName);
      events.push({ actor: ctx.actor, action: want ? 'group.member_add' : 'group.member_remove', objectType: 'group', objectId: g.groupId, after: { identityId: f.id, reason: 'rule' } });
    }
  }
  if (add.length > 0) {
    await sql`insert into group_members (group_id, identity_id) select * from unnest(${add.map((a) => a.g)}::uuid[], ${add.map((a) => a.i)}::uuid[]) on conflict do nothing`.execute(trx);
  }
  if (remove.length > 0) {
    await sql`delete from group_members where (group_id, identity_id) in (select * from unnest(${remove.map((a) => a.g)}::uuid[], ${remove.map((a) => a.i)}::uuid[]))`.execute(trx);
  }
  await appendAudit(trx, events);
  return changed;
}

/** What the ruleset grants each identity in good standing, by assignment key. */
async function desiredAccess(trx: Executor, facts: Map<string, IdentityFacts>, ruleset: Ruleset): Promise<Map<string, { identityId: string; item: AccessItem; source: OwnedSource }>> {
  const want = new Map<string, { identityId: string; item: AccessItem; source: OwnedSource }>();
  const put = (identityId: string, item: AccessItem, source: OwnedSource) => want.set(keyOf(identityId, item, source), { identityId, item, source });
  const good = [...facts.values()].filter((f) => f.inGoodStanding);
  for (const f of good) for (const rule of ruleset.rules) if (rule.condition.test(f.facts)) for (const item of rule.items) put(f.id, item, 'birthright');
  if (ruleset.roleItems.size > 0 && good.length > 0) {
    const members = await trx.selectFrom('role_members').select(['role_id', 'identity_id']).where(sql<boolean>`identity_id = any(${good.map((f) => f.id)}::uuid[])`).execute();
    for (const m of members) for (const item of ruleset.roleItems.get(m.role_id) ?? []) put(m.identity_id, item, 'role');
  }
  return want;
}

/**
 * Recomputes one batch inside the caller's transaction: group members and owned
 * assignments written, audited, and the plans of the identities whose access changed
 * (or that `force` names) compiled. Plans with no request are left out.
 */
export async function recomputeBatch(trx: Executor, ids: readonly string[], ctx: BatchContext): Promise<ProvisioningPlan[]> {
  const facts = await loadFacts(trx, ids, ctx.ruleset.needs);
  ctx.impact.evaluated += facts.size;
  const changed = await syncDynamicGroups(trx, facts, ctx);
  const want = await desiredAccess(trx, facts, ctx.ruleset);

  const existing = (
    await sql<OwnedRow>`
      select id, identity_id, application_id, entitlement_id, source from assignments
       where identity_id = any(${[...facts.keys()]}::uuid[]) and source in ('birthright', 'role') and status = 'active'`.execute(trx)
  ).rows;
  const revoke: OwnedRow[] = [];
  for (const row of existing) {
    const k = keyOf(row.identity_id, { applicationId: row.application_id, entitlementId: row.entitlement_id }, row.source);
    if (want.has(k)) want.delete(k);
    else revoke.push(row);
  }
  const add = [...want.values()];
  const events: AuditInput[] = [];
  if (add.length > 0) {
    const inserted = await sql<{ id: string; identity_id: string; application_id: string; entitlement_id: string | null; source: string }>`
      insert into assignments (identity_id, application_id, entitlement_id, source, status)
      select u.i, u.a, u.e, u.s, 'active'
        from unnest(${add.map((a) => a.identityId)}::uuid[], ${add.map((a) => a.item.applicationId)}::uuid[], ${add.map((a) => a.item.entitlementId)}::uuid[], ${add.map((a) => a.source)}::text[]) as u(i, a, e, s)
      returning id, identity_id, application_id, entitlement_id, source`.execute(trx);
    for (const r of inserted.rows) {
      events.push({ actor: ctx.actor, action: 'assignment.create', objectType: 'assignment', objectId: r.id, after: { identityId: r.identity_id, applicationId: r.application_id, entitlementId: r.entitlement_id, source: r.source, status: 'active' } });
    }
  }
  if (revoke.length > 0) {
    await sql`update assignments set status = 'revoked', updated_at = ${ctx.now} where id = any(${revoke.map((r) => r.id)}::uuid[])`.execute(trx);
    for (const r of revoke) {
      events.push({ actor: ctx.actor, action: 'assignment.revoke', objectType: 'assignment', objectId: r.id, before: { identityId: r.identity_id, applicationId: r.application_id, entitlementId: r.entitlement_id, source: r.source, status: 'active' } });
    }
  }
  await appendAudit(trx, events);

  for (const a of add) {
    changed.add(a.identityId);
    ctx.impact.note(ctx.impact.gains, a.item, facts.get(a.identityId)!.userName);
  }
  for (const r of revoke) {
    changed.add(r.identity_id);
    ctx.impact.note(ctx.impact.losses, { applicationId: r.application_id, entitlementId: r.entitlement_id }, facts.get(r.identity_id)!.userName);
  }
  for (const id of ctx.force ?? []) if (facts.has(id)) changed.add(id);
  ctx.impact.changed += changed.size;
  if (changed.size === 0) return [];
  const plans = await compilePlans(trx, [...changed], ctx.now);
  return [...plans.values()].filter((p) => p.accountRequests.length > 0);
}
