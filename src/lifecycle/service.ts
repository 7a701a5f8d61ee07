/**
 * The lifecycle service: joiner, mover and leaver driven by recorded events; rules, roles
 * and rule-based groups whose every change recomputes access (or is held by the safety
 * threshold for an administrator); previews; restores within the grace period.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { STEWARD_USER_URN } from '../domain/identity.ts';
import { StewardError } from '../domain/errors.ts';
import type { IdentityService } from '../services/identities.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import { liveGrants } from '../store/plans.ts';
import { DEFAULT_SAFETY, HeldChange, runInTx, enterLifecycle, type EngineDeps, type ExecutePlan, type ImpactReport, type RunOptions, type SafetySettings } from './engine.ts';
import { completeDueGrace, type GraceOutcome, type ScheduleGraceEnd } from './grace.ts';
import { closeExpiredLeaves, endLeaves, startLeaves } from './leaves.ts';
import { revokeRequestedOnMove } from './mover.ts';
import { addMember, getRole, insertRole, listRoles, removeMember, removeRole, replaceRole, roleMembers, type Role, type RoleInput } from './roles.ts';
import { insertRecompute, pendingRecompute, refuseWhilePending, toRecompute, type EnqueueRecompute, type Recompute, type RecomputeKind, type RecomputePayload, type RecomputeStatus } from './rule-recompute.ts';
import { checkRule, insertRule, removeRule, replaceRule, restoreRule, toRule, writeGroupRule, type Rule, type RuleInput } from './rules.ts';

export type Outcome<T> = { status: 'applied'; value: T; impact: ImpactReport; flowIds: string[] } | { status: 'held'; holdId: string; impact: ImpactReport };

/** Saved; everyone is recomputed by a background job, whose state `getRecompute(recomputeId)` shows. */
export interface Queued<T> {
  status: 'queued';
  value: T;
  recomputeId: string;
}

/** What running one rule recompute did. */
export interface RecomputeRun {
  status: RecomputeStatus | 'missing';
  impact?: ImpactReport;
  holdId?: string;
  error?: string;
  flowIds: string[];
}

export interface Hold {
  id: string;
  kind: string;
  payload: unknown;
  impact: ImpactReport;
  status: string;
  createdBy: string;
  createdAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
}

/** What a preview may change: a rule written (new or replacing `id`), or removed. */
export type PreviewChange = { rule: RuleInput & { id?: string } } | { deleteRuleId: string } | { role: RoleInput & { id?: string } } | { groupRule: { groupId: string; condition: string | null } };

export interface EventsOutcome {
  events: number;
  identities: number;
  held?: string;
  impact?: ImpactReport;
  flowIds: string[];
}

export interface Deprovisioning {
  id: string;
  identityId: string | null;
  applicationId: string;
  nativeIdentity: string;
  action: string;
  status: string;
  startedAt: Date;
  dueAt: Date;
  finishedAt: Date | null;
}

