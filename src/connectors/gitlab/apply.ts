/**
 * Carrying out one AccountRequest on GitLab: POST /users (then secondary emails and group
 * memberships), PUT /users/:id for attribute changes, block and unblock for Disable and
 * Enable, DELETE /users/:id; group membership through the Group members API with the
 * configured access level.
 */
import type { Problem } from '../../domain/result.ts';
import type { AccountRequest } from '../../plan/model.ts';
import type { Capabilities } from '../capabilities.ts';
import type { ChangePlan } from '../changes.ts';
import { isEffective, planChanges, valueTexts } from '../changes.ts';
import type { AccountItem, ApplyResult } from '../contract.ts';
import { ConnectorError, refused, toApplyError } from '../errors.ts';
import { OutcomeTracker, assertApplicable } from '../outcomes.ts';
import type { GitlabApi } from './api.ts';
import { EMAILS, GROUPS, PASSWORD, USER_FIELDS } from './mapping.ts';
import type { GitlabSettings } from './settings.ts';

export interface GitlabApplyContext {
  api: GitlabApi;
  settings: GitlabSettings;
  capabilities: Capabilities;
  getAccount(nativeIdentity: string): Promise<AccountItem | null>;
}

const KNOWN = new Set<string>([...USER_FIELDS, EMAILS, GROUPS, PASSWORD]);
const multi = (name: string): boolean => name === EMAILS || name === GROUPS;

function check(request: AccountRequest): Problem[] {
  const problems: Problem[] = [];
  request.attributeRequests.forEach((ar, i) => {
    const field = `attributeRequests[${i}] (${ar.name})`;
    if (!KNOWN.has(ar.name)) problems.push({ code: 'connector.unknown_attribute', field, message: `GitLab users have no attribute '${ar.name}'; they have ${[...KNOWN].join(', ')}` });
    else if (ar.name === GROUPS && valueTexts(ar.value).some((v) => !/^\d+$/.test(v))) problems.push({ code: 'connector.invalid_value', field, message: 'group values are GitLab group ids (whole numbers)' });
  });
  if (request.op === 'Create') {
    const given = new Set(request.attributeRequests.filter((a) => a.op !== 'Remove' && valueTexts(a.value).length > 0).map((a) => a.name));
    if (request.nativeIdentity !== undefined) given.add('username');
    for (const f of ['username', 'email', 'name']) {
      if (!given.has(f)) problems.push({ code: 'connector.missing_attribute', field: 'attributeRequests', message: `a GitLab user needs '${f}' to be created` });
    }
  }
  if (request.op !== 'Create' && request.nativeIdentity !== undefined && !/^\d+$/.test(request.nativeIdentity)) {
    problems.push({ code: 'connector.invalid_value', field: 'nativeIdentity', message: `'${request.nativeIdentity}' is not a GitLab user id (a whole number)` });
  }
  return problems;
}

function current(account: AccountItem): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(account.attributes)) out[k] = valueTexts(v);
  out[GROUPS] = account.entitlements.map((e) => e.nativeValue);
  return out;
}

function mark(t: OutcomeTracker, planned: ChangePlan, names: Set<string>, status: 'committed' | 'failed', message?: string): void {
  for (const p of planned.requests) {
    if (!names.has(p.request.name)) continue;
    if (status === 'failed') t.attribute(p.index, 'failed', message);
    else t.attribute(p.index, p.changed ? 'committed' : 'unchanged');
  }
}

/** Secondary emails and group memberships: one call per value added or removed. */
async function lists(ctx: GitlabApplyContext, t: OutcomeTracker, planned: ChangePlan, userId: string): Promise<void> {
  for (const name of [EMAILS, GROUPS]) {
    const change = planned.changes.get(name);
    if (change === undefined) continue;
    const failures: string[] = [];
    let known: { id: number; email: string }[] | undefined;
    for (const [value, op] of [...change.removed.map((v) => [v, 'remove'] as const), ...change.added.map((v) => [v, 'add'] as const)]) {
      try {
        if (name === GROUPS) {
          if (op === 'add') await ctx.api.addMember(value, userId, ctx.settings.accessLevel);
          else await ctx.api.removeMember(value, userId);
        } else if (op === 'add') await ctx.api.addEmail(userId, value);
        else {
          known ??= await ctx.api.emails(userId);
          const found = known.find((e) => e.email.toLowerCase() === value.toLowerCase());
          if (found !== undefined) await ctx.api.removeEmail(userId, found.id);
        }
      } catch (e) {
        // Already a member, or already gone: the target is as asked.
        if (e instanceof ConnectorError && ((op === 'add' && e.status === 409 && name === GROUPS) || (op === 'remove' && e.status === 404))) continue;
        const err = toApplyError(e);
        t.error(err);
        failures.push(`${op} ${value}: ${err.message}`);
      }
    }
    for (const p of planned.requests.filter((x) => x.request.name === name)) {
      if (failures.length > 0) t.attribute(p.index, 'failed', failures.join('; '));
      else t.attribute(p.index, p.changed ? 'committed' : 'unchanged');
    }
  }
}

