/**
 * The connector contract: what every connector kind offers Steward. A kind is a plain
 * factory; a connector made from it describes what it can do, reads accounts and
 * entitlements page by page, and carries out one AccountRequest at a time.
 */
import type { AccountSchema, EntitlementKind } from '../domain/schema.ts';
import type { AccountRequest, AttributeOp, PlanValue } from '../plan/model.ts';
import type { Capabilities } from './capabilities.ts';
import type { ConnectorErrorKind } from './errors.ts';

/** A JSON Schema document (draft 2020-12 subset that Ajv understands). */
export type JsonSchema = Record<string, unknown>;

/** Pino-compatible logging; connectors log structured fields and never a secret. */
export interface ConnectorLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** What a factory is given: plain settings, the secret settings apart, and optional seams for tests. */
export interface ConnectorOptions {
  settings: Record<string, unknown>;
  /** Secret settings (passwords, tokens, client secrets): kept apart so they are stored encrypted and never logged. */
  secrets?: Record<string, string>;
  logger?: ConnectorLogger;
  /** The fetch to use for HTTP kinds; Node's global `fetch` by default. */
  fetch?: typeof fetch;
}

/** One connector kind: its name, what its settings look like, and the factory. */
export interface ConnectorKind {
  name: string;
  description: string;
  /** JSON Schema of every setting, secret ones included; secret ones carry `writeOnly: true`. */
  settingsSchema: JsonSchema;
  /** The setting names whose values are secret (taken from `writeOnly` in the schema). */
  secretSettings: readonly string[];
  /** Builds a connector; throws a permanent `ConnectorError` (code `invalid_settings`) naming each bad setting. */
  create(options: ConnectorOptions): Connector;
}

/** The target's own description of an account and entitlement model. */
export interface ConnectorSchema {
  account: AccountSchema;
  entitlementKinds: EntitlementKind[];
}

/** The answer of `test()`: never throws; the message says what to do when it failed. */
export type TestResult =
  | { ok: true; message: string }
  | { ok: false; message: string; errorKind: ConnectorErrorKind };

/** An entitlement an account holds, by kind and the target's own value (group DN, group id…). */
export interface EntitlementRef {
  kind: EntitlementKind;
  nativeValue: string;
}

/** One account as read from the target. */
export interface AccountItem {
  nativeIdentity: string;
  attributes: Record<string, PlanValue>;
  enabled: boolean;
  locked: boolean;
  entitlements: EntitlementRef[];
  /**
   * When the target last changed the account, as an ISO 8601 UTC instant (`Date#toISOString`,
   * so marks sort as text), from kinds that read changes (`listAccountsChangedSince`). Not part
   * of the account's snapshot: the highest mark a run saw is where the next incremental run starts.
   */
  changeMark?: string;
}

/** One entitlement the target offers. */
export interface EntitlementItem {
  kind: EntitlementKind;
  nativeValue: string;
  name: string;
  description?: string;
}

/**
 * A page of a listing. `nextCursor` resumes the listing after this page (pass it to a new
 * `listAccounts` call, in this process or another); `null` on the last page.
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type RequestStatus = 'committed' | 'failed' | 'unchanged';

/** The outcome of one AttributeRequest or PermissionRequest. */
export type RequestOutcome =
  | { type: 'attribute'; name: string; op: AttributeOp; status: RequestStatus; message?: string }
  | { type: 'permission'; target: string; op: AttributeOp; status: RequestStatus; message?: string };

/** The classification of a failure, as carried in an ApplyResult (a ConnectorError, flattened). */
export interface ApplyError {
  kind: ConnectorErrorKind;
  code: string;
  message: string;
  status?: number;
  retryAfterMs?: number;
}

/**
 * What `apply` did. `committed`: the target changed; `unchanged`: it already matched;
 * `failed`: something did not happen — `requests` says which parts did, `error` why.
 * On a failed Create whose account was made, `nativeIdentity` is set: retry the failed
 * requests as a Modify of it, not the Create.
 */