export interface LifecycleService {
  listRules(): Promise<Rule[]>;
  getRule(id: string): Promise<Rule>;
  /** Saves the rule and queues the recompute of everyone (the safety threshold may hold it then: see `getRecompute`). */
  createRule(actor: Actor, input: RuleInput, confirmed?: boolean): Promise<Queued<Rule>>;
  updateRule(actor: Actor, id: string, input: RuleInput, confirmed?: boolean): Promise<Queued<Rule>>;
  deleteRule(actor: Actor, id: string, confirmed?: boolean): Promise<Queued<Rule>>;
  /** Runs a rule save's recompute (the job's work; idempotent: a finished one is left alone). */
  runRecompute(id: string): Promise<RecomputeRun>;
  /** A rule save's recompute: state, progress, outcome. */
  getRecompute(id: string): Promise<Recompute>;
  preview(change: PreviewChange): Promise<ImpactReport>;
  listRoles(): Promise<Role[]>;
  getRole(id: string): Promise<Role>;
  createRole(actor: Actor, input: RoleInput): Promise<Role>;
  updateRole(actor: Actor, id: string, input: RoleInput, confirmed?: boolean): Promise<Outcome<Role>>;
  deleteRole(actor: Actor, id: string, confirmed?: boolean): Promise<Outcome<null>>;
  roleMembers(roleId: string): Promise<{ identityId: string; source: string; createdAt: Date }[]>;
  grantRole(actor: Actor, roleId: string, identityId: string, source?: 'request' | 'direct'): Promise<Outcome<boolean>>;
  revokeRole(actor: Actor, roleId: string, identityId: string): Promise<Outcome<null>>;
  setGroupRule(actor: Actor, groupId: string, condition: string | null, confirmed?: boolean): Promise<Outcome<null>>;
  getGroupRule(groupId: string): Promise<string | null>;
  /** Recomputes every identity (or these); the threshold holds a large removal unless confirmed. */
  recompute(actor: Actor, o?: { ids?: string[]; confirmed?: boolean; onProgress?: (done: number, total: number) => void }): Promise<Outcome<null>>;
  /** Processes recorded events: leavers, re-hires, movers, joiners; one transaction. */
  processEvents(o?: { confirmed?: boolean; onlySeqs?: number[] }): Promise<EventsOutcome>;
  /** Ends the grace periods due now (or one). */
  completeGrace(onlyId?: string): Promise<GraceOutcome & { flowIds: string[] }>;
  restoreIdentity(actor: Actor, identityId: string): Promise<{ restored: Deprovisioning[]; rehired: boolean }>;
  restoreAccount(actor: Actor, identityId: string, accountId: string): Promise<Deprovisioning>;
  deprovisioningsOf(identityId: string): Promise<Deprovisioning[]>;
  listHolds(status?: string): Promise<Hold[]>;
  /** Applies a held change as it stands now; a rule change is saved again and its recompute queued (confirmed). */
  confirmHold(actor: Actor, id: string): Promise<Outcome<unknown> | Queued<unknown>>;
  discardHold(actor: Actor, id: string): Promise<Hold>;
  events(f: { identityId?: string; afterSeq?: number; limit: number }): Promise<{ seq: number; at: Date; kind: string; identityId: string | null; groupId: string | null; detail: unknown; status: string }[]>;
}

