/**
 * Building an ApplyResult from what happened to each part of an AccountRequest, the same
 * way in every connector kind.
 */
import type { Problem } from '../domain/result.ts';
import type { AccountRequest } from '../plan/model.ts';
import type { Capabilities } from './capabilities.ts';
import { checkSupported } from './capabilities.ts';
import type { ChangePlan } from './changes.ts';
import type { ApplyError, ApplyResult, RequestOutcome, RequestStatus } from './contract.ts';
import { ConnectorError, refused, toApplyError } from './errors.ts';

/** Tracks the status of each attribute and permission request of one AccountRequest. */
export class OutcomeTracker {
  readonly #request: AccountRequest;
  readonly #attr: (RequestOutcome | undefined)[];
  readonly #perm: (RequestOutcome | undefined)[];
  #accountStatus: RequestStatus | undefined;
  #error: ApplyError | undefined;

  constructor(request: AccountRequest) {
    this.#request = request;
    this.#attr = request.attributeRequests.map(() => undefined);
    this.#perm = request.permissionRequests.map(() => undefined);
  }

  /** Records the account-level operation's status (create, delete, disable…). */
  account(status: RequestStatus): void {
    this.#accountStatus = status;
  }

  /** Records a delete that threw: a 404 means the account is gone already, which is what a delete wants. */
  deleteFailed(e: unknown): void {
    if (e instanceof ConnectorError && e.status === 404) {
      this.account('unchanged');
      return;
    }
    this.account('failed');
    this.error(toApplyError(e));
  }

  attribute(index: number, status: RequestStatus, message?: string): void {
    const r = this.#request.attributeRequests[index];
    if (r === undefined) return;
    this.#attr[index] = { type: 'attribute', name: r.name, op: r.op, status, ...(message === undefined ? {} : { message }) };
  }

  permission(index: number, status: RequestStatus, message?: string): void {
    const r = this.#request.permissionRequests[index];
    if (r === undefined) return;
    this.#perm[index] = { type: 'permission', target: r.target, op: r.op, status, ...(message === undefined ? {} : { message }) };
  }

  /** Records the first failure; later ones only mark their own requests. */
  error(e: ApplyError): void {
    this.#error ??= e;
  }

  get failed(): boolean {
    return this.#error !== undefined;
  }

  /** The result: requests not recorded count as failed ("not attempted") when anything failed, else unchanged. */
  result(nativeIdentity: string | null): ApplyResult {
    const pending = this.#error === undefined ? undefined : `not attempted: ${this.#error.message}`;
    const fill = (o: RequestOutcome | undefined, make: (status: RequestStatus, message?: string) => RequestOutcome): RequestOutcome =>
      o ?? (pending === undefined ? make('unchanged') : make('failed', pending));
    const requests = [
      ...this.#attr.map((o, i) => fill(o, (status, message) => {
        const r = this.#request.attributeRequests[i]!;
        return { type: 'attribute', name: r.name, op: r.op, status, ...(message === undefined ? {} : { message }) };
      })),
      ...this.#perm.map((o, i) => fill(o, (status, message) => {
        const r = this.#request.permissionRequests[i]!;
        return { type: 'permission', target: r.target, op: r.op, status, ...(message === undefined ? {} : { message }) };
      })),
    ];
    const statuses = [...requests.map((r) => r.status), ...(this.#accountStatus === undefined ? [] : [this.#accountStatus])];
    const status: RequestStatus =
      this.#error !== undefined || statuses.includes('failed') ? 'failed' : statuses.includes('committed') ? 'committed' : 'unchanged';
    return {
      nativeIdentity,
      status,
      ...(this.#accountStatus === undefined ? {} : { accountStatus: this.#accountStatus }),
      requests,
      ...(this.#error === undefined ? {} : { error: this.#error }),
    };
  }
}

/**
 * Throws the permanent refusal of a request this connector cannot carry out: an unsupported
 * operation, or a missing nativeIdentity; `extra` adds kind-specific problems.
 */
export function assertApplicable(request: AccountRequest, capabilities: Capabilities, extra: Problem[] = []): void {
  const unsupported = checkSupported(request, capabilities);
  if (unsupported.length > 0) throw refused('unsupported', unsupported);
  const problems = [...extra];
  if (request.op !== 'Create' && (request.nativeIdentity === undefined || request.nativeIdentity === '')) {
    problems.unshift({ code: 'connector.missing_native_identity', field: 'nativeIdentity', message: `is required for ${request.op}` });
  }
  if (problems.length > 0) throw refused('invalid_request', problems);
}

/**
 * Marks each attribute request of a change plan by whether it changed anything, or all as
 * failed; requests for `skip` (an attribute carried out apart, such as group membership)
 * are left for their own step to mark.
 */
export function markPlannedAttributes(t: OutcomeTracker, planned: ChangePlan, skip: string, status: 'committed' | 'failed', message?: string): void {
  for (const p of planned.requests) {
    if (p.request.name === skip) continue;
    if (status === 'failed') t.attribute(p.index, 'failed', message);
    else t.attribute(p.index, p.changed ? 'committed' : 'unchanged');
  }
}
