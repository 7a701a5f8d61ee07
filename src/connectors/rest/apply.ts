/**
 * Carrying out one AccountRequest with the configured operations: createUser, then one
 * membership call per entitlement added; for a change, the account is read first (when
 * getAccount is configured) so that what is already so is `unchanged`, then updateUser with
 * the new values of the changed attributes, disable/enable, and membership calls.
 */
import type { AccountRequest } from '../../plan/model.ts';
import type { Capabilities } from '../capabilities.ts';
import type { ChangePlan } from '../changes.ts';
import { isEffective, planChanges, valueTexts } from '../changes.ts';
import type { AccountItem, ApplyResult } from '../contract.ts';
import { ConnectorError, toApplyError } from '../errors.ts';
import { OutcomeTracker, assertApplicable } from '../outcomes.ts';
import type { RestClient } from './client.ts';
import { readPath } from './path.ts';
import { MEMBERSHIP_SETTINGS } from './settings.ts';
import type { RestSettings, WriteOperationName } from './settings.ts';

export interface RestApplyContext {
  client: RestClient;
  settings: RestSettings;
  capabilities: Capabilities;
  getAccount(nativeIdentity: string): Promise<AccountItem | null>;
}

function multiValued(settings: RestSettings, name: string): boolean {
  return name in settings.accountMapping.entitlements || settings.attributes.some((a) => a.name === name && a.multiValued);
}

/** The `attributes` of a template context: each changed attribute's new value (a list when multi-valued, null when cleared). */
function attributeValues(planned: ChangePlan, settings: RestSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const change of planned.changes.values()) {
    if (change.name in settings.accountMapping.entitlements) continue;
    out[change.name] = multiValued(settings, change.name) ? change.after : (change.after[0] ?? null);
  }
  return out;
}

function current(account: AccountItem | null, settings: RestSettings): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (account === null) return out;
  for (const [name, v] of Object.entries(account.attributes)) out[name] = valueTexts(v);
  for (const [name, e] of Object.entries(settings.accountMapping.entitlements)) {
    out[name] = account.entitlements.filter((x) => x.kind === e.kind).map((x) => x.nativeValue);
  }
  return out;
}

async function call(ctx: RestApplyContext, op: WriteOperationName, context: Record<string, unknown>) {
  const spec = ctx.settings.operations[op];
  if (spec === undefined) throw new ConnectorError('permanent', 'unsupported', `the operation ${op} is not configured`);
  return ctx.client.call(spec, { settings: ctx.settings.plain, ...context });
}

/** Membership calls for each entitlement attribute's net change; marks its requests. */
async function memberships(ctx: RestApplyContext, t: OutcomeTracker, planned: ChangePlan, nativeIdentity: string): Promise<void> {
  for (const [name, e] of Object.entries(ctx.settings.accountMapping.entitlements)) {
    const change = planned.changes.get(name);
    const requests = planned.requests.filter((p) => p.request.name === name);
    if (change === undefined || requests.length === 0) continue;
    const ops = MEMBERSHIP_SETTINGS[e.kind];
    const failures: string[] = [];
    const steps: [string, WriteOperationName | undefined][] = [...change.removed.map((v): [string, WriteOperationName | undefined] => [v, ops?.[1]]), ...change.added.map((v): [string, WriteOperationName | undefined] => [v, ops?.[0]])];
    for (const [value, op] of steps) {
      try {
        if (op === undefined) throw new ConnectorError('permanent', 'unsupported', `${e.kind} membership is not configured`);
        await call(ctx, op, { nativeIdentity, entitlement: value });
      } catch (err) {
        const ae = toApplyError(err);
        t.error(ae);
        failures.push(`${op ?? e.kind} ${value}: ${ae.message}`);
      }
    }
    for (const p of requests) {
      if (failures.length > 0) t.attribute(p.index, 'failed', failures.join('; '));
      else t.attribute(p.index, p.changed ? 'committed' : 'unchanged');
    }
  }
}

function markPlain(t: OutcomeTracker, planned: ChangePlan, settings: RestSettings, status: 'committed' | 'failed', message?: string): void {
  for (const p of planned.requests) {
    if (p.request.name in settings.accountMapping.entitlements) continue;
    if (status === 'failed') t.attribute(p.index, 'failed', message);
    else t.attribute(p.index, p.changed ? 'committed' : 'unchanged');
  }
}