export interface LifecycleDeps {
  db: Db;
  identities: IdentityService;
  /** The clock; tests pass a controllable one. */
  now?: () => Date;
  executePlan?: ExecutePlan;
  scheduleGraceEnd?: ScheduleGraceEnd;
  /** Sends the job that recomputes everyone after a rule save; without it, the save runs the recompute itself once committed. */
  enqueueRecompute?: EnqueueRecompute;
  safety?: Partial<SafetySettings>;
  batchSize?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class Rollback extends Error {
  readonly impact: ImpactReport;
  constructor(impact: ImpactReport) {
    super('preview rollback');
    this.impact = impact;
  }
}

const toDeprovisioning = (r: { id: string; identity_id: string | null; application_id: string; native_identity: string; action: string; status: string; started_at: Date; due_at: Date; finished_at: Date | null }): Deprovisioning => ({
  id: r.id,
  identityId: r.identity_id,
  applicationId: r.application_id,
  nativeIdentity: r.native_identity,
  action: r.action,
  status: r.status,
  startedAt: r.started_at,
  dueAt: r.due_at,
  finishedAt: r.finished_at,
});

const isGood = (status: unknown, active: unknown) => status === 'active' && active !== false;

export function createLifecycleService(deps: LifecycleDeps): LifecycleService {
  const { db } = deps;
  const engine: EngineDeps = {
    now: deps.now ?? (() => new Date()),
    batchSize: deps.batchSize ?? 5000,
    safety: { ...DEFAULT_SAFETY, ...deps.safety },
    ...(deps.executePlan ? { executePlan: deps.executePlan } : {}),
    ...(deps.scheduleGraceEnd ? { scheduleGraceEnd: deps.scheduleGraceEnd } : {}),
  };

  async function holdIn(trx: Executor, kind: string, payload: unknown, impact: ImpactReport, actor: string): Promise<string> {
    const row = await trx.insertInto('lifecycle_holds').values({ kind, payload: JSON.stringify(payload), impact: JSON.stringify(impact), created_by: actor }).returning('id').executeTakeFirstOrThrow();
    await appendAudit(trx, [{ actor, action: 'lifecycle.hold', objectType: 'lifecycle_hold', objectId: row.id, after: { kind, payload, applications: impact.applications.filter((a) => a.overThreshold) } }]);
    return row.id;
  }
  const hold = (kind: string, payload: unknown, impact: ImpactReport, actor: string) => db.tx((trx) => holdIn(trx, kind, payload, impact, actor));

  /**
   * Saves a rule change with its recompute queued, all in one transaction: the status row
   * and the job are written before the rule, so a save that fails (a taken name) rolls
   * both back. Without a queue the recompute runs here, once the save has committed.
   */
  async function saveRule(actor: Actor, kind: RecomputeKind, confirmed: boolean | undefined, change: { id?: string; input?: RuleInput }, write: (trx: Executor, ruleId: string) => Promise<Rule>): Promise<Queued<Rule>> {
    const label = actorLabel(actor);
    const saved = await db.tx(async (trx) => {
      await refuseWhilePending(trx);
      const ruleId = change.id ?? randomUUID();
      const before = change.id && UUID.test(change.id) ? await trx.selectFrom('birthright_rules').selectAll().where('id', '=', change.id).executeTakeFirst() : undefined;
      if (change.id && !before) throw new StewardError('rule.not_found', `no rule has id ${change.id}`);
      const payload: RecomputePayload = { change, before: before ? toRule(before) : null };
      const recomputeId = await insertRecompute(trx, { kind, ruleId, payload, confirmed: confirmed === true, actor: label });
      await deps.enqueueRecompute?.(trx, recomputeId);
      return { rule: await write(trx, ruleId), recomputeId };
    });
    if (!deps.enqueueRecompute) await runRecompute(saved.recomputeId);
    return { status: 'queued', value: saved.rule, recomputeId: saved.recomputeId };
  }

  async function runRecompute(id: string): Promise<RecomputeRun> {
    const row = UUID.test(id) ? await db.k.selectFrom('lifecycle_recomputes').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) return { status: 'missing', flowIds: [] };
    if (row.status !== 'queued' && row.status !== 'running') return { status: row.status as RecomputeStatus, flowIds: [] };
    await db.k.updateTable('lifecycle_recomputes').set({ status: 'running', started_at: engine.now(), error: null }).where('id', '=', id).execute();
    // Progress is written outside the run's transaction, so others see it while it runs: on
    // PostgreSQL through another connection; PGlite has one session, and shows the end only.
    let progress: Promise<unknown> = Promise.resolve();
    const onProgress = (done: number, total: number) => {
      if (db.kind !== 'postgres') return;
      progress = progress
        .then(() => db.k.updateTable('lifecycle_recomputes').set({ processed: done, total }).where('id', '=', id).where('status', '=', 'running').execute())
        .catch(() => undefined);
    };
    try {
      const r = await db.tx(async (trx) => {
        await enterLifecycle(trx);
        const r = await runInTx(trx, engine, { actor: row.created_by, confirmed: row.confirmed, onProgress });
        await trx
          .updateTable('lifecycle_recomputes')
          .set({ status: 'applied', impact: JSON.stringify(r.impact), flows: r.flowIds.length, processed: r.impact.evaluated, total: r.impact.evaluated, finished_at: engine.now() })
          .where('id', '=', id)
          .execute();
        return r;
      });
      return { status: 'applied', impact: r.impact, flowIds: r.flowIds };
    } catch (e) {
      if (e instanceof HeldChange) {
        // Nothing of the change is applied: the rule goes back to what it was, and the change
        // waits as a held one (confirming it saves it again, confirmed).
        const p = row.payload as RecomputePayload;
        const holdId = await db.tx(async (trx) => {
          if (p.before) await restoreRule(trx, 'lifecycle', p.before);
          else await removeRule(trx, 'lifecycle', row.rule_id);
          const holdId = await holdIn(trx, row.kind, p.change, e.impact, row.created_by);
          await trx
            .updateTable('lifecycle_recomputes')
            .set({ status: 'held', hold_id: holdId, impact: JSON.stringify(e.impact), processed: e.impact.evaluated, total: e.impact.evaluated, finished_at: engine.now() })
            .where('id', '=', id)
            .execute();
          return holdId;
        });
        return { status: 'held', holdId, impact: e.impact, flowIds: [] };
      }
      const error = e instanceof Error ? e.message : String(e);
      await db.k.updateTable('lifecycle_recomputes').set({ status: 'failed', error, finished_at: engine.now() }).where('id', '=', id).execute();
      return { status: 'failed', error, flowIds: [] };
    } finally {
      await progress;
    }
  }

