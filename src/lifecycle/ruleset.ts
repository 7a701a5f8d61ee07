/**
 * Everything recomputation evaluates, read once per run: the enabled birthright rules with
 * their conditions compiled and their grants expanded (roles into their items), every
 * role's items, and the rule-based groups.
 */
import type { Executor } from '../store/db.ts';
import { parseCondition, type Condition } from './condition.ts';

/** One thing access is granted to: an application (an account) or one of its entitlements. */
export interface AccessItem {
  applicationId: string;
  entitlementId: string | null;
}

/** A rule's grant as stored: resolved to its application at save time. */
export type StoredGrant = { type: 'application'; applicationId: string } | { type: 'entitlement'; applicationId: string; entitlementId: string } | { type: 'role'; roleId: string };

export interface CompiledRule {
  id: string;
  name: string;
  condition: Condition;
  items: AccessItem[];
  revokeRequestedOnMove: boolean;
}

export interface DynamicGroup {
  groupId: string;
  displayName: string;
  condition: Condition;
}

export interface Ruleset {
  rules: CompiledRule[];
  roleItems: Map<string, AccessItem[]>;
  dynamicGroups: DynamicGroup[];
  /** The attributes any condition reads (facts load only these extras). */
  needs: Set<string>;
}

const compiled = (source: string, what: string): Condition => {
  const c = parseCondition(source);
  // Conditions are checked when saved; one that no longer parses is a bug, not input.
  if (!c.ok) throw new Error(`${what}: stored condition does not parse: ${c.errors[0]?.message ?? ''}`);
  return c.value;
};

/** Expands grants into access items, roles through their items. */
export function expandGrants(grants: readonly StoredGrant[], roleItems: ReadonlyMap<string, AccessItem[]>): AccessItem[] {
  const out: AccessItem[] = [];
  for (const g of grants) {
    if (g.type === 'application') out.push({ applicationId: g.applicationId, entitlementId: null });
    else if (g.type === 'entitlement') out.push({ applicationId: g.applicationId, entitlementId: g.entitlementId });
    else out.push(...(roleItems.get(g.roleId) ?? []));
  }
  return out;
}

/** Reads the ruleset as the database (or the transaction) holds it now. */
export async function loadRuleset(db: Executor): Promise<Ruleset> {
  const [ruleRows, itemRows, groupRows] = await Promise.all([
    db.selectFrom('birthright_rules').selectAll().where('enabled', '=', true).orderBy('name').execute(),
    db.selectFrom('role_items').selectAll().execute(),
    db.selectFrom('dynamic_groups as d').innerJoin('groups as g', 'g.id', 'd.group_id').select(['d.group_id', 'd.condition', 'g.display_name']).execute(),
  ]);
  const roleItems = new Map<string, AccessItem[]>();
  for (const r of itemRows) {
    const list = roleItems.get(r.role_id) ?? [];
    list.push({ applicationId: r.application_id, entitlementId: r.entitlement_id });
    roleItems.set(r.role_id, list);
  }
  const needs = new Set<string>();
  const rules = ruleRows.map((r) => {
    const condition = compiled(r.condition, `rule ${r.id}`);
    for (const a of condition.attributes) needs.add(a);
    return { id: r.id, name: r.name, condition, items: expandGrants(r.grants as StoredGrant[], roleItems), revokeRequestedOnMove: r.revoke_requested_on_move };
  });
  const dynamicGroups = groupRows.map((g) => {
    const condition = compiled(g.condition, `group ${g.group_id}`);
    for (const a of condition.attributes) needs.add(a);
    return { groupId: g.group_id, displayName: g.display_name, condition };
  });
  return { rules, roleItems, dynamicGroups, needs };
}