function userBody(planned: ChangePlan, creating: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const change of planned.changes.values()) {
    if (change.name === EMAILS || change.name === GROUPS) continue;
    if (!creating && !isEffective(change)) continue;
    const v = change.after[0];
    if (v !== undefined) body[change.name] = v;
    else if (change.name === 'job_title') body[change.name] = '';
  }
  return body;
}

async function create(ctx: GitlabApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const planned = planChanges({}, request.attributeRequests, { multiValued: multi });
  const body = userBody(planned, true);
  if (body.username === undefined && request.nativeIdentity !== undefined) body.username = request.nativeIdentity;
  if (body.password === undefined) body[ctx.settings.newPassword === 'reset' ? 'reset_password' : 'force_random_password'] = true;
  body.skip_confirmation = ctx.settings.skipConfirmation;
  const plain = new Set<string>([...USER_FIELDS, PASSWORD]);
  let id: string;
  try {
    id = String((await ctx.api.createUser(body)).id);
  } catch (e) {
    const err = toApplyError(e);
    t.account('failed');
    t.error(err);
    mark(t, planned, new Set(KNOWN), 'failed', err.message);
    return t.result(null);
  }
  t.account('committed');
  mark(t, planned, plain, 'committed');
  await lists(ctx, t, planned, id);
  return t.result(id);
}

async function remove(ctx: GitlabApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const id = request.nativeIdentity ?? '';
  request.attributeRequests.forEach((_, i) => t.attribute(i, 'unchanged', 'ignored: the gitlab kind has no delete options'));
  try {
    if ((await ctx.getAccount(id)) === null) t.account('unchanged');
    else {
      await ctx.api.deleteUser(id);
      t.account('committed');
    }
  } catch (e) {
    t.deleteFailed(e);
  }
  return t.result(id);
}

async function change(ctx: GitlabApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const id = request.nativeIdentity ?? '';
  const want = request.op === 'Disable' ? false : request.op === 'Enable' ? true : undefined;
  let account: AccountItem | null;
  try {
    account = await ctx.getAccount(id);
  } catch (e) {
    t.error(toApplyError(e));
    if (want !== undefined) t.account('failed');
    return t.result(id);
  }
  if (account === null) {
    t.error(new ConnectorError('permanent', 'not_found', `no GitLab user has id ${id}`, { status: 404 }).toJSON());
    if (want !== undefined) t.account('failed');
    return t.result(id);
  }
  if (want !== undefined) {
    if (account.enabled === want) t.account('unchanged');
    else {
      try {
        if (want) await ctx.api.unblock(id);
        else await ctx.api.block(id);
        t.account('committed');
      } catch (e) {
        t.account('failed');
        t.error(toApplyError(e));
        return t.result(id);
      }
    }
  }
  const planned = planChanges(current(account), request.attributeRequests, { multiValued: multi });
  const body = userBody(planned, false);
  const plain = new Set<string>([...USER_FIELDS, PASSWORD]);
  if (Object.keys(body).length > 0) {
    try {
      await ctx.api.editUser(id, body);
    } catch (e) {
      const err = toApplyError(e);
      t.error(err);
      mark(t, planned, plain, 'failed', err.message);
      return t.result(id);
    }
  }
  mark(t, planned, plain, 'committed');
  await lists(ctx, t, planned, id);
  return t.result(id);
}

/** Carries out one AccountRequest (see the Connector contract). */
export async function applyGitlab(ctx: GitlabApplyContext, request: AccountRequest): Promise<ApplyResult> {
  assertApplicable(request, ctx.capabilities);
  const problems = check(request);
  if (problems.length > 0) throw refused('invalid_request', problems);
  if (request.op === 'Create') return create(ctx, request);
  if (request.op === 'Delete') return remove(ctx, request);
  return change(ctx, request);
}