  /** Writes a change and recomputes everyone in one transaction; held (and rolled back) over the threshold. */
  async function change<T>(actor: Actor, kind: string, payload: unknown, confirmed: boolean | undefined, write: (trx: Executor) => Promise<T>, o: Partial<RunOptions> = {}): Promise<Outcome<T>> {
    const label = actorLabel(actor);
    try {
      return await db.tx(async (trx) => {
        await enterLifecycle(trx);
        const value = await write(trx);
        const r = await runInTx(trx, engine, { actor: label, confirmed, ...o });
        return { status: 'applied' as const, value, impact: r.impact, flowIds: r.flowIds };
      });
    } catch (e) {
      if (!(e instanceof HeldChange)) throw e;
      return { status: 'held', holdId: await hold(kind, payload, e.impact, label), impact: e.impact };
    }
  }

  async function previewWith(write: (trx: Executor) => Promise<unknown>): Promise<ImpactReport> {
    try {
      await db.tx(async (trx) => {
        await enterLifecycle(trx);
        await write(trx);
        const r = await runInTx(trx, engine, { actor: 'preview', preview: true });
        throw new Rollback(r.impact);
      });
    } catch (e) {
      if (e instanceof Rollback) return e.impact;
      throw e;
    }
    throw new Error('unreachable: a preview always rolls back');
  }

