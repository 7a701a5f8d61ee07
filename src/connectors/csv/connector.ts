/** The `csv` connector kind: a flat file as an application (a disconnected or HR system). */
import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AttributeSchema } from '../../domain/schema.ts';
import type { Capabilities, DeprovisioningAction, Operation } from '../capabilities.ts';
import type { AccountItem, Connector, ConnectorKind, ConnectorOptions, EntitlementItem, ListOptions, Page } from '../contract.ts';
import { decodeCursor, paginate, resumeAfter } from '../cursor.ts';
import { assertEntitlementOperation } from '../entitlement-ops.ts';
import { ConnectorError } from '../errors.ts';
import { secretSettingNames, settingsOrThrow } from '../settings.ts';
import { applyCsv } from './apply.ts';
import { fileError, isMultiValued, readAccounts, readLayout, toAccount } from './file.ts';
import { groupsFromAccounts, groupsFromFile } from './groups.ts';
import { csvSettingsSchema, toCsvSettings } from './settings.ts';
import type { CsvSettings } from './settings.ts';

/** What a CSV application can do depends on its columns: a state column, a groups column. */
export function csvCapabilities(settings: CsvSettings): Capabilities {
  const operations: Operation[] = ['create_user', 'delete_user', 'set_attributes'];
  const deprovisioning: DeprovisioningAction[] = ['Delete'];
  if (settings.statusColumn !== undefined) {
    operations.push('disable_user', 'enable_user');
    deprovisioning.unshift('Suspend', 'Deactivate');
  }
  if (settings.groupsColumn !== undefined) operations.push('add_user_to_group', 'remove_user_from_group');
  return { operations, deprovisioning, entitlementAttributes: settings.groupsColumn === undefined ? {} : { [settings.groupsColumn]: 'group' } };
}

async function* accounts(settings: CsvSettings): AsyncGenerator<AccountItem> {
  for await (const { layout, row } of readAccounts(settings)) yield toAccount(settings, layout, row.fields);
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/** Builds a CSV connector from checked settings (see ConnectorKind.create). */
export function createCsvConnector(options: ConnectorOptions): Connector {
  const settings = toCsvSettings(settingsOrThrow(csvSettingsSchema, options.settings, options.secrets));
  const capabilities = csvCapabilities(settings);
  const pageSizeOf = (o?: ListOptions): number => o?.pageSize ?? settings.pageSize;

  return {
    kind: 'csv',
    capabilities,

    async schema() {
      const layout = await readLayout(settings);
      const attributes: AttributeSchema[] = layout.header
        .filter((c) => c !== settings.statusColumn)
        .map((c) => ({
          name: c,
          type: 'string',
          multiValued: isMultiValued(settings, c),
          ...(c === settings.keyColumn ? { required: true, description: 'The account key (nativeIdentity).' } : {}),
          ...(c === settings.groupsColumn ? { entitlementKind: 'group' as const } : {}),
        }));
      return { account: { attributes }, entitlementKinds: settings.groupsColumn === undefined ? [] : ['group'] };
    },

    async test() {
      try {
        const layout = await readLayout(settings);
        try {
          await access(dirname(settings.path), constants.W_OK);
        } catch (e) {
          throw fileError(e, dirname(settings.path), 'writing into the folder of');
        }
        return { ok: true, message: `read ${settings.path}: ${layout.header.length} columns, key column '${settings.keyColumn}'; its folder is writable` };
      } catch (e) {
        const err = e instanceof ConnectorError ? e : fileError(e, settings.path, 'reading');
        return { ok: false, message: err.message, errorKind: err.kind };
      }
    },

    async *listAccounts(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<AccountItem>> {
      const c = cursor === undefined || cursor === null ? null : decodeCursor(cursor);
      const items = resumeAfter(() => accounts(settings), (a) => a.nativeIdentity, c);
      yield* paginate(items, pageSizeOf(opts), (a) => a.nativeIdentity, c?.n ?? 0);
    },

    async *listEntitlements(cursor?: string | null, opts?: ListOptions): AsyncIterable<Page<EntitlementItem>> {
      const c = cursor === undefined || cursor === null ? null : decodeCursor(cursor);
      const groupsPath = settings.groupsPath;
      let open: () => AsyncIterable<EntitlementItem>;
      if (groupsPath !== undefined) open = () => groupsFromFile(settings, groupsPath);
      else {
        const all = await groupsFromAccounts(settings);
        open = () => fromArray(all);
      }
      const items = resumeAfter(open, (g) => g.nativeValue, c);
      yield* paginate(items, pageSizeOf(opts), (g) => g.nativeValue, c?.n ?? 0);
    },

    async getAccount(nativeIdentity) {
      // A flat file has no index: one streaming pass, stopping at the row.
      for await (const { layout, row } of readAccounts(settings)) {
        if (row.fields[layout.key] === nativeIdentity) return toAccount(settings, layout, row.fields);
      }
      return null;
    },

    apply(request) {
      return applyCsv({ settings, capabilities }, request);
    },

    findAccount(request) {
      return request.nativeIdentity === undefined ? Promise.resolve(null) : this.getAccount(request.nativeIdentity);
    },

    // A file's groups are only values in a column (or rows of a list kept by people): none are made or removed here.
    async createEntitlement(kind) {
      assertEntitlementOperation('csv', capabilities, 'create', kind);
      throw new ConnectorError('permanent', 'unsupported', 'the csv connector cannot create entitlements');
    },

    async deleteEntitlement(kind) {
      assertEntitlementOperation('csv', capabilities, 'delete', kind);
      throw new ConnectorError('permanent', 'unsupported', 'the csv connector cannot delete entitlements');
    },

    async close() {
      // Files are opened per call; nothing stays open.
    },
  };
}

export const csvKind: ConnectorKind = {
  name: 'csv',
  description: 'A CSV file as an application (a disconnected or HR system), read streaming and changed by atomic rewrite.',
  settingsSchema: csvSettingsSchema,
  secretSettings: secretSettingNames(csvSettingsSchema),
  create: createCsvConnector,
};