export interface ApplyResult {
  nativeIdentity: string | null;
  status: RequestStatus;
  /** The account-level operation's own status (the create, delete, disable…); Modify has none. */
  accountStatus?: RequestStatus;
  requests: RequestOutcome[];
  error?: ApplyError;
}

/** The entitlement kinds a connector may make and remove (seed 000's create/delete entity, group, role). */
export const CREATABLE_KINDS = ['group', 'role', 'entity'] as const;
export type CreatableKind = (typeof CREATABLE_KINDS)[number];

/** What `createEntitlement` is given; each kind says which parts its target uses. */
export interface NewEntitlement {
  /** The display name (a SCIM displayName, an LDAP cn, a GitLab group name). */
  name: string;
  /** The native value to give it, where the target lets the caller choose (an LDAP DN); ignored where the target assigns it. */
  nativeValue?: string;
  description?: string;
  /** Kind-specific extras (GitLab: `path`, `parentId`). */
  attributes?: Record<string, unknown>;
}

/** Options of a listing. */
export interface ListOptions {
  /** Items per page; each kind has a default and a maximum. */
  pageSize?: number;
}

/** A live connector to one application. */
export interface Connector {
  readonly kind: string;
  readonly capabilities: Capabilities;
  /** The account attributes and entitlement kinds, from the target where it can tell. */
  schema(): Promise<ConnectorSchema>;
  /** Checks settings and reachability; resolves with a message a person can act on, never rejects. */
  test(): Promise<TestResult>;
  /** Streams every account once, page by page; resumable from a page's `nextCursor`. */
  listAccounts(cursor?: string | null, options?: ListOptions): AsyncIterable<Page<AccountItem>>;
  /** Streams every entitlement the target offers, page by page; resumable like `listAccounts`. */
  listEntitlements(cursor?: string | null, options?: ListOptions): AsyncIterable<Page<EntitlementItem>>;
  /**
   * Delta reads: streams the accounts the target changed (or made) at or after `since`, a
   * `changeMark` an earlier listing delivered, page by page, resumable from a page's
   * `nextCursor` like `listAccounts`. Items carry their `changeMark`. Deletions are not seen.
   * Kinds whose target cannot filter by modification time leave it out, and an incremental
   * run of their applications reads everything.
   */
  listAccountsChangedSince?(since: string, cursor?: string | null, options?: ListOptions): AsyncIterable<Page<AccountItem>>;
  /** One account by its native identity, or null when the target has none. */
  getAccount(nativeIdentity: string): Promise<AccountItem | null>;
  /**
   * Carries out one AccountRequest. Throws a permanent ConnectorError (code `unsupported` or
   * `invalid_request`) before calling the target when the request cannot be carried out;
   * otherwise resolves with the outcome of each part, failures included.
   */
  apply(request: AccountRequest): Promise<ApplyResult>;
  /**
   * The account a Create request names, when the target has it already: by its
   * nativeIdentity, or by what the target keeps unique (a SCIM userName, the DN an LDAP
   * Create would make). Lets a retried Create find what an earlier attempt made. Kinds
   * without it are looked up by the request's nativeIdentity alone.
   */
  findAccount?(request: AccountRequest): Promise<AccountItem | null>;
  /**
   * Creates a group, role or entity on the target. Throws a permanent ConnectorError code
   * `unsupported` before calling the target when the capabilities lack `create_{kind}`, and
   * code `conflict` when the target already has one by that name or value.
   */
  createEntitlement?(kind: CreatableKind, entitlement: NewEntitlement): Promise<EntitlementItem>;
  /**
   * Deletes a group, role or entity by its native value: `deleted`, or `absent` when the
   * target had none. Throws `unsupported` before any call when the capabilities lack `delete_{kind}`.
   */
  deleteEntitlement?(kind: CreatableKind, nativeValue: string): Promise<'deleted' | 'absent'>;
  /** Releases connections; the connector is not used afterwards. */
  close(): Promise<void>;
}
