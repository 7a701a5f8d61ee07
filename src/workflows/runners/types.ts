/**
 * What a script runner is given and what it answers. One runner per script family (the
 * connector API operations, webhooks, Slack, email, GitLab issues, sleep, none); the
 * ActionFlow executor picks it by the script's type, fills the metadata's placeholders,
 * and records the outcome, attempt by attempt.
 *
 * Failures are thrown as `ConnectorError`s: `retryable` and `rate_limited` (with the
 * target's Retry-After) are tried again with backoff; `permanent` fails the script and the
 * flow. Any other thrown error counts as retryable.
 */
import type { ConnectorLimiter, ConnectorRegistry } from '../../connectors/index.ts';
import type { Connector } from '../../connectors/index.ts';
import type { Db } from '../../store/db.ts';
import type { ApplicationRow } from '../../store/tables.ts';
import type { ScriptType } from '../script-types.ts';
import type { Problem } from '../../domain/result.ts';

export interface ScriptRun {
  id: string;
  flowId: string;
  position: number;
  /** The type as written (`scim_api_create_user`) and parsed. */
  type: string;
  parsed: ScriptType;
  /** The metadata with every placeholder filled in. */
  metadata: Record<string, unknown>;
  /** 1 on the first attempt. */
  attempt: number;
  /**
   * True when an earlier attempt started and its outcome was never recorded (the worker died
   * between the call and the commit): look before acting, so the effect happens once.
   */
  resumed: boolean;
}

export interface FlowRun {
  id: string;
  purpose: 'provisioning' | 'deprovisioning' | 'plan';
  applicationId: string;
  entitlementId: string | null;
  identityId: string | null;
  assignmentId: string | null;
  requestId: string | null;
  /** What the flow was made with: for a plan's flow, `accountRequest` (the plan's JSON form). */
  context: Record<string, unknown>;
}

export type ScriptOutcome =
  /** Done; `output` is kept on the script and offered to later scripts as `{{outputs.N.…}}`. */
  | { status: 'succeeded'; output?: Record<string, unknown> }
  /** Nothing to do (already so on the target, or `none`). */
  | { status: 'skipped'; output?: Record<string, unknown> }
  /** Waits for a person (an approval prompt): the flow resumes when `resumeScript` is called. */
  | { status: 'waiting'; output?: Record<string, unknown> }
  /** Run again later without counting an attempt (`sleep`). */
  | { status: 'later'; at: Date; output?: Record<string, unknown> };

export interface RunnerContext {
  script: ScriptRun;
  flow: FlowRun;
  /** The placeholder variables (identity, application, entitlement, request, outputs…); only `outputs` when the metadata has no placeholder. */
  vars: Record<string, unknown>;
  /** Outputs of the flow's earlier scripts, by position. */
  outputs: Record<number, Record<string, unknown>>;
  now(): Date;
}

/** A Slack workspace Steward posts to (Web API, bot token) and takes interactions from. */
export interface SlackSettings {
  /** Base of the Web API, `https://slack.com/api` in production. */
  apiUrl: string;
  botToken: string;
  /** Verifies interaction callbacks (`X-Slack-Signature`). */
  signingSecret: string;
}

/** Outgoing mail. */
export interface MailSettings {
  /** A nodemailer transport: `smtp://user:pass@host:587` or an options object. */
  transport: string | Record<string, unknown>;
  from: string;
}

/** What runners may use, built once per process. */
export interface RunnerDeps {
  db: Db;
  /**
   * Opens an application's connector (its secrets decrypted), runs `fn` under the per-application
   * limit, closes it. `application.row` is the application as read for this call, when given.
   */
  withConnector<T>(applicationId: string, fn: (connector: Connector, application: { id: string; name: string; connectorKind: string; row?: ApplicationRow }) => Promise<T>): Promise<T>;
  connectors: ConnectorRegistry;
  limiter: ConnectorLimiter;
  /** Where people reach Steward (links in emails, Slack buttons' callbacks). */
  publicUrl: string;
  slack?: SlackSettings;
  mail?: MailSettings;
  fetch: typeof fetch;
  /**
   * An application's settings with its secrets decrypted, by id or by (case-insensitive) name,
   * for scripts that call a target themselves (GitLab issues, signed webhooks); throws a
   * permanent ConnectorError when there is none. See `createApplicationConfigLoader`. Never log it.
   */
  applicationConfig?(idOrName: string): Promise<ApplicationConfig>;
}

/** An application as the GitLab issue and webhook scripts read it. */
export interface ApplicationConfig {
  id: string;
  name: string;
  connectorKind: string;
  settings: Record<string, unknown>;
  /** Decrypted. */
  secrets: Record<string, string>;
}

/** One family of script types. */
export interface ScriptRunner {
  /** Which parsed types this runner takes. */
  handles(type: ScriptType): boolean;
  /**
   * Checks a script's metadata when its chain is saved (before placeholders are filled):
   * every problem, each naming its field under `field`. `application` is the chain's.
   */
  validate(type: ScriptType, metadata: Record<string, unknown>, field: string, application: { id: string; connectorKind: string; capabilities: readonly string[] }): Problem[];
  run(ctx: RunnerContext, deps: RunnerDeps): Promise<ScriptOutcome>;
}
