/**
 * Reading the accounts file as a stream of rows (never the whole file in memory), and the
 * meaning of a row: its key, attribute values, groups and state under the settings.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import type { PlanValue } from '../../plan/model.ts';
import type { AccountItem } from '../contract.ts';
import { ConnectorError } from '../errors.ts';
import type { CsvSettings } from './settings.ts';

export interface CsvRow {
  /** The line the row ends on (1-based), for messages. */
  line: number;
  fields: string[];
}

/** A file-system error as a ConnectorError whose message names the file and what to check. */
export function fileError(e: unknown, path: string, doing: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return new ConnectorError('permanent', 'io_error', `${doing} ${path}: the file does not exist — is path right?`, { cause: e });
    case 'EACCES':
    case 'EPERM':
      return new ConnectorError('permanent', 'io_error', `${doing} ${path}: permission denied — may Steward's user read and write it and its folder?`, { cause: e });
    case 'EISDIR':
      return new ConnectorError('permanent', 'io_error', `${doing} ${path}: it is a folder, not a file`, { cause: e });
    case 'ENOSPC':
      return new ConnectorError('retryable', 'io_error', `${doing} ${path}: the disk is full`, { cause: e });
    default: {
      const text = e instanceof Error ? e.message : String(e);
      return new ConnectorError('retryable', 'io_error', `${doing} ${path}: ${text}`, { cause: e });
    }
  }
}

/** Every row of a CSV file, the header first, streamed; a malformed file throws naming the line. */
export async function* readRows(path: string, delimiter: string): AsyncGenerator<CsvRow> {
  const input = createReadStream(path);
  const parser = input.pipe(parse({ delimiter, bom: true, info: true, relax_column_count: true, skip_empty_lines: true }));
  // A read error of the file does not travel down the pipe by itself.
  input.on('error', (e) => parser.destroy(e));
  try {
    for await (const r of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { line: r.info.lines, fields: r.record };
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('CSV_')) {
      const line = (e as { lines?: unknown }).lines;
      throw new ConnectorError('permanent', 'target_error', `${path}${typeof line === 'number' ? ` line ${line}` : ''}: ${(e as Error).message}`, { cause: e });
    }
    throw fileError(e, path, 'reading');
  } finally {
    input.destroy();
    parser.destroy();
  }
}

/** The columns of a file and where each setting's column is. */
export interface Layout {
  header: string[];
  index: Map<string, number>;
  key: number;
}

/** The layout from a header row; a permanent error when a configured column is missing or a name repeats. */
export function layoutOf(header: string[], settings: CsvSettings): Layout {
  const index = new Map<string, number>();
  const problems: string[] = [];
  header.forEach((name, i) => {
    if (index.has(name)) problems.push(`column '${name}' appears twice in the header`);
    index.set(name, i);
  });
  const configured: [string, string | undefined][] = [
    ['keyColumn', settings.keyColumn],
    ['groupsColumn', settings.groupsColumn],
    ['statusColumn', settings.statusColumn],
    ...settings.multiValuedColumns.map((c): [string, string] => ['multiValuedColumns', c]),
  ];
  for (const [setting, column] of configured) {
    if (column !== undefined && !index.has(column)) problems.push(`${setting} '${column}' is not a column of the file (its columns: ${header.join(', ')})`);
  }
  if (problems.length > 0) throw new ConnectorError('permanent', 'invalid_request', `${settings.path}: ${problems.join('; ')}`);
  return { header, index, key: index.get(settings.keyColumn)! };
}

/** Reads the header row of the file. */
export async function readLayout(settings: CsvSettings): Promise<Layout> {
  for await (const row of readRows(settings.path, settings.delimiter)) return layoutOf(row.fields, settings);
  throw new ConnectorError('permanent', 'target_error', `${settings.path}: the file is empty; its first row must name the columns`);
}

/** The data rows of the file with its layout, checked for width. */
export async function* readAccounts(settings: CsvSettings): AsyncGenerator<{ layout: Layout; row: CsvRow }> {
  let layout: Layout | undefined;
  for await (const row of readRows(settings.path, settings.delimiter)) {
    if (layout === undefined) {
      layout = layoutOf(row.fields, settings);
      continue;
    }
    if (row.fields.length !== layout.header.length) {
      throw new ConnectorError('permanent', 'target_error', `${settings.path} line ${row.line}: ${row.fields.length} fields, but the header has ${layout.header.length}`);
    }
    yield { layout, row };
  }
}

export const isMultiValued = (settings: CsvSettings, column: string): boolean =>
  column === settings.groupsColumn || settings.multiValuedColumns.includes(column);

/** A cell's values: a multi-valued cell split by the separator, an empty cell none. */
export function cellValues(settings: CsvSettings, column: string, cell: string): string[] {
  if (cell === '') return [];
  return isMultiValued(settings, column) ? cell.split(settings.multiValueSeparator).filter((v) => v !== '') : [cell];
}

/** Values as one cell. */
export function cellOf(settings: CsvSettings, column: string, values: string[]): string {
  return isMultiValued(settings, column) ? values.join(settings.multiValueSeparator) : (values[0] ?? '');
}

/** A row as an account. */
export function toAccount(settings: CsvSettings, layout: Layout, fields: string[]): AccountItem {
  const attributes: Record<string, PlanValue> = {};
  let groups: string[] = [];
  let enabled = true;
  layout.header.forEach((column, i) => {
    const cell = fields[i] ?? '';
    if (column === settings.statusColumn) {
      enabled = cell.trim() !== settings.disabledValue;
      return;
    }
    const values = cellValues(settings, column, cell);
    if (column === settings.groupsColumn) {
      groups = values;
      return;
    }
    if (values.length > 0) attributes[column] = isMultiValued(settings, column) ? values : values[0]!;
  });
  return {
    nativeIdentity: fields[layout.key] ?? '',
    attributes,
    enabled,
    locked: false,
    entitlements: groups.map((g) => ({ kind: 'group' as const, nativeValue: g })),
  };
}
