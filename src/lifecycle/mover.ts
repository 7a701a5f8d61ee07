/**
 * The mover's one extra: requested and approved access stays across a move, unless a rule
 * says it ends on one. For each identity whose attributes changed, the rules marked
 * `revokeRequestedOnMove` it matched before the change and no longer matches take its
 * requested and direct assignments in their applications with them.
 */
import { sql } from 'kysely';
import { ENTERPRISE_USER_URN, type IdentityResource } from '../domain/identity.ts';
import { appendAudit } from '../store/audit.ts';
import type { Executor } from '../store/db.ts';
import type { Facts } from './condition.ts';
import { loadFacts } from './facts.ts';
import { loadRuleset } from './ruleset.ts';

function firstAddress(r: IdentityResource): Record<string, unknown> | undefined {
  const list = Array.isArray(r.addresses) ? r.addresses : [];
  return list.find((a) => a.primary === true) ?? list[0];
}

/** The facts an identity had before a change, from the resource the event kept. */
function factsBefore(now: Facts, before: Record<string, unknown>): Facts {
  const r = (before.data ?? {}) as IdentityResource;
  const ent = r[ENTERPRISE_USER_URN] ?? {};
  const addr = firstAddress(r);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    ...now,
    userName: str(r.userName) ?? now.userName ?? null,
    displayName: str(r.displayName),
    title: str(before.title),
    department: str(before.department),
    kind: str(before.kind),
    employeeNumber: str(ent.employeeNumber),
    costCenter: str(ent.costCenter),
    organization: str(ent.organization),
    division: str(ent.division),
    userType: str(r.userType),
    location: str(addr?.locality),
    country: str(addr?.country),
  };
}

/** Revokes requested access that rules end on a move; returns how many assignments. */
export async function revokeRequestedOnMove(trx: Executor, moved: ReadonlyMap<string, Record<string, unknown>>, now: Date, actor: string): Promise<number> {
  if (moved.size === 0) return 0;
  const flagged = await trx.selectFrom('birthright_rules').select('id').where('revoke_requested_on_move', '=', true).where('enabled', '=', true).limit(1).execute();
  if (flagged.length === 0) return 0;
  const ruleset = await loadRuleset(trx);
  const rules = ruleset.rules.filter((r) => r.revokeRequestedOnMove);
  const needs = new Set([...ruleset.needs, 'costCenter', 'organization', 'division', 'userType', 'location', 'country']);
  const facts = await loadFacts(trx, [...moved.keys()], needs);
  const revoke: { identityId: string; applicationId: string }[] = [];
  for (const [id, before] of moved) {
    const f = facts.get(id);
    if (!f || !before) continue;
    const old = factsBefore(f.facts, before);
    for (const rule of rules) {
      if (rule.condition.test(old) && !rule.condition.test(f.facts)) for (const item of rule.items) revoke.push({ identityId: id, applicationId: item.applicationId });
    }
  }
  if (revoke.length === 0) return 0;
  const rows = await sql<{ id: string; identity_id: string; application_id: string; entitlement_id: string | null; source: string }>`
    update assignments set status = 'revoked', updated_at = ${now}
     where status = 'active' and source in ('request', 'direct')
       and (identity_id, application_id) in (select * from unnest(${revoke.map((r) => r.identityId)}::uuid[], ${revoke.map((r) => r.applicationId)}::uuid[]))
    returning id, identity_id, application_id, entitlement_id, source`.execute(trx);
  await appendAudit(
    trx,
    rows.rows.map((r) => ({ actor, action: 'assignment.revoke', objectType: 'assignment', objectId: r.id, before: { identityId: r.identity_id, applicationId: r.application_id, entitlementId: r.entitlement_id, source: r.source, status: 'active' }, after: { reason: 'ends on a move' } })),
  );
  return rows.rows.length;
}
