/** The groups of a CSV application: a groups file, or the values found in the groups column. */
import type { EntitlementItem } from '../contract.ts';
import { ConnectorError } from '../errors.ts';
import { readAccounts, readRows } from './file.ts';
import type { CsvSettings } from './settings.ts';

/** The groups file's rows as entitlements, streamed (columns `name` and optional `description`). */
export async function* groupsFromFile(settings: CsvSettings, path: string): AsyncGenerator<EntitlementItem> {
  let name: number | undefined;
  let description: number | undefined;
  for await (const row of readRows(path, settings.delimiter)) {
    if (name === undefined) {
      name = row.fields.indexOf('name');
      const d = row.fields.indexOf('description');
      description = d < 0 ? undefined : d;
      if (name < 0) throw new ConnectorError('permanent', 'invalid_request', `${path}: the groups file needs a 'name' column (its columns: ${row.fields.join(', ')})`);
      continue;
    }
    const n = row.fields[name] ?? '';
    if (n === '') continue;
    const d = description === undefined ? '' : (row.fields[description] ?? '');
    yield { kind: 'group', nativeValue: n, name: n, ...(d === '' ? {} : { description: d }) };
  }
}

/**
 * The distinct values of the groups column, sorted. This holds one copy of each group name in
 * memory (not the accounts): a groups file avoids even that.
 */
export async function groupsFromAccounts(settings: CsvSettings): Promise<EntitlementItem[]> {
  const column = settings.groupsColumn;
  if (column === undefined) return [];
  const names = new Set<string>();
  for await (const { layout, row } of readAccounts(settings)) {
    const cell = row.fields[layout.index.get(column)!] ?? '';
    for (const v of cell.split(settings.multiValueSeparator)) if (v !== '') names.add(v);
  }
  return [...names].sort().map((n) => ({ kind: 'group', nativeValue: n, name: n }));
}

/** Which of `wanted` the groups file names. */
export async function groupNames(settings: CsvSettings, wanted: Set<string>): Promise<Set<string>> {
  const found = new Set<string>();
  if (settings.groupsPath === undefined) return found;
  for await (const g of groupsFromFile(settings, settings.groupsPath)) if (wanted.has(g.nativeValue)) found.add(g.nativeValue);
  return found;
}
