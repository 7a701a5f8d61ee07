/**
 * What conditions read about identities, loaded for a whole batch in at most two queries:
 * the identity columns (and the extension attributes only when some condition names
 * them), and group names only when some condition names `groups`.
 */
import { sql } from 'kysely';
import type { Executor } from '../store/db.ts';
import type { Facts } from './condition.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** An identity's facts, with what lifecycle itself needs beside them. */
export interface IdentityFacts {
  id: string;
  userName: string;
  /** Active status and the SCIM active flag: only such identities are entitled to anything. */
  inGoodStanding: boolean;
  facts: Facts;
}

// Attributes read from `data`, by the SQL that extracts them (only when a condition needs them).
const EXTRA: Record<string, string> = {
  costCenter: `i.data->'${ENTERPRISE}'->>'costCenter'`,
  organization: `i.data->'${ENTERPRISE}'->>'organization'`,
  division: `i.data->'${ENTERPRISE}'->>'division'`,
  userType: `i.data->>'userType'`,
  location: `(select a->>'locality' from jsonb_array_elements(case when jsonb_typeof(i.data->'addresses') = 'array' then i.data->'addresses' else '[]'::jsonb end) with ordinality x(a, n) order by (a->>'primary') = 'true' desc, n limit 1)`,
  country: `(select a->>'country' from jsonb_array_elements(case when jsonb_typeof(i.data->'addresses') = 'array' then i.data->'addresses' else '[]'::jsonb end) with ordinality x(a, n) order by (a->>'primary') = 'true' desc, n limit 1)`,
};

interface Row {
  id: string;
  user_name: string;
  display_name: string | null;
  email: string | null;
  title: string | null;
  department: string | null;
  employee_number: string | null;
  kind: string;
  status: string;
  active: boolean;
  [extra: string]: unknown;
}

/** The facts of these identities (those that exist), with groups when `needs` has them. */
export async function loadFacts(db: Executor, ids: readonly string[], needs: ReadonlySet<string>): Promise<Map<string, IdentityFacts>> {
  const out = new Map<string, IdentityFacts>();
  if (ids.length === 0) return out;
  const extras = Object.keys(EXTRA).filter((a) => needs.has(a));
  const extraSql = extras.map((a) => `, ${EXTRA[a]!} as "x_${a}"`).join('');
  const r = await sql<Row>`
    select i.id, i.user_name, i.display_name, i.email, i.title, i.department, i.employee_number, i.kind, i.status, i.active${sql.raw(extraSql)}
      from identities i where i.id = any(${ids}::uuid[])`.execute(db);
  for (const row of r.rows) {
    const facts: Facts = {
      userName: row.user_name,
      displayName: row.display_name,
      email: row.email,
      title: row.title,
      department: row.department,
      employeeNumber: row.employee_number,
      kind: row.kind,
      status: row.status,
      active: row.active,
    };
    for (const a of extras) facts[a] = (row[`x_${a}`] as string | null | undefined) ?? null;
    out.set(row.id, { id: row.id, userName: row.user_name, inGoodStanding: row.status === 'active' && row.active, facts });
  }
  if (needs.has('groups')) {
    for (const f of out.values()) f.facts.groups = [];
    const g = await sql<{ identity_id: string; names: string[] }>`
      select m.identity_id, array_agg(g.display_name order by g.display_name) as names
        from group_members m join groups g on g.id = m.group_id
       where m.identity_id = any(${ids}::uuid[]) group by m.identity_id`.execute(db);
    for (const row of g.rows) {
      const f = out.get(row.identity_id);
      if (f) f.facts.groups = row.names;
    }
  }
  return out;
}
