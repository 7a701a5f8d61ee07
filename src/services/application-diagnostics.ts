/**
 * Interactive diagnostics of an application's connector: a connection test and the schema
 * the target reports, merged with the application's own. They call the target inside the
 * caller's request, unlike provisioning work (which goes through the job queue): a person
 * asked and waits, each call has a short timeout, runs under the application's concurrency
 * limit, and writes nothing.
 */
import { StewardError } from '../domain/errors.ts';
import type { AccountSchema, AttributeSchema, EntitlementKind } from '../domain/schema.ts';
import { isConnectorError, maxConcurrencyOf, secretScrubber, type Connector, type ConnectorErrorKind, type ConnectorLimiter, type ConnectorRegistry, type ConnectorSchema } from '../connectors/index.ts';
import { getApplicationRow } from '../store/applications.ts';
import type { SecretBox } from '../store/crypto.ts';
import type { Db } from '../store/db.ts';
import type { ApplicationRow } from '../store/tables.ts';

export const DEFAULT_DIAGNOSTIC_TIMEOUT_MS = 10_000;

export interface ConnectionTest {
  ok: boolean;
  /** What happened, or what to check; never a secret. */
  message: string;
  /** How the failure classifies (retryable, rate_limited, permanent); absent when ok. */
  errorKind?: ConnectorErrorKind;
  durationMs: number;
}

/** Where an attribute of the merged schema comes from. */
export type SchemaSource = 'connector' | 'application' | 'both';

export interface MergedAttribute extends AttributeSchema {
  source: SchemaSource;
  /** Where connector and application disagree on type or multiplicity (the application's word is kept). */
  conflict?: string;
}

export interface MergedSchema {
  /** What the target reported, or null when it could not be read (see `connectorError`). */
  connector: ConnectorSchema | null;
  connectorError?: string;
  /** The application's own account schema, as stored. */
  application: AccountSchema;
  /** Every attribute once: the application's definition where it has one, else the connector's. */
  attributes: MergedAttribute[];
  entitlementKinds: EntitlementKind[];
}

export interface ApplicationDiagnostics {
  /** Builds the application's connector and runs its test(); never throws for a failing target. */
  test(applicationId: string): Promise<ConnectionTest>;
  /** The connector's schema merged with the application's account schema. */
  schema(applicationId: string): Promise<MergedSchema>;
}

export interface DiagnosticsDeps {
  db: Db;
  secrets: SecretBox;
  connectors: ConnectorRegistry;
  limiter: ConnectorLimiter;
  timeoutMs?: number;
}

class Timeout extends Error {}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout()), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Merges by name: the application's definition wins, and a disagreement is named. */
export function mergeSchemas(connector: ConnectorSchema | null, application: AccountSchema): { attributes: MergedAttribute[]; entitlementKinds: EntitlementKind[] } {
  const fromConnector = new Map((connector?.account.attributes ?? []).map((a) => [a.name, a]));
  const attributes: MergedAttribute[] = [];
  for (const a of application.attributes) {
    const c = fromConnector.get(a.name);
    fromConnector.delete(a.name);
    if (c === undefined) {
      attributes.push({ ...a, source: 'application' });
      continue;
    }
    const diffs: string[] = [];
    if (c.type !== a.type) diffs.push(`the connector says type ${c.type}, the application ${a.type}`);
    if (c.multiValued !== a.multiValued) diffs.push(`the connector says ${c.multiValued ? 'multi' : 'single'}-valued, the application ${a.multiValued ? 'multi' : 'single'}-valued`);
    attributes.push({ ...c, ...a, source: 'both', ...(diffs.length > 0 ? { conflict: diffs.join('; ') } : {}) });
  }
  for (const c of fromConnector.values()) attributes.push({ ...c, source: 'connector' });
  const kinds = new Set<EntitlementKind>(connector?.entitlementKinds ?? []);
  for (const a of application.attributes) if (a.entitlementKind !== undefined) kinds.add(a.entitlementKind);
  return { attributes, entitlementKinds: [...kinds] };
}

/** The diagnostics service over the store, the secret box and the connector kinds. */
export function createApplicationDiagnostics(deps: DiagnosticsDeps): ApplicationDiagnostics {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_DIAGNOSTIC_TIMEOUT_MS;

  async function open(applicationId: string) {
    const row = await getApplicationRow(deps.db.k, applicationId);
    if (!row) throw new StewardError('application.not_found', `no application has id ${applicationId}`);
    const secrets = Object.fromEntries(Object.entries(row.secrets).map(([k, v]) => [k, deps.secrets.open(v)]));
    const scrub = secretScrubber(Object.values(secrets));
    return { row, secrets, scrub };
  }

  /** Runs `fn` on a fresh connector under the application's limit and the timeout; closes it after. */
  async function withConnector<T>(applicationId: string, fn: (c: Connector) => Promise<T>): Promise<{ row: ApplicationRow; scrub: (t: string) => string; r: { value: T } | { error: string; errorKind: ConnectorErrorKind } }> {
    const { row, secrets, scrub } = await open(applicationId);
    return { row, scrub, r: await attempt(row, secrets, scrub, fn) };
  }

  async function attempt<T>(row: ApplicationRow, secrets: Record<string, string>, scrub: (t: string) => string, fn: (c: Connector) => Promise<T>): Promise<{ value: T } | { error: string; errorKind: ConnectorErrorKind }> {
    const kind = deps.connectors.get(row.connector_kind);
    if (kind === undefined) return { error: `the connector kind '${row.connector_kind}' is not installed on this server`, errorKind: 'permanent' };
    let connector: Connector;
    try {
      connector = kind.create({ settings: row.settings, secrets });
    } catch (e) {
      return { error: scrub(`the ${kind.name} connector refused the settings: ${(e as Error).message}`), errorKind: 'permanent' };
    }
    try {
      const value = await deps.limiter.run(row.id, () => withTimeout(fn(connector), timeoutMs), maxConcurrencyOf(row.settings));
      return { value };
    } catch (e) {
      if (e instanceof Timeout) return { error: `no answer from the target within ${timeoutMs} ms — is it reachable from this server, and is it not overloaded?`, errorKind: 'retryable' };
      if (isConnectorError(e)) return { error: scrub(e.message), errorKind: e.kind };
      return { error: scrub(e instanceof Error ? e.message : String(e)), errorKind: 'retryable' };
    } finally {
      // A timed-out call may still be running; closing is best-effort and its failure is not the test's.
      void connector.close().catch(() => undefined);
    }
  }

  return {
    async test(applicationId) {
      const started = performance.now();
      const { r, scrub } = await withConnector(applicationId, (c) => c.test());
      const durationMs = Math.round(performance.now() - started);
      if ('error' in r) return { ok: false, message: r.error, errorKind: r.errorKind, durationMs };
      const t = r.value;
      return t.ok ? { ok: true, message: scrub(t.message), durationMs } : { ok: false, message: scrub(t.message), errorKind: t.errorKind, durationMs };
    },

    async schema(applicationId) {
      const { r, row } = await withConnector(applicationId, (c) => c.schema());
      const application = row.account_schema as AccountSchema;
      const connector = 'error' in r ? null : r.value;
      return { connector, ...('error' in r ? { connectorError: r.error } : {}), application, ...mergeSchemas(connector, application) };
    },
  };
}
