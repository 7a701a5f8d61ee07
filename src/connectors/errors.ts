/**
 * The one error type connectors throw. `kind` tells the job queue what to do: retry later,
 * wait for the target's Retry-After, or give up and tell a person.
 */
import type { Problem } from '../domain/result.ts';
import type { ApplyError } from './contract.ts';

export const CONNECTOR_ERROR_KINDS = ['retryable', 'rate_limited', 'permanent'] as const;
export type ConnectorErrorKind = (typeof CONNECTOR_ERROR_KINDS)[number];

/** Stable codes of connector errors; clients match on them. */
export const CONNECTOR_ERROR_CODES = {
  invalid_settings: 'The connector settings do not match the kind’s settings schema.',
  unsupported: 'The request needs an operation this connector kind does not support.',
  invalid_request: 'The AccountRequest is malformed for this target (missing nativeIdentity, unknown attribute, wrong value type).',
  unreachable: 'The target could not be reached (connection refused, DNS failure, TLS failure).',
  timeout: 'The target did not answer within the timeout.',
  auth_failed: 'The target refused the credentials.',
  forbidden: 'The credentials are valid but lack the permission for this operation.',
  not_found: 'The account or entitlement does not exist on the target.',
  conflict: 'The target already has an object with this identity or value.',
  precondition_failed: 'The object changed on the target since it was read (ETag mismatch).',
  rate_limited: 'The target asked to slow down (HTTP 429 or equivalent).',
  unavailable: 'The target is temporarily unavailable (HTTP 5xx, LDAP busy or unavailable).',
  target_error: 'The target refused the operation; its own message says why.',
  cursor_stale: 'A listing cursor no longer matches the target (the entry it points at is gone); restart the listing.',
  io_error: 'Reading or writing a local file failed.',
} as const;
export type ConnectorErrorCode = keyof typeof CONNECTOR_ERROR_CODES;

export interface ConnectorErrorOptions {
  /** The target's status (HTTP status, LDAP result code). */
  status?: number;
  /** How long the target asked us to wait (rate_limited; from Retry-After). */
  retryAfterMs?: number;
  /** The target's own error text, kept apart from our message. */
  targetMessage?: string;
  problems?: Problem[];
  cause?: unknown;
}

export class ConnectorError extends Error {
  readonly kind: ConnectorErrorKind;
  readonly code: ConnectorErrorCode;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly targetMessage: string | undefined;
  readonly problems: Problem[];

  constructor(kind: ConnectorErrorKind, code: ConnectorErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.kind = kind;
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.targetMessage = options.targetMessage;
    this.problems = options.problems ?? [];
  }

  /** A plain-object copy for results, logs and job records. */
  toJSON(): ApplyError {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    };
  }
}

export const isConnectorError = (e: unknown): e is ConnectorError => e instanceof ConnectorError;

/** A permanent error for a request that cannot be carried out, with one problem per reason. */
export function refused(code: 'unsupported' | 'invalid_request' | 'invalid_settings', problems: Problem[]): ConnectorError {
  const message = problems.map((p) => (p.field === undefined ? p.message : `${p.field}: ${p.message}`)).join('; ');
  return new ConnectorError('permanent', code, message, { problems });
}

/**
 * Retry-After (RFC 9110 §10.2.3) as milliseconds from now: delay-seconds or an HTTP-date.
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date always names its month and zone; a bare number like "-5" is not one, though Date.parse reads it.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Shortest secret worth scrubbing: replacing every `a` in a message helps nobody. */
const MIN_SECRET_LENGTH = 4;

/** A function that replaces each given secret in a text by `***`, so messages never carry one. */
export function secretScrubber(secrets: Iterable<string | undefined>): (text: string) => string {
  const values = [...secrets].filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH);
  values.sort((a, b) => b.length - a.length);
  return (text) => values.reduce((out, s) => out.split(s).join('***'), text);
}

/** Any thrown value as an ApplyError; unknown errors count as retryable (the target may have failed mid-way). */
export function toApplyError(e: unknown): ApplyError {
  if (isConnectorError(e)) return e.toJSON();
  return { kind: 'retryable', code: 'target_error', message: e instanceof Error ? e.message : String(e) };
}
