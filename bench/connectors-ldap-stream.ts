/**
 * Streaming 20,000 inetOrgPerson entries from a real slapd through the `ldap` connector's
 * listAccounts (Simple Paged Results), against a plain ldapts paged search of the same
 * entries with no processing; and the same listing with group memberships looked up (40
 * groups of 500 members); and the listing written page by page into Steward's accounts
 * table on PGlite and on PostgreSQL.
 *
 *   npx node bench/connectors-ldap-stream.ts [entries] [pageSize]
 */
import { Client } from 'ldapts';
import { ldapKind } from '../src/connectors/index.ts';
import { upsertAccountPage } from '../src/store/accounts.ts';
import { onEachDatabase } from './gen/databases.ts';
import { GROUPS, PEOPLE, slapdUnavailableReason, startSlapd } from '../test/support/slapd.ts';

const ENTRIES = Number(process.argv[2] ?? 20_000);
const PAGE = Number(process.argv[3] ?? 500);
const GROUP_COUNT = 40;
const GROUP_SIZE = 500;
const ROUNDS = 3;

function ldif(): string {
  const out: string[] = [];
  for (let i = 0; i < ENTRIES; i++) {
    out.push(
      `dn: uid=user${i},${PEOPLE}\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\nuid: user${i}\ncn: Given Family${i}\nsn: Family${i}\ngivenName: Given\ndisplayName: Given Family${i}\nmail: user${i}@example.org\nemployeeNumber: ${100000 + i}\ntitle: Engineer\n`,
    );
  }
  for (let g = 0; g < GROUP_COUNT; g++) {
    const members = Array.from({ length: GROUP_SIZE }, (_, k) => `member: uid=user${(g * 997 + k * 31) % ENTRIES},${PEOPLE}`);
    out.push(`dn: cn=group${g},${GROUPS}\nobjectClass: groupOfNames\ncn: group${g}\n${[...new Set(members)].join('\n')}\n`);
  }
  return out.join('\n');
}

async function time(f: () => Promise<number>): Promise<{ n: number; ms: number }> {
  const t0 = performance.now();
  const n = await f();
  return { n, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const reason = slapdUnavailableReason();
  if (reason !== null) {
    console.log(`# skipped: ${reason}`);
    return;
  }
  const t0 = performance.now();
  const slapd = await startSlapd({ ldif: ldif() });
  console.log(`# slapd loaded ${ENTRIES} entries and ${GROUP_COUNT} groups in ${Math.round(performance.now() - t0)} ms`);
  const base = { url: slapd.url, bindDn: slapd.rootDn, baseDn: PEOPLE, pageSize: PAGE };
  const secrets = { bindPassword: slapd.rootPassword };

  const plain = async (): Promise<number> => {
    const c = new Client({ url: slapd.url });
    await c.bind(slapd.rootDn, slapd.rootPassword);
    let n = 0;
    for await (const page of c.searchPaginated(PEOPLE, { scope: 'sub', filter: '(objectClass=inetOrgPerson)', attributes: ['*'], paged: { pageSize: PAGE } })) n += page.searchEntries.length;
    await c.unbind();
    return n;
  };
  const viaConnector = async (settings: Record<string, unknown>): Promise<number> => {
    const c = ldapKind.create({ settings, secrets });
    let n = 0;
    for await (const page of c.listAccounts()) n += page.items.length;
    await c.close();
    return n;
  };

  try {
    await plain();
    await viaConnector(base);
    let bestPlain = Infinity;
    let bestConnector = Infinity;
    let bestGroups = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      const p = await time(plain);
      const c = await time(() => viaConnector(base));
      const g = await time(() => viaConnector({ ...base, groupBaseDn: GROUPS }));
      for (const r of [p, c, g]) if (r.n !== ENTRIES) throw new Error(`streamed ${r.n} entries, expected ${ENTRIES}`);
      bestPlain = Math.min(bestPlain, p.ms);
      bestConnector = Math.min(bestConnector, c.ms);
      bestGroups = Math.min(bestGroups, g.ms);
    }
    const rate = (ms: number): number => Math.round((ENTRIES / ms) * 1000);
    console.log(`figure: ldap_stream_connector = ${rate(bestConnector)} accounts/s`);
    console.log(`figure: ldap_stream_connector_with_groups = ${rate(bestGroups)} accounts/s`);
    console.log(`figure: ldap_stream_plain_paged_search = ${rate(bestPlain)} accounts/s`);
    console.log(`figure: ldap_stream_ratio = ${(bestPlain / bestConnector).toFixed(2)} ratio`);
    console.log(`# ${ENTRIES} entries, pages of ${PAGE}, best of ${ROUNDS} rounds`);
    await onEachDatabase(async (label, db) => {
      const app = await db.k
        .insertInto('applications')
        .values({ name: 'ldap', connector_kind: 'ldap', settings: '{}', secrets: '{}', account_schema: '{"attributes":[]}', capabilities: '[]', deprovisioning_policy: '{}', adoption_policy: '{}', remediation_policy: '{}', description: null, owner_id: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      const stored = await time(async () => {
        const c = ldapKind.create({ settings: base, secrets });
        let n = 0;
        let pending: Promise<unknown> = Promise.resolve();
        for await (const page of c.listAccounts()) {
          await pending; // the next page is read while this one is written
          pending = upsertAccountPage(db.k, app.id, page.items);
          n += page.items.length;
        }
        await pending;
        await c.close();
        return n;
      });
      if (stored.n !== ENTRIES) throw new Error(`${label}: stored ${stored.n} accounts, expected ${ENTRIES}`);
      console.log(`figure: ldap_stream_into_store.${label} = ${rate(stored.ms)} accounts/s`);
    });
  } finally {
    await slapd.stop();
  }
}

await main();