  const createRule = async (actor: Actor, input: RuleInput, confirmed?: boolean) => {
    const { grants } = await checkRule(db.k, input);
    return saveRule(actor, 'rule.create', confirmed, { input }, (trx, ruleId) => insertRule(trx, actorLabel(actor), input, grants, ruleId));
  };
  const updateRule = async (actor: Actor, id: string, input: RuleInput, confirmed?: boolean) => {
    const { grants } = await checkRule(db.k, input);
    return saveRule(actor, 'rule.update', confirmed, { id, input }, (trx) => replaceRule(trx, actorLabel(actor), id, input, grants));
  };
  const deleteRule = (actor: Actor, id: string, confirmed?: boolean) => saveRule(actor, 'rule.delete', confirmed, { id }, (trx) => removeRule(trx, actorLabel(actor), id));
  const updateRole = (actor: Actor, id: string, input: RoleInput, confirmed?: boolean) => change(actor, 'role.update', { id, input }, confirmed, (trx) => replaceRole(trx, actorLabel(actor), id, input));
  const deleteRole = (actor: Actor, id: string, confirmed?: boolean) =>
    change(actor, 'role.delete', { id }, confirmed, async (trx) => {
      await removeRole(trx, actorLabel(actor), id);
      return null;
    });
  const setGroupRule = (actor: Actor, groupId: string, condition: string | null, confirmed?: boolean) =>
    change(actor, 'group.rule', { groupId, condition }, confirmed, async (trx) => {
      await writeGroupRule(trx, actorLabel(actor), groupId, condition);
      return null;
    });
  const recompute: LifecycleService['recompute'] = (actor, o = {}) =>
    change(actor, 'recompute', { ids: o.ids ?? null }, o.confirmed, async () => null, { ...(o.ids ? { ids: o.ids } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });

  async function processEvents(o: { confirmed?: boolean; onlySeqs?: number[] } = {}): Promise<EventsOutcome> {
    let seqs: number[] = [];
    // While a rule's recompute is queued or running, events wait: they would apply a rule
    // change the safety threshold may still hold (a held event batch, confirmed, goes on).
    if (!o.onlySeqs && (await pendingRecompute(db.k))) return { events: 0, identities: 0, flowIds: [] };
    try {
      return await db.tx(async (trx) => {
        await enterLifecycle(trx);
        const now = engine.now();
        let q = trx.selectFrom('lifecycle_events').selectAll();
        q = o.onlySeqs ? q.where(sql<boolean>`seq = any(${o.onlySeqs}::bigint[])`).where('status', 'in', ['pending', 'held']) : q.where('status', '=', 'pending');
        const events = await q.orderBy('seq').limit(20_000).execute();
        seqs = events.map((e) => Number(e.seq));
        if (events.length === 0) return { events: 0, identities: 0, flowIds: [] };
        const ids = new Set<string>();
        const groupIds = new Set<string>();
        const firstStanding = new Map<string, boolean>();
        const moved = new Map<string, Record<string, unknown>>();
        for (const e of events) {
          if (e.kind === 'identity.removed') continue;
          if (e.identity_id) ids.add(e.identity_id);
          else if (e.group_id) groupIds.add(e.group_id);
          const d = e.detail;
          if (e.kind === 'identity.status_changed' && e.identity_id && !firstStanding.has(e.identity_id)) firstStanding.set(e.identity_id, isGood(d.fromStatus, d.fromActive));
          if (e.kind === 'identity.attributes_changed' && e.identity_id && !moved.has(e.identity_id)) moved.set(e.identity_id, d.before as Record<string, unknown>);
        }
        if (groupIds.size > 0) {
          const members = await trx.selectFrom('group_members').select('identity_id').where(sql<boolean>`group_id = any(${[...groupIds]}::uuid[])`).execute();
          for (const m of members) ids.add(m.identity_id);
        }
        const rows = ids.size ? await trx.selectFrom('identities').select(['id', 'status', 'active']).where(sql<boolean>`id = any(${[...ids]}::uuid[])`).execute() : [];
        const leavers: string[] = [];
        const returners: string[] = [];
        for (const r of rows) {
          const was = firstStanding.get(r.id);
          if (was === undefined) continue;
          const is = isGood(r.status, r.active);
          if (was && !is) leavers.push(r.id);
          if (!was && is) returners.push(r.id);
        }
        const label = 'lifecycle';
        await endLeaves(trx, returners, now, label);
        await startLeaves(trx, leavers, now, label);
        await revokeRequestedOnMove(trx, moved, now, label);
        await closeExpiredLeaves(trx, now);
        const existing = rows.map((r) => r.id);
        const r = await runInTx(trx, engine, { actor: label, ids: existing, force: new Set(existing), confirmed: o.confirmed });
        await trx.updateTable('lifecycle_events').set({ status: 'processed', processed_at: now }).where(sql<boolean>`seq = any(${seqs}::bigint[])`).execute();
        return { events: events.length, identities: existing.length, impact: r.impact, flowIds: r.flowIds };
      });
    } catch (e) {
      if (!(e instanceof HeldChange)) throw e;
      const holdId = await hold('events', { seqs }, e.impact, 'lifecycle');
      await db.k.updateTable('lifecycle_events').set({ status: 'held' }).where(sql<boolean>`seq = any(${seqs}::bigint[])`).execute();
      return { events: seqs.length, identities: e.impact.evaluated, held: holdId, impact: e.impact, flowIds: [] };
    }
  }

  async function loadHold(ex: Executor, id: string): Promise<Hold> {
    const r = UUID.test(id) ? await ex.selectFrom('lifecycle_holds').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!r) throw new StewardError('lifecycle.hold_not_found', `no held change has id ${id}`);
    return { id: r.id, kind: r.kind, payload: r.payload, impact: r.impact as ImpactReport, status: r.status, createdBy: r.created_by, createdAt: r.created_at, decidedBy: r.decided_by, decidedAt: r.decided_at };
  }

