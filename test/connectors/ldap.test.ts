/** The `ldap` kind against the contract suite, on a real OpenLDAP server (skipped, saying why, where slapd is not installed). */
import type { Client } from 'ldapts';
import { ldapKind } from '../../src/connectors/index.ts';
import { freePort } from '../support/free-port.ts';
import { GROUPS, PEOPLE, slapdUnavailableReason, startSlapd } from '../support/slapd.ts';
import { connectorContract } from './contract-suite.ts';

const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v));
const values = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(text) : [text(v)]);

async function entries(admin: Client, base: string, filter: string): Promise<{ dn: string; [k: string]: unknown }[]> {
  const out = [];
  for await (const page of admin.searchPaginated(base, { scope: 'sub', filter, paged: { pageSize: 500 } })) out.push(...page.searchEntries);
  return out;
}

connectorContract(
  {
    kind: ldapKind,
    singleAttribute: 'displayName',
    multiAttribute: 'mail',
    multiValue: (name, tag) => `${name}.${tag}@example.org`,
    missingIdentity: `uid=nobody,${PEOPLE}`,
    createRequest: (name) => ({
      application: 'contract',
      op: 'Create',
      nativeIdentity: `uid=${name},${PEOPLE}`,
      attributeRequests: [
        { name: 'cn', op: 'Set', value: `Ada ${name}` },
        { name: 'sn', op: 'Set', value: name },
        { name: 'mail', op: 'Set', value: [`${name}.a@example.org`] },
        { name: 'password', op: 'Set', value: 'initial-Secret-1' },
      ],
      permissionRequests: [],
    }),
    // Without the ppolicy overlay (the default disable mode is a marker) there is no lock.
    unsupportedRequest: (dn) => ({ application: 'contract', op: 'Unlock', nativeIdentity: dn, attributeRequests: [], permissionRequests: [] }),
    async start() {
      const slapd = await startSlapd();
      const admin = await slapd.admin();
      const port = await freePort();
      return {
        // A shortish timeout, so that a paused server fails a call within the test.
        settings: { url: slapd.url, bindDn: slapd.rootDn, baseDn: PEOPLE, groupBaseDn: GROUPS, pageSize: 50, timeoutMs: 3000 },
        secrets: { bindPassword: slapd.rootPassword },
        unreachable: { settings: { url: `ldap://127.0.0.1:${port}`, bindDn: slapd.rootDn, baseDn: PEOPLE }, secrets: { bindPassword: slapd.rootPassword } },
        unreachableMessage: new RegExp(`could not connect to ldap://127\\.0\\.0\\.1:${port}: ECONNREFUSED — is the server running and the port right\\?`),
        unreachableKind: 'retryable',
        read: async (dn) => {
          const found = await admin.search(dn, { scope: 'base', attributes: ['*'] }).catch(() => ({ searchEntries: [] }));
          const e = found.searchEntries[0];
          if (e === undefined) return null;
          const groups = await admin.search(GROUPS, { scope: 'sub', filter: `(member=${dn})`, attributes: ['1.1'] });
          return {
            values: (a) => values((e as Record<string, unknown>)[a]),
            enabled: !values(e.description).includes('steward:disabled'),
            groups: groups.searchEntries.map((g) => g.dn),
          };
        },
        identities: async () => (await entries(admin, PEOPLE, '(objectClass=inetOrgPerson)')).map((e) => e.dn),
        seedAccounts: async (n, prefix) => {
          for (let i = 0; i < n; i++) {
            await admin.add(`uid=${prefix}${i},${PEOPLE}`, { objectClass: ['inetOrgPerson'], uid: `${prefix}${i}`, cn: `Seed ${i}`, sn: `${prefix}${i}` });
          }
        },
        seedGroup: async (name) => {
          const dn = `cn=${name},${GROUPS}`;
          await admin.add(dn, { objectClass: ['groupOfNames'], cn: name, description: `The ${name} group`, member: '' });
          return dn;
        },
        readGroup: async (dn) => {
          const found = await admin.search(dn, { scope: 'base', attributes: ['cn'] }).catch(() => ({ searchEntries: [] }));
          const e = found.searchEntries[0];
          return e === undefined ? null : { name: values(e.cn)[0] ?? '' };
        },
        busy: async () => {
          await slapd.pause();
          return () => slapd.resume();
        },
        stop: async () => {
          await admin.unbind();
          await slapd.stop();
        },
      };
    },
  },
  { skipReason: slapdUnavailableReason() },
);
