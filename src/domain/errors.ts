import type { Problem } from './result.ts';

/**
 * Every error code Steward reports, with its HTTP status and what it means. Codes are
 * stable: clients match on them. `docs/errors.md` documents each one (a test checks).
 */
export const ERROR_CODES = {
  'request.invalid': { status: 400, doc: 'The request body, query or parameters do not match the schema.' },
  'request.too_large': { status: 413, doc: 'The request body is larger than the server accepts.' },
  'request.unsupported_media_type': { status: 415, doc: 'The request content type is not accepted by this route.' },
  'request.precondition_failed': { status: 412, doc: 'The If-Match header names a version (ETag) other than the resource\'s current one.' },
  'auth.missing_token': { status: 401, doc: 'No bearer token was sent.' },
  'auth.invalid_token': { status: 401, doc: 'The bearer token is unknown or revoked.' },
  'auth.forbidden': { status: 403, doc: 'The API client lacks the privilege the route needs.' },
  'route.not_found': { status: 404, doc: 'No route has this method and path.' },
  'identity.not_found': { status: 404, doc: 'No identity has this id.' },
  'identity.duplicate_user_name': { status: 409, doc: 'Another identity already has this userName.' },
  'identity.duplicate_external_id': { status: 409, doc: 'Another identity already has this externalId.' },
  'identity.invalid': { status: 400, doc: 'An identity attribute has a wrong type or value.' },
  'identity.manager_not_found': { status: 400, doc: 'The manager named does not exist.' },
  'identity.manager_cycle': { status: 400, doc: 'The manager chain would loop back to this identity.' },
  'group.not_found': { status: 404, doc: 'No group has this id.' },
  'group.duplicate_name': { status: 409, doc: 'Another group already has this display name.' },
  'group.reserved': { status: 403, doc: 'A reserved group is changed only by an API client with manage-users-and-groups and admin.' },
  'group.member_not_found': { status: 400, doc: 'A member named in the group does not exist.' },
  'group.invalid': { status: 400, doc: 'A group attribute has a wrong type or value.' },
  'group.duplicate_external_id': { status: 409, doc: 'Another group already has this externalId.' },
  'scim.invalid_filter': { status: 400, doc: 'The SCIM filter cannot be parsed, or names an attribute or compares a value the schema does not allow.' },
  'scim.invalid_path': { status: 400, doc: 'A SCIM attribute path (PATCH path, sortBy, attributes) cannot be parsed or names no attribute.' },
  'scim.no_target': { status: 400, doc: 'A SCIM PATCH operation names no attribute or value to act on.' },
  'scim.invalid_value': { status: 400, doc: 'A SCIM attribute value has the wrong type, or a required value is missing.' },
  'scim.mutability': { status: 400, doc: 'A SCIM request tries to change a read-only or immutable attribute.' },
  'scim.invalid_syntax': { status: 400, doc: 'A SCIM request body is not the message its schema requires (PatchOp without Operations…).' },
  'scim.too_many': { status: 400, doc: 'A SCIM request holds more operations than the server accepts at once.' },
  'application.not_found': { status: 404, doc: 'No application has this id.' },
  'application.duplicate_name': { status: 409, doc: 'Another application already has this name.' },
  'application.invalid': { status: 400, doc: 'The application definition is inconsistent (schema, policies or settings).' },
  'application.in_use': { status: 409, doc: 'The application still has accounts or assignments.' },
  'application.owner_not_found': { status: 400, doc: 'The owner named for the application is not an existing identity.' },
  'entitlement.not_found': { status: 404, doc: 'No entitlement has this id.' },
  'entitlement.duplicate': { status: 409, doc: 'The application already has an entitlement with this kind and native value.' },
  'entitlement.owner_not_found': { status: 400, doc: 'The owner named for the entitlement is not an existing identity.' },
  'entitlement.not_requestable': { status: 409, doc: 'The entitlement is not requestable.' },
  'assignment.duplicate': { status: 409, doc: 'The identity or group already has this assignment.' },
  'assignment.invalid': { status: 400, doc: 'The assignment names neither or both of an identity and a group, or its validity is reversed.' },
  'plan.invalid': { status: 422, doc: 'The provisioning plan cannot be read, or does not fit the store (unknown application, attribute, account or identity, an unsupported operation); every problem is listed with its code, field and, for XML, line and column.' },
  'account.not_found': { status: 404, doc: 'No account has this id.' },
  'account.invalid_transition': { status: 409, doc: "The account's state does not allow this action; the message names the actions it allows." },
  'reconciliation.not_found': { status: 404, doc: 'No reconciliation run of this application has this id.' },
  'reconciliation.already_running': { status: 409, doc: 'The application already has a reconciliation run queued or running (one at a time); the message names it.' },
  'reconciliation.not_active': { status: 409, doc: 'The reconciliation run has already ended, so it cannot be stopped.' },
  'reconciliation.nothing_held': { status: 409, doc: 'The reconciliation run holds no remediations to confirm or discard.' },
  'reconciliation.invalid': { status: 400, doc: 'Reconciliation settings are wrong (a cron expression that does not parse, a threshold outside (0, 1]).' },
  'reconciliation.no_delta': { status: 404, doc: 'The reconciliation run found this account unchanged (or did not see it), so it has no delta.' },
  'remediation.not_found': { status: 404, doc: 'No remediation has this id.' },
  'remediation.already_decided': { status: 409, doc: 'The remediation is not waiting for a decision (it was carried out, dismissed, or decided before).' },
  'client.not_found': { status: 404, doc: 'No API client has this id.' },
  'client.duplicate_name': { status: 409, doc: 'Another API client already has this name.' },
  'client.invalid_privilege': { status: 400, doc: 'A privilege named is not one Steward knows.' },
  'rule.not_found': { status: 404, doc: 'No birthright rule has this id.' },
  'rule.invalid': { status: 400, doc: 'The rule (or a group\'s membership rule) is not valid: its condition does not parse or names an unknown attribute or compares wrong types (each problem gives line and column), or a grant names nothing that exists.' },
  'rule.duplicate_name': { status: 409, doc: 'Another birthright rule already has this name.' },
  'role.not_found': { status: 404, doc: 'No role has this id, or the identity does not hold the role.' },
  'role.invalid': { status: 400, doc: 'The role is not valid: no name, or an item names no existing application or entitlement.' },
  'role.duplicate_name': { status: 409, doc: 'Another role already has this name.' },
  'role.in_use': { status: 409, doc: 'A birthright rule grants the role; change the rule first.' },
  'lifecycle.hold_not_found': { status: 404, doc: 'No held change has this id.' },
  'lifecycle.hold_decided': { status: 409, doc: 'The held change was confirmed or discarded already.' },
  'lifecycle.nothing_to_restore': { status: 409, doc: 'The identity or account has nothing in a grace period and no leave that can still be reversed.' },
  'lifecycle.recompute_pending': { status: 409, doc: 'An earlier rule change is still being recomputed: save again once its recompute has finished.' },
  'lifecycle.recompute_not_found': { status: 404, doc: 'No rule recompute has this id.' },
  'import.invalid_csv': { status: 400, doc: 'The CSV could not be read at all (no header row, unknown mapped column).' },
  'audit.chain_broken': { status: 500, doc: 'An audit event does not link to the one before it.' },
  'store.locked': { status: 409, doc: 'The embedded data directory is open in another process.' },
  'store.conflict': { status: 409, doc: 'The row changed since it was read (version or ETag mismatch).' },
  'flow.not_found': { status: 404, doc: 'No ActionFlow (or ActionFlowScript) has this id.' },
  'flow.invalid_script': { status: 400, doc: 'A script names a type no runner carries out, or a flow has no script.' },
  'flow.not_waiting': { status: 409, doc: 'The ActionFlowScript is not waiting for a decision (it was decided already, or never asked).' },
  'flow.not_retryable': { status: 409, doc: 'Only a failed ActionFlow can be retried.' },
  'flow.finished': { status: 409, doc: 'The ActionFlow has ended (succeeded, failed or cancelled) and cannot be cancelled.' },
  'approval_chain.not_found': { status: 404, doc: 'No ApprovalChain has this id.' },
  'approval_chain.invalid': { status: 400, doc: 'The ApprovalChain is inconsistent (unknown approver kind, bad rule, bad condition); every problem names its field.' },
  'action_chain.not_found': { status: 404, doc: 'No ActionChain has this id.' },
  'action_chain.invalid': { status: 400, doc: 'An ActionChainScript has an unknown type, metadata its runner refuses, or an unknown placeholder; every problem names its field.' },
  'access_request.not_found': { status: 404, doc: 'No access request has this id.' },
  'access_request.invalid': { status: 400, doc: 'The access request names a target that cannot be requested, or its end date is not in the future.' },
  'access_request.duplicate': { status: 409, doc: 'The beneficiary already has a pending request for this application or entitlement.' },
  'access_request.no_approver': { status: 409, doc: 'A step of the chosen ApprovalChain has no approver other than the requester and the beneficiary, and no escalation target.' },
  'access_request.not_pending': { status: 409, doc: 'The access request has been decided or cancelled already.' },
  'access_request.requester_unknown': { status: 400, doc: 'The API client acts for no identity, and the request names no requesterId.' },
  'approval.not_found': { status: 404, doc: 'No approval task has this id.' },
  'approval.not_yours': { status: 403, doc: 'The approval task waits on another approver (or the caller would approve its own request).' },
  'approval.already_decided': { status: 409, doc: 'The approval task has been decided, escalated or withdrawn already.' },
  'approval.flow_closed': { status: 409, doc: 'The ApprovalFlow has ended; its decisions can no longer be taken back.' },
  'slack.unauthorized': { status: 401, doc: 'A Slack interaction callback without a valid signature: headers missing, signature wrong, timestamp more than five minutes off, or the request seen before (a replay).' },
  'internal': { status: 500, doc: 'An unexpected error; the log has details under the request id.' },
} as const satisfies Record<string, { status: number; doc: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error type services throw; the API maps `code` to a status and a JSON body. */
export class StewardError extends Error {
  readonly code: ErrorCode;
  readonly problems: Problem[];
  /** SCIM's `scimType` where the SCIM surface needs one (uniqueness, invalidFilter…). */
  readonly scimType: string | undefined;

  constructor(code: ErrorCode, message: string, options: { problems?: Problem[]; scimType?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StewardError';
    this.code = code;
    this.problems = options.problems ?? [];
    this.scimType = options.scimType;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export const isStewardError = (e: unknown): e is StewardError => e instanceof StewardError;

/** An error that names one field and why it is wrong. */
export function invalid(code: ErrorCode, field: string, message: string, scimType?: string): StewardError {
  return new StewardError(code, `${field}: ${message}`, { problems: [{ code, field, message }], scimType });
}