  async function decide(actor: Actor, id: string, status: 'confirmed' | 'discarded'): Promise<Hold> {
    return db.tx(async (trx) => {
      const h = await loadHold(trx, id);
      if (h.status !== 'held') throw new StewardError('lifecycle.hold_decided', `the held change was ${h.status} already`);
      await trx.updateTable('lifecycle_holds').set({ status, decided_by: actorLabel(actor), decided_at: engine.now() }).where('id', '=', id).execute();
      await appendAudit(trx, [{ actor: actorLabel(actor), action: status === 'confirmed' ? 'lifecycle.hold_confirm' : 'lifecycle.hold_discard', objectType: 'lifecycle_hold', objectId: id, after: { kind: h.kind } }]);
      if (status === 'discarded' && h.kind === 'events') {
        await trx.updateTable('lifecycle_events').set({ status: 'processed', processed_at: engine.now() }).where(sql<boolean>`seq = any(${(h.payload as { seqs: number[] }).seqs}::bigint[])`).execute();
      }
      return { ...h, status };
    });
  }

  async function requireIdentity(id: string): Promise<void> {
    const r = UUID.test(id) ? await db.k.selectFrom('identities').select('id').where('id', '=', id).executeTakeFirst() : undefined;
    if (!r) throw new StewardError('identity.not_found', `no identity has id ${id}`);
  }

  /** Gives an account in its grace period its access back, inside `trx`. */
  async function restoreOne(trx: Executor, actor: string, row: { id: string; identity_id: string | null; application_id: string; started_at: Date }): Promise<void> {
    const now = engine.now();
    const identityId = row.identity_id!;
    await endLeaves(trx, [identityId], now, actor, row.application_id);
    const live = (await liveGrants(trx, [identityId], now)).filter((g) => g.application_id === row.application_id);
    if (live.length === 0) {
      // Access owned by rules the identity no longer matches comes back as the administrator's own (direct) grant.
      const lost = await sql<{ entitlement_id: string | null }>`
        select distinct entitlement_id from assignments
         where identity_id = ${identityId} and application_id = ${row.application_id} and status = 'revoked' and updated_at >= ${row.started_at}`.execute(trx);
      const items = lost.rows.length > 0 ? lost.rows.map((l) => l.entitlement_id) : [null];
      if (!items.includes(null)) items.push(null);
      const created = await trx
        .insertInto('assignments')
        .values(items.map((e) => ({ identity_id: identityId, application_id: row.application_id, entitlement_id: e, source: 'direct', status: 'active', valid_from: null, valid_until: null })))
        .onConflict((oc) => oc.doNothing())
        .returning(['id', 'entitlement_id'])
        .execute();
      await appendAudit(trx, created.map((c) => ({ actor, action: 'assignment.create', objectType: 'assignment', objectId: c.id, after: { identityId, applicationId: row.application_id, entitlementId: c.entitlement_id, source: 'direct', reason: 'restore' } })));
    }
  }

