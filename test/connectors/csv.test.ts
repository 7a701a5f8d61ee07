/** The `csv` kind against the contract suite, on a file in a temporary folder. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { csvKind } from '../../src/connectors/index.ts';
import { connectorContract } from './contract-suite.ts';

const HEADER = ['id', 'givenName', 'familyName', 'title', 'emails', 'groups', 'status'];

function rows(path: string): Record<string, string>[] {
  return parse<Record<string, string>>(readFileSync(path), { columns: true, bom: true });
}

connectorContract({
  kind: csvKind,
  singleAttribute: 'title',
  multiAttribute: 'emails',
  multiValue: (name, tag) => `${name}.${tag}@example.org`,
  missingIdentity: 'no-such-key',
  createRequest: (name) => ({
    application: 'contract',
    op: 'Create',
    nativeIdentity: name,
    attributeRequests: [
      { name: 'givenName', op: 'Set', value: 'Ada' },
      { name: 'familyName', op: 'Set', value: name },
      { name: 'emails', op: 'Set', value: [`${name}.a@example.org`] },
    ],
    permissionRequests: [],
  }),
  // A file has no lock to open.
  unsupportedRequest: (id) => ({ application: 'contract', op: 'Unlock', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }),
  async start() {
    const dir = mkdtempSync(join(tmpdir(), 'steward-csv-'));
    const path = join(dir, 'accounts.csv');
    const groupsPath = join(dir, 'groups.csv');
    writeFileSync(path, `${HEADER.join(',')}\n`);
    writeFileSync(groupsPath, 'name,description\n');
    return {
      settings: { path, keyColumn: 'id', multiValuedColumns: ['emails'], groupsColumn: 'groups', groupsPath, statusColumn: 'status' },
      secrets: {},
      unreachable: { settings: { path: join(dir, 'missing', 'accounts.csv'), keyColumn: 'id' }, secrets: {} },
      unreachableMessage: /missing\/accounts\.csv: the file does not exist — is path right\?/,
      unreachableKind: 'permanent',
      read: async (id) => {
        const row = rows(path).find((r) => r.id === id);
        if (row === undefined) return null;
        const split = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : v.split('|'));
        return {
          values: (a) => (a === 'emails' || a === 'groups' ? split(row[a]) : row[a] ? [row[a]] : []),
          enabled: row.status !== 'disabled',
          groups: split(row.groups),
        };
      },
      identities: async () => rows(path).map((r) => r.id!),
      seedAccounts: async (n, prefix) => {
        const lines = Array.from({ length: n }, (_, i) => `${prefix}${i},Seed,${prefix}${i},,${prefix}${i}@example.org,,enabled\n`);
        appendFileSync(path, lines.join(''));
      },
      seedGroup: async (name) => {
        appendFileSync(groupsPath, `${name},The ${name} group\n`);
        return name;
      },
      // No call is seen by a file; its modification time shows whether it was written.
      callCount: () => statSync(path).mtimeMs,
      stop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
