// SCIM server figures over inject() (no network), on PGlite and on PostgreSQL:
// creates per second, a userName lookup among N users, a 100-user page, and a
// one-member PATCH on a 10-member and on a 10,000-member group.
// Run: npx node bench/scim.ts [users]   (PostgreSQL from STEWARD_BENCH_DATABASE_URL, default the local server)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { buildApp } from '../src/api/app.ts';
import { SYSTEM_ACTOR } from '../src/domain/actor.ts';
import { createServices } from '../src/services/index.ts';
import { createSecretBox } from '../src/store/crypto.ts';
import type { Db } from '../src/store/db.ts';
import { onEachDatabase } from './gen/databases.ts';

// At least 10,002: the big group takes 10,000 of them and the PATCH figures one more.
const users = Math.max(10_002, Number(process.argv[2] ?? 20_000));
const created = 500;
const work = mkdtempSync(join(tmpdir(), 'steward-bench-scim-'));

async function timed(n: number, f: (i: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  return (performance.now() - t0) / n;
}

async function run(label: string, db: Db): Promise<void> {
  const services = createServices({ db, secrets: createSecretBox(randomBytes(32)) });
  const app = await buildApp({ services });
  const { token } = await services.clients.create(SYSTEM_ACTOR, { name: 'bench', privileges: ['manage-users-and-groups'] });
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    return res;
  };
  try {
    await sql`insert into identities (user_name, display_name, data)
      select 'bulk-' || n || '@example.com', 'Bulk ' || n, jsonb_build_object('userName', 'bulk-' || n || '@example.com', 'displayName', 'Bulk ' || n)
      from generate_series(1, ${users}) as n`.execute(db.k);
    await sql`analyze identities`.execute(db.k);

    const t0 = performance.now();
    for (let i = 0; i < created; i++) {
      await call('POST', '/v2.0/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `new-${i}@example.com`, name: { givenName: 'New', familyName: `User ${i}` }, emails: [{ value: `new-${i}@example.com`, type: 'work', primary: true }], active: true });
    }
    console.log(`figure: scim.${label}.create_users_per_second = ${Math.round(created / ((performance.now() - t0) / 1000))} users/s (POST /Users, ${created} users)`);

    const lookup = await timed(200, async (i) => {
      await call('GET', `/v2.0/Users?filter=${encodeURIComponent(`userName eq "BULK-${(i * 97) % users}@EXAMPLE.COM"`)}`);
    });
    console.log(`figure: scim.${label}.filter_username_ms = ${lookup.toFixed(2)} ms (userName eq among ${users + created} users)`);

    const page = await timed(20, async (i) => {
      await call('GET', `/v2.0/Users?startIndex=${1 + i * 100}&count=100`);
    });
    console.log(`figure: scim.${label}.page_of_100_ms = ${page.toFixed(1)} ms (GET /Users?count=100, with totalResults)`);

    const ids = (await db.k.selectFrom('identities').select('id').orderBy('id').limit(10_002).execute()).map((r) => r.id);
    const small = (await call('POST', '/v2.0/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'small', members: ids.slice(0, 10).map((value) => ({ value })) })).json<{ id: string }>().id;
    const big = (await call('POST', '/v2.0/Groups?excludedAttributes=members', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'big', members: ids.slice(0, 10_000).map((value) => ({ value })) })).json<{ id: string }>().id;
    for (const [name, id] of [['10_members', small], ['10000_members', big]] as const) {
      const ms = await timed(50, async (i) => {
        const member = ids[10_000]!;
        const op = i % 2 === 0 ? { op: 'add', path: 'members', value: [{ value: member }] } : { op: 'remove', path: `members[value eq "${member}"]` };
        await call('PATCH', `/v2.0/Groups/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [op] });
      });
      console.log(`figure: scim.${label}.patch_one_member_${name}_ms = ${ms.toFixed(2)} ms (PATCH /Groups add or remove one member)`);
    }
  } finally {
    await app.close();
  }
}

try {
  await onEachDatabase(run);
} finally {
  rmSync(work, { recursive: true, force: true });
}