  return {
    async listRules() {
      return (await db.k.selectFrom('birthright_rules').selectAll().orderBy(sql`lower(name)`).execute()).map(toRule);
    },
    async getRule(id) {
      const r = UUID.test(id) ? await db.k.selectFrom('birthright_rules').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
      if (!r) throw new StewardError('rule.not_found', `no rule has id ${id}`);
      return toRule(r);
    },
    createRule,
    updateRule,
    deleteRule,
    runRecompute,
    async getRecompute(id) {
      const r = UUID.test(id) ? await db.k.selectFrom('lifecycle_recomputes').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
      if (!r) throw new StewardError('lifecycle.recompute_not_found', `no rule recompute has id ${id}`);
      return toRecompute(r);
    },
    async preview(c) {
      if ('rule' in c) {
        const { grants } = await checkRule(db.k, c.rule);
        return previewWith((trx) => (c.rule.id ? replaceRule(trx, 'preview', c.rule.id, c.rule, grants) : insertRule(trx, 'preview', c.rule, grants)));
      }
      if ('deleteRuleId' in c) return previewWith((trx) => removeRule(trx, 'preview', c.deleteRuleId));
      if ('role' in c) return previewWith((trx) => (c.role.id ? replaceRole(trx, 'preview', c.role.id, c.role) : insertRole(trx, 'preview', c.role)));
      return previewWith((trx) => writeGroupRule(trx, 'preview', c.groupRule.groupId, c.groupRule.condition));
    },
    listRoles: () => listRoles(db.k),
    getRole: (id) => getRole(db.k, id),
    // A new role is granted to no one yet: nothing to recompute.
    createRole: (actor, input) => db.tx((trx) => insertRole(trx, actorLabel(actor), input)),
    updateRole,
    deleteRole,
    roleMembers: (roleId) => roleMembers(db.k, roleId),
    grantRole: (actor, roleId, identityId, source = 'request') =>
      change(actor, 'role.grant', { roleId, identityId }, true, (trx) => addMember(trx, actorLabel(actor), roleId, identityId, source), { ids: [identityId] }),
    revokeRole: (actor, roleId, identityId) =>
      change(
        actor,
        'role.revoke',
        { roleId, identityId },
        true,
        async (trx) => {
          await removeMember(trx, actorLabel(actor), roleId, identityId);
          return null;
        },
        { ids: [identityId] },
      ),
    setGroupRule,
    async getGroupRule(groupId) {
      const r = UUID.test(groupId) ? await db.k.selectFrom('dynamic_groups').select('condition').where('group_id', '=', groupId).executeTakeFirst() : undefined;
      return r?.condition ?? null;
    },
    recompute,
    processEvents,
    async completeGrace(onlyId) {
      return db.tx(async (trx) => {
        await enterLifecycle(trx);
        const now = engine.now();
        const out = await completeDueGrace(trx, now, 'lifecycle', onlyId);
        await closeExpiredLeaves(trx, now);
        const flowIds: string[] = [];
        if (engine.executePlan) for (const p of out.plans) flowIds.push(...(await engine.executePlan(trx, p, 'lifecycle')).flowIds);
        return { ...out, flowIds };
      });
    },
    async restoreIdentity(actor, identityId) {
      await requireIdentity(identityId);
      const now = engine.now();
      const identity = await db.k.selectFrom('identities').select(['status', 'active']).where('id', '=', identityId).executeTakeFirstOrThrow();
      const leave = await db.k.selectFrom('lifecycle_leaves').select(['id', 'restore_until']).where('identity_id', '=', identityId).where('status', '=', 'open').executeTakeFirst();
      let rehired = false;
      if (!isGood(identity.status, identity.active) && leave && leave.restore_until > now) {
        // Reversing a leave is a re-hire: the identity is active again and the leave gives everything back.
        await deps.identities.patch(actor, identityId, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [
            { op: 'replace', path: 'active', value: true },
            { op: 'replace', path: `${STEWARD_USER_URN}:lifecycleStatus`, value: 'active' },
          ],
        });
        await processEvents();
        rehired = true;
      }
      const open = await db.k.selectFrom('deprovisionings').selectAll().where('identity_id', '=', identityId).where('status', '=', 'grace').execute();
      if (open.length > 0) {
        await db.tx(async (trx) => {
          await enterLifecycle(trx);
          for (const row of open) await restoreOne(trx, actorLabel(actor), row);
          await runInTx(trx, engine, { actor: actorLabel(actor), ids: [identityId], force: new Set([identityId]), confirmed: true });
        });
      }
      if (!rehired && open.length === 0) throw new StewardError('lifecycle.nothing_to_restore', `identity ${identityId} has no account in a grace period and no leave that can still be reversed`);
      const restored = await db.k.selectFrom('deprovisionings').selectAll().where('identity_id', '=', identityId).where('status', '=', 'restored').where('finished_at', '>=', now).execute();
      return { restored: restored.map(toDeprovisioning), rehired };
    },
    async restoreAccount(actor, identityId, accountId) {
      await requireIdentity(identityId);
      const account = UUID.test(accountId) ? await db.k.selectFrom('accounts').select(['id', 'application_id', 'native_identity', 'identity_id']).where('id', '=', accountId).executeTakeFirst() : undefined;
      if (!account || account.identity_id !== identityId) throw new StewardError('account.not_found', `identity ${identityId} has no account with id ${accountId}`);
      const row = await db.k.selectFrom('deprovisionings').selectAll().where('application_id', '=', account.application_id).where('native_identity', '=', account.native_identity).where('status', '=', 'grace').executeTakeFirst();
      if (!row) throw new StewardError('lifecycle.nothing_to_restore', `account ${accountId} is not in a grace period`);
      await db.tx(async (trx) => {
        await enterLifecycle(trx);
        await restoreOne(trx, actorLabel(actor), row);
        const r = await runInTx(trx, engine, { actor: actorLabel(actor), ids: [identityId], force: new Set([identityId]), confirmed: true });
        // The compiled plan re-enables the account; were it enabled already, nothing ends the period but this.
        const still = await trx.selectFrom('deprovisionings').select('status').where('id', '=', row.id).executeTakeFirstOrThrow();
        if (still.status === 'grace') {
          await trx.updateTable('deprovisionings').set({ status: 'restored', finished_at: engine.now() }).where('id', '=', row.id).execute();
          await appendAudit(trx, [{ actor: actorLabel(actor), action: 'deprovisioning.restore', objectType: 'deprovisioning', objectId: row.id, after: { reason: 'restored by an administrator' } }]);
        }
        return r;
      });
      return toDeprovisioning(await db.k.selectFrom('deprovisionings').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow());
    },
    async deprovisioningsOf(identityId) {
      await requireIdentity(identityId);
      return (await db.k.selectFrom('deprovisionings').selectAll().where('identity_id', '=', identityId).orderBy('started_at').orderBy('id').execute()).map(toDeprovisioning);
    },
    async listHolds(status) {
      let q = db.k.selectFrom('lifecycle_holds').select('id').orderBy('created_at', 'desc').limit(500);
      if (status) q = q.where('status', '=', status);
      return Promise.all((await q.execute()).map((r) => loadHold(db.k, r.id)));
    },
    async confirmHold(actor, id) {
      const h = await decide(actor, id, 'confirmed');
      const p = h.payload as Record<string, unknown>;
      switch (h.kind) {
        case 'events': {
          const r = await processEvents({ confirmed: true, onlySeqs: (p as { seqs: number[] }).seqs });
          return { status: 'applied', value: { events: r.events }, impact: r.impact!, flowIds: r.flowIds };
        }
        case 'rule.create':
          return createRule(actor, p.input as RuleInput, true);
        case 'rule.update':
          return updateRule(actor, p.id as string, p.input as RuleInput, true);
        case 'rule.delete':
          return deleteRule(actor, p.id as string, true);
        case 'role.update':
          return updateRole(actor, p.id as string, p.input as RoleInput, true);
        case 'role.delete':
          return deleteRole(actor, p.id as string, true);
        case 'group.rule':
          return setGroupRule(actor, p.groupId as string, p.condition as string | null, true);
        case 'recompute':
          return recompute(actor, { ...(p.ids ? { ids: p.ids as string[] } : {}), confirmed: true });
        default:
          throw new Error(`unknown held change kind ${h.kind}`);
      }
    },
    discardHold: (actor, id) => decide(actor, id, 'discarded'),
    async events(f) {
      let q = db.k.selectFrom('lifecycle_events').selectAll().orderBy('seq').limit(f.limit);
      if (f.identityId) q = q.where('identity_id', '=', f.identityId);
      if (f.afterSeq !== undefined) q = q.where('seq', '>', f.afterSeq);
      return (await q.execute()).map((e) => ({ seq: Number(e.seq), at: e.at, kind: e.kind, identityId: e.identity_id, groupId: e.group_id, detail: e.detail, status: e.status }));
    },
  };
}

