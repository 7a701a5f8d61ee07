import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import type { Problem } from '../domain/result.ts';
import type { EntitlementKind } from '../domain/schema.ts';
import { getApplicationRow } from '../store/applications.ts';
import { identityEntitlementRows, insertAssignments, listApplicationAssignmentRows, liveAssignments, type Holder } from '../store/assignments.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import { entitlementsByIds } from '../store/entitlements.ts';
import { isUniqueViolation } from '../store/errors.ts';
import type { AssignmentRow } from '../store/tables.ts';
import { checkKey, keyPage, type KeyPage } from './paging.ts';

export const ASSIGNMENT_STATUSES = ['pending', 'active', 'revoked', 'expired'] as const;
export type AssignmentStatus = (typeof ASSIGNMENT_STATUSES)[number];

/** An identity or group ↔ application or entitlement, with where it came from. */
export interface Assignment {
  id: string;
  identityId: string | null;
  groupId: string | null;
  applicationId: string;
  entitlementId: string | null;
  source: string;
  status: AssignmentStatus;
  validFrom: Date | null;
  validUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One entitlement an identity holds, directly or through one of its groups. */
export interface HeldEntitlement {
  assignmentId: string;
  /** The group it comes through; null when assigned to the identity itself. */
  viaGroupId: string | null;
  source: string;
  status: AssignmentStatus;
  validFrom: Date | null;
  validUntil: Date | null;
  /** Active now: status active and today within its validity. */
  inEffect: boolean;
  entitlement: { id: string; applicationId: string; kind: EntitlementKind; nativeValue: string; name: string; description: string | null; ownerId: string | null; requestable: boolean };
}

export interface Validity {
  validFrom?: Date | null;
  validUntil?: Date | null;
}

export interface AssignmentService {
  /** Assigns entitlements to an identity or group directly; all or none. */
  assignEntitlements(actor: Actor, holder: Holder, items: ({ entitlementId: string } & Validity)[]): Promise<Assignment[]>;
  /** Assigns an application itself (an account, no entitlement) to an identity or group. */
  assignApplication(actor: Actor, applicationId: string, holder: Holder, validity: Validity): Promise<Assignment>;
  listForApplication(applicationId: string, f: { identityId?: string; groupId?: string; status?: AssignmentStatus; applicationLevelOnly: boolean; after?: unknown[]; limit: number }): Promise<KeyPage<Assignment>>;
  /** The identity's entitlements, its own and through its groups. */
  entitlementsOf(identityId: string, f: { status?: AssignmentStatus; after?: unknown[]; limit: number }): Promise<KeyPage<HeldEntitlement>>;
}

export const toAssignment = (r: AssignmentRow): Assignment => ({
  id: r.id,
  identityId: r.identity_id,
  groupId: r.group_id,
  applicationId: r.application_id,
  entitlementId: r.entitlement_id,
  source: r.source,
  status: r.status as AssignmentStatus,
  validFrom: r.valid_from,
  validUntil: r.valid_until,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const inEffect = (status: string, from: Date | null, until: Date | null, now: Date): boolean =>
  status === 'active' && (from === null || from <= now) && (until === null || until > now);

function validityProblems(v: Validity, field: string, now: Date): Problem[] {
  const problems: Problem[] = [];
  if (v.validFrom && v.validUntil && v.validUntil <= v.validFrom) problems.push({ code: 'assignment.invalid', field: `${field}validUntil`, message: 'must be after validFrom' });
  else if (v.validUntil && v.validUntil <= now) problems.push({ code: 'assignment.invalid', field: `${field}validUntil`, message: 'is in the past: the assignment would never be in effect' });
  return problems;
}

const fail = (code: 'assignment.invalid' | 'assignment.duplicate' | 'entitlement.not_found', problems: Problem[]) =>
  new StewardError(code, problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });

const holderLabel = (h: Holder) => (h.identityId !== undefined ? `identity ${h.identityId}` : `group ${h.groupId}`);

async function requireHolder(ex: Executor, h: Holder): Promise<void> {
  if (h.identityId !== undefined) {
    const r = await ex.selectFrom('identities').select('id').where('id', '=', h.identityId).executeTakeFirst();
    if (!r) throw new StewardError('identity.not_found', `no identity has id ${h.identityId}`);
  } else {
    const r = await ex.selectFrom('groups').select('id').where('id', '=', h.groupId).executeTakeFirst();
    if (!r) throw new StewardError('group.not_found', `no group has id ${h.groupId}`);
  }
}

const holderColumns = (h: Holder) => ({ identity_id: h.identityId ?? null, group_id: h.groupId ?? null });

/** Assignments: who is given which application or entitlement, and why. */
export function createAssignmentService(db: Db): AssignmentService {
  const duplicateOnRace = (e: unknown): unknown =>
    isUniqueViolation(e, 'assignments_live_key') ? fail('assignment.duplicate', [{ code: 'assignment.duplicate', field: 'entitlements', message: 'a live assignment like this one was made meanwhile' }]) : e;

  return {
    async assignEntitlements(actor, holder, items) {
      const now = new Date();
      const problems = items.flatMap((it, i) => validityProblems(it, `entitlements[${i}].`, now));
      if (problems.length > 0) throw fail('assignment.invalid', problems);
      const firstAt = new Map<string, number>();
      const twice: Problem[] = [];
      items.forEach((it, i) => {
        const first = firstAt.get(it.entitlementId);
        if (first !== undefined) twice.push({ code: 'assignment.duplicate', field: `entitlements[${i}].id`, message: `repeats entitlements[${first}]` });
        else firstAt.set(it.entitlementId, i);
      });
      if (twice.length > 0) throw fail('assignment.duplicate', twice);
      try {
        return await db.tx(async (trx) => {
          await requireHolder(trx, holder);
          const ents = new Map((await entitlementsByIds(trx, items.map((it) => it.entitlementId))).map((e) => [e.id, e]));
          const missing = items.flatMap((it, i) => (ents.has(it.entitlementId) ? [] : [{ code: 'entitlement.not_found', field: `entitlements[${i}].id`, message: `no entitlement has id ${it.entitlementId}` }]));
          if (missing.length > 0) throw fail('entitlement.not_found', missing);
          const appIds = [...new Set([...ents.values()].map((e) => e.application_id))];
          const live = new Set((await liveAssignments(trx, holder, 'direct', appIds, [...ents.keys()])).map((a) => a.entitlement_id));
          const dups = items.flatMap((it, i) => (live.has(it.entitlementId) ? [{ code: 'assignment.duplicate', field: `entitlements[${i}].id`, message: `${holderLabel(holder)} has this entitlement assigned already` }] : []));
          if (dups.length > 0) throw fail('assignment.duplicate', dups);
          const rows = await insertAssignments(
            trx,
            items.map((it) => ({
              ...holderColumns(holder),
              application_id: ents.get(it.entitlementId)!.application_id,
              entitlement_id: it.entitlementId,
              source: 'direct',
              status: 'active',
              valid_from: it.validFrom ?? null,
              valid_until: it.validUntil ?? null,
            })),
          );
          const created = rows.map(toAssignment);
          await appendAudit(trx, created.map((a) => ({ actor: actorLabel(actor), action: 'assignment.create', objectType: 'assignment', objectId: a.id, after: a })));
          return created;
        });
      } catch (e) {
        throw duplicateOnRace(e);
      }
    },

    async assignApplication(actor, applicationId, holder, validity) {
      const problems = validityProblems(validity, '', new Date());
      if (problems.length > 0) throw fail('assignment.invalid', problems);
      try {
        return await db.tx(async (trx) => {
          if (!(await getApplicationRow(trx, applicationId, true))) throw new StewardError('application.not_found', `no application has id ${applicationId}`);
          await requireHolder(trx, holder);
          if ((await liveAssignments(trx, holder, 'direct', [applicationId], [null])).length > 0) {
            const field = holder.identityId !== undefined ? 'identityId' : 'groupId';
            throw fail('assignment.duplicate', [{ code: 'assignment.duplicate', field, message: `${holderLabel(holder)} has this application assigned already` }]);
          }
          const [row] = await insertAssignments(trx, [
            { ...holderColumns(holder), application_id: applicationId, entitlement_id: null, source: 'direct', status: 'active', valid_from: validity.validFrom ?? null, valid_until: validity.validUntil ?? null },
          ]);
          const created = toAssignment(row!);
          await appendAudit(trx, [{ actor: actorLabel(actor), action: 'assignment.create', objectType: 'assignment', objectId: created.id, after: created }]);
          return created;
        });
      } catch (e) {
        throw duplicateOnRace(e);
      }
    },

    async listForApplication(applicationId, f) {
      const after = checkKey(f.after, ['u']);
      if (!(await getApplicationRow(db.k, applicationId))) throw new StewardError('application.not_found', `no application has id ${applicationId}`);
      const rows = await listApplicationAssignmentRows(db.k, { ...f, applicationId, after: after?.[0], limit: f.limit + 1 });
      return keyPage(rows, f.limit, (r) => [r.id], toAssignment);
    },

    async entitlementsOf(identityId, f) {
      const after = checkKey(f.after, ['u']);
      await requireHolder(db.k, { identityId });
      const rows = await identityEntitlementRows(db.k, { identityId, status: f.status, after: after?.[0], limit: f.limit + 1 });
      const now = new Date();
      return keyPage(rows, f.limit, (r) => [r.id], (r) => ({
        assignmentId: r.id,
        viaGroupId: r.group_id,
        source: r.source,
        status: r.status as AssignmentStatus,
        validFrom: r.valid_from,
        validUntil: r.valid_until,
        inEffect: inEffect(r.status, r.valid_from, r.valid_until, now),
        entitlement: {
          id: r.entitlement_id!,
          applicationId: r.application_id,
          kind: r.e_kind as EntitlementKind,
          nativeValue: r.e_native_value,
          name: r.e_name,
          description: r.e_description,
          ownerId: r.e_owner_id,
          requestable: r.e_requestable,
        },
      }));
    },
  };
}
