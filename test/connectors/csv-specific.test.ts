/** What the `csv` kind does beyond the contract: atomic rewrites, locking, quoting, cursors over a changing file. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountRequest, AttributeRequest } from '../../src/plan/model.ts';
import type { Connector, Page, AccountItem } from '../../src/connectors/index.ts';
import { ConnectorError, csvKind } from '../../src/connectors/index.ts';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-csv-'));
  path = join(dir, 'hr.csv');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function connect(extra: Record<string, unknown> = {}): Connector {
  return csvKind.create({ settings: { path, keyColumn: 'id', multiValuedColumns: ['roles'], groupsColumn: 'groups', statusColumn: 'status', ...extra } });
}

const modify = (id: string, ...attributeRequests: AttributeRequest[]): AccountRequest => ({ application: 'HR', op: 'Modify', nativeIdentity: id, attributeRequests, permissionRequests: [] });

async function all(pages: AsyncIterable<Page<AccountItem>>): Promise<Page<AccountItem>[]> {
  const out: Page<AccountItem>[] = [];
  for await (const p of pages) out.push(p);
  return out;
}

describe('csv: writing', () => {
  it('rewrites atomically: no temporary or lock file is left, and the file keeps its mode', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,,enabled\n2,Bob,,,enabled\n');
    chmodSync(path, 0o640);
    const r = await connect().apply(modify('2', { name: 'name', op: 'Set', value: 'Robert' }));
    expect(r.status).toBe('committed');
    expect(readFileSync(path, 'utf8')).toBe('id,name,roles,groups,status\n1,Ann,,,enabled\n2,Robert,,,enabled\n');
    expect(readdirSync(dir)).toEqual(['hr.csv']);
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  it('does not rewrite the file when nothing changes', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,,enabled\n');
    const before = statSync(path);
    const r = await connect().apply(modify('1', { name: 'name', op: 'Set', value: 'Ann' }));
    expect(r.status).toBe('unchanged');
    expect(statSync(path).ino).toBe(before.ino);
  });

  it('keeps commas, quotes and line breaks in values through a rewrite', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,"Doe, Jane",,,enabled\n');
    const c = connect();
    await c.apply(modify('1', { name: 'roles', op: 'Add', value: ['say "hi"', 'two\nlines'] }));
    const a = await c.getAccount('1');
    expect(a!.attributes).toEqual({ id: '1', name: 'Doe, Jane', roles: ['say "hi"', 'two\nlines'] });
  });

  it('renames the key with a Set, and refuses a rename onto another account without writing', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,,enabled\n2,Bob,,,enabled\n');
    const c = connect();
    const r = await c.apply(modify('1', { name: 'id', op: 'Set', value: '10' }));
    expect(r).toMatchObject({ status: 'committed', nativeIdentity: '10' });
    const before = readFileSync(path, 'utf8');
    const clash = await c.apply(modify('10', { name: 'id', op: 'Set', value: '2' }));
    expect(clash.status).toBe('failed');
    expect(clash.error).toMatchObject({ kind: 'permanent', code: 'conflict' });
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('waits for a writer holding the lock, then reports the file busy as retryable', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,,enabled\n');
    writeFileSync(`${path}.lock`, String(process.pid));
    const r = await connect({ lockTimeoutMs: 50 }).apply(modify('1', { name: 'name', op: 'Set', value: 'Anna' }));
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ kind: 'retryable' });
    expect(r.error!.message).toContain('another writer');
    expect(readFileSync(path, 'utf8')).toContain('Ann,');
  });

  it('takes over a lock left by a process that died', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,,enabled\n');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(`${path}.lock`, dead);
    const r = await connect({ lockTimeoutMs: 50 }).apply(modify('1', { name: 'name', op: 'Set', value: 'Anna' }));
    expect(r.status).toBe('committed');
    expect(readdirSync(dir)).toEqual(['hr.csv']);
  });

  it('refuses a value holding the separator, a state column write and an unknown group', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,,enabled\n');
    const groupsPath = join(dir, 'groups.csv');
    writeFileSync(groupsPath, 'name\nStaff\n');
    const c = connect({ groupsPath });
    const e = (await c
      .apply(modify('1', { name: 'roles', op: 'Add', value: 'a|b' }, { name: 'status', op: 'Set', value: 'x' }, { name: 'groups', op: 'Add', value: 'Nope' }))
      .catch((x: unknown) => x)) as ConnectorError;
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e.problems.map((p) => p.message)).toEqual([
      "a value of 'roles' contains the separator '|'",
      "'status' is the account state; use a Disable or Enable request",
      `no group 'Nope' in ${groupsPath}`,
    ]);
  });
});

describe('csv: reading', () => {
  it('names the line of a row with the wrong number of fields', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,,enabled\n2,Bob\n');
    await expect(all(connect().listAccounts())).rejects.toThrow(`${path} line 3: 2 fields, but the header has 5`);
  });

  it('says which configured column the file lacks', async () => {
    writeFileSync(path, 'id,name\n1,Ann\n');
    const r = await connect().test();
    expect(r.ok).toBe(false);
    expect(r.message).toContain("groupsColumn 'groups' is not a column of the file (its columns: id, name)");
  });

  it('reads a file with a byte-order mark and another delimiter', async () => {
    writeFileSync(path, '\ufeffid;name;roles;groups;status\n1;Ann;a|b;G;disabled\n');
    const a = await connect({ delimiter: ';' }).getAccount('1');
    expect(a).toEqual({ nativeIdentity: '1', attributes: { id: '1', name: 'Ann', roles: ['a', 'b'] }, enabled: false, locked: false, entitlements: [{ kind: 'group', nativeValue: 'G' }] });
  });

  it('lists the groups found in the groups column when there is no groups file', async () => {
    writeFileSync(path, 'id,name,roles,groups,status\n1,Ann,,B|A,enabled\n2,Bob,,A|C,enabled\n');
    const names: string[] = [];
    for await (const p of connect().listEntitlements(null, { pageSize: 2 })) names.push(...p.items.map((g) => g.name));
    expect(names).toEqual(['A', 'B', 'C']);
  });
});

describe('csv: resuming a listing over a changing file', () => {
  const file = (ids: number[]): string => `id,name,roles,groups,status\n${ids.map((i) => `${i},N${i},,,enabled\n`).join('')}`;

  it('carries on after the last account delivered when rows before it were removed', async () => {
    writeFileSync(path, file([1, 2, 3, 4, 5, 6]));
    const c = connect();
    const first = (await all(c.listAccounts(null, { pageSize: 3 })))[0]!;
    writeFileSync(path, file([2, 3, 4, 5, 6]));
    const rest = (await all(c.listAccounts(first.nextCursor, { pageSize: 3 }))).flatMap((p) => p.items.map((a) => a.nativeIdentity));
    expect(rest).toEqual(['4', '5', '6']);
  });

  it('says the cursor is stale when the account it stopped at is gone', async () => {
    writeFileSync(path, file([1, 2, 3, 4, 5, 6]));
    const c = connect();
    const first = (await all(c.listAccounts(null, { pageSize: 3 })))[0]!;
    writeFileSync(path, file([1, 2, 4, 5, 6]));
    await expect(all(c.listAccounts(first.nextCursor, { pageSize: 3 }))).rejects.toMatchObject({ code: 'cursor_stale', kind: 'permanent' });
  });

  it('refuses a cursor it did not make', async () => {
    writeFileSync(path, file([1]));
    await expect(all(connect().listAccounts('not-a-cursor'))).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
