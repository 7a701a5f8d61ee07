/** The settings of the `csv` connector kind: JSON Schema, and the typed form the connector uses. */
import type { JsonSchema } from '../contract.ts';

export const csvSettingsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'keyColumn'],
  properties: {
    path: { type: 'string', minLength: 1, description: 'The accounts file. Its first row names the columns.' },
    keyColumn: { type: 'string', minLength: 1, description: 'The column whose value is the account’s nativeIdentity (unique per row).' },
    delimiter: { type: 'string', minLength: 1, maxLength: 1, default: ',', description: 'The field delimiter.' },
    multiValuedColumns: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, default: [], description: 'Columns holding several values, split by multiValueSeparator.' },
    multiValueSeparator: { type: 'string', minLength: 1, maxLength: 8, default: '|', description: 'What separates the values in a multi-valued column.' },
    groupsColumn: { type: 'string', minLength: 1, description: 'A multi-valued column holding group memberships (the account’s group entitlements).' },
    groupsPath: { type: 'string', minLength: 1, description: 'A file of the groups that exist (columns name and, optionally, description); without it the groups are the values found in groupsColumn.' },
    statusColumn: { type: 'string', minLength: 1, description: 'A column holding the account’s state; makes Disable and Enable possible.' },
    enabledValue: { type: 'string', default: 'enabled', description: 'The statusColumn value of an enabled account.' },
    disabledValue: { type: 'string', default: 'disabled', description: 'The statusColumn value of a disabled account.' },
    pageSize: { type: 'integer', minimum: 1, maximum: 100000, default: 1000, description: 'Accounts per listing page.' },
    lockTimeoutMs: { type: 'integer', minimum: 0, maximum: 600000, default: 10000, description: 'How long a change waits for another writer of the file to finish.' },
  },
};

export interface CsvSettings {
  path: string;
  keyColumn: string;
  delimiter: string;
  multiValuedColumns: string[];
  multiValueSeparator: string;
  groupsColumn?: string;
  groupsPath?: string;
  statusColumn?: string;
  enabledValue: string;
  disabledValue: string;
  pageSize: number;
  lockTimeoutMs: number;
}

/** The typed settings from settings already checked against csvSettingsSchema (defaults applied). */
export function toCsvSettings(s: Record<string, unknown>): CsvSettings {
  const opt = (k: string): Record<string, string> => (typeof s[k] === 'string' ? { [k]: s[k] } : {});
  return {
    path: s.path as string,
    keyColumn: s.keyColumn as string,
    delimiter: s.delimiter as string,
    multiValuedColumns: s.multiValuedColumns as string[],
    multiValueSeparator: s.multiValueSeparator as string,
    ...opt('groupsColumn'),
    ...opt('groupsPath'),
    ...opt('statusColumn'),
    enabledValue: s.enabledValue as string,
    disabledValue: s.disabledValue as string,
    pageSize: s.pageSize as number,
    lockTimeoutMs: s.lockTimeoutMs as number,
  };
}
