/**
 * Opens an application's connector for work that changes the target (ActionFlow scripts):
 * secrets decrypted, the per-application limit held for the call, the connector closed
 * after. Errors pass through as the connector threw them, with any secret scrubbed from
 * their text, so the flow engine can classify and retry them.
 */
import { ConnectorError, isConnectorError, maxConcurrencyOf, secretScrubber, type Connector, type ConnectorLimiter, type ConnectorRegistry } from '../connectors/index.ts';
import { StewardError } from '../domain/errors.ts';
import { isUuid } from '../store/identity-repo.ts';
import type { SecretBox } from '../store/crypto.ts';
import type { Db } from '../store/db.ts';
import type { ApplicationRow } from '../store/tables.ts';
import { batchReads } from './batch-reads.ts';

export interface ConnectorAccess {
  /** `application.row` is the application as read for this call, so `fn` need not read it again. */
  withConnector: <T>(applicationId: string, fn: (connector: Connector, application: { id: string; name: string; connectorKind: string; row: ApplicationRow }) => Promise<T>) => Promise<T>;
  /** Closes the connectors kept open. */
  close: () => Promise<void>;
}

/** Connectors kept open per application, while its definition (version) is unchanged. */
const MAX_OPEN = 200;

export function createConnectorAccess(deps: { db: Db; secrets: SecretBox; connectors: ConnectorRegistry; limiter: ConnectorLimiter }): ConnectorAccess {
  // A connector reads what it needs of the target once (a SCIM ServiceProviderConfig, an LDAP
  // bind) and is reused by every script of the application until the application changes.
  const open = new Map<string, { version: number; connector: Connector; scrub: (t: string) => string }>();
  // Every call reads the application as it is now; calls that start together (a worker's
  // scripts for one application) share that read.
  const readRow = batchReads(async (ids: string[]) => {
    const valid = ids.filter(isUuid);
    const rows = valid.length === 0 ? [] : await deps.db.k.selectFrom('applications').selectAll().where('id', 'in', valid).execute();
    return new Map(rows.map((r) => [r.id, r]));
  }, { maxInFlight: 2 });
  return {
    async withConnector(applicationId, fn) {
      const row = await readRow(applicationId.toLowerCase());
      if (!row) throw new StewardError('application.not_found', `no application has id ${applicationId}`);
      let held = open.get(applicationId);
      if (!held || held.version !== row.version) {
        const kind = deps.connectors.get(row.connector_kind);
        if (!kind) throw new ConnectorError('permanent', 'invalid_settings', `the connector kind '${row.connector_kind}' is not installed on this server`);
        const secrets = Object.fromEntries(Object.entries(row.secrets).map(([k, v]) => [k, deps.secrets.open(v)]));
        const stale = held;
        held = { version: row.version, connector: kind.create({ settings: row.settings, secrets }), scrub: secretScrubber(Object.values(secrets)) };
        if (stale) void stale.connector.close().catch(() => undefined);
        if (open.size >= MAX_OPEN && !open.has(applicationId)) {
          const [oldest, entry] = open.entries().next().value!;
          open.delete(oldest);
          void entry.connector.close().catch(() => undefined);
        }
        open.set(applicationId, held);
      }
      const { connector, scrub } = held;
      try {
        return await deps.limiter.run(row.id, () => fn(connector, { id: row.id, name: row.name, connectorKind: row.connector_kind, row }), maxConcurrencyOf(row.settings));
      } catch (e) {
        if (isConnectorError(e)) {
          throw new ConnectorError(e.kind, e.code, scrub(e.message), {
            ...(e.status !== undefined ? { status: e.status } : {}),
            ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
            ...(e.targetMessage !== undefined ? { targetMessage: scrub(e.targetMessage) } : {}),
            problems: e.problems,
          });
        }
        if (e instanceof Error) e.message = scrub(e.message);
        throw e;
      }
    },
    async close() {
      const all = [...open.values()];
      open.clear();
      await Promise.all(all.map((h) => h.connector.close().catch(() => undefined)));
    },
  };
}