async function create(ctx: RestApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const planned = planChanges({}, request.attributeRequests, { multiValued: (n) => multiValued(ctx.settings, n) });
  let nativeIdentity: string;
  try {
    const res = await call(ctx, 'createUser', { nativeIdentity: request.nativeIdentity ?? null, attributes: attributeValues(planned, ctx.settings) });
    const path = ctx.settings.operations.createUser?.nativeIdentity ?? ctx.settings.accountMapping.nativeIdentity;
    const id = readPath(res.body, path);
    nativeIdentity = typeof id === 'string' || typeof id === 'number' ? String(id) : (request.nativeIdentity ?? '');
    if (nativeIdentity === '') throw new ConnectorError('permanent', 'target_error', `createUser: the answer has no nativeIdentity at '${path}'`);
  } catch (e) {
    const err = toApplyError(e);
    t.account('failed');
    t.error(err);
    markPlain(t, planned, ctx.settings, 'failed', err.message);
    for (const p of planned.requests) if (p.request.name in ctx.settings.accountMapping.entitlements) t.attribute(p.index, 'failed', err.message);
    return t.result(null);
  }
  t.account('committed');
  markPlain(t, planned, ctx.settings, 'committed');
  await memberships(ctx, t, planned, nativeIdentity);
  return t.result(nativeIdentity);
}

async function remove(ctx: RestApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const nativeIdentity = request.nativeIdentity ?? '';
  request.attributeRequests.forEach((_, i) => t.attribute(i, 'unchanged', 'ignored: the rest kind has no delete options'));
  try {
    if (ctx.settings.operations.getAccount !== undefined && (await ctx.getAccount(nativeIdentity)) === null) {
      t.account('unchanged');
      return t.result(nativeIdentity);
    }
    await call(ctx, 'deleteUser', { nativeIdentity });
    t.account('committed');
  } catch (e) {
    t.deleteFailed(e);
  }
  return t.result(nativeIdentity);
}

async function change(ctx: RestApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const nativeIdentity = request.nativeIdentity ?? '';
  const wantEnabled = request.op === 'Disable' ? false : request.op === 'Enable' ? true : undefined;
  let account: AccountItem | null = null;
  if (ctx.settings.operations.getAccount !== undefined) {
    try {
      account = await ctx.getAccount(nativeIdentity);
    } catch (e) {
      t.error(toApplyError(e));
      if (wantEnabled !== undefined) t.account('failed');
      return t.result(nativeIdentity);
    }
    if (account === null) {
      t.error(new ConnectorError('permanent', 'not_found', `no account has nativeIdentity '${nativeIdentity}'`, { status: 404 }).toJSON());
      if (wantEnabled !== undefined) t.account('failed');
      return t.result(nativeIdentity);
    }
  }
  const planned = planChanges(current(account, ctx.settings), request.attributeRequests, { multiValued: (n) => multiValued(ctx.settings, n) });
  if (wantEnabled !== undefined) {
    if (account !== null && account.enabled === wantEnabled) t.account('unchanged');
    else {
      try {
        await call(ctx, wantEnabled ? 'enableUser' : 'disableUser', { nativeIdentity });
        t.account('committed');
      } catch (e) {
        t.account('failed');
        t.error(toApplyError(e));
        return t.result(nativeIdentity);
      }
    }
  }
  const plain = [...planned.changes.values()].filter((c) => !(c.name in ctx.settings.accountMapping.entitlements) && isEffective(c));
  if (plain.length > 0) {
    try {
      await call(ctx, 'updateUser', { nativeIdentity, attributes: attributeValues({ ...planned, changes: new Map(plain.map((c) => [c.name, c])) }, ctx.settings) });
    } catch (e) {
      const err = toApplyError(e);
      t.error(err);
      markPlain(t, planned, ctx.settings, 'failed', err.message);
      return t.result(nativeIdentity);
    }
  }
  markPlain(t, planned, ctx.settings, 'committed');
  await memberships(ctx, t, planned, nativeIdentity);
  return t.result(nativeIdentity);
}

/** Carries out one AccountRequest (see the Connector contract). */
export async function applyRest(ctx: RestApplyContext, request: AccountRequest): Promise<ApplyResult> {
  assertApplicable(request, ctx.capabilities);
  if (request.op === 'Create') return create(ctx, request);
  if (request.op === 'Delete') return remove(ctx, request);
  return change(ctx, request);
}
