/**
 * Carrying out one AccountRequest on a SCIM target: Users are created with POST, changed
 * with one PATCH (or PUT where PATCH is off) carrying every attribute change and `active`,
 * deleted with DELETE; group memberships change on the Group resource.
 */
import type { Problem } from '../../domain/result.ts';
import type { AccountRequest } from '../../plan/model.ts';
import type { Capabilities } from '../capabilities.ts';
import type { AttributeChange, ChangePlan } from '../changes.ts';
import { isEffective, planChanges, valueTexts } from '../changes.ts';
import type { ApplyResult } from '../contract.ts';
import { ConnectorError, refused, toApplyError } from '../errors.ts';
import { OutcomeTracker, assertApplicable, markPlannedAttributes } from '../outcomes.ts';
import type { ScimClient } from './client.ts';
import type { MappedAttribute, PatchOperation, ScimMapping, ScimResource } from './mapping.ts';
import { patchOperations, readAttribute, writeIntoResource, writeScalar } from './mapping.ts';
import type { Versioned } from './resources.ts';
import { changeMembership, findResources, getResource, patchResource, putResource, quote, userIdOf } from './resources.ts';
import { CORE_USER_SCHEMA } from './scim-schema.ts';
import type { ScimSettings } from './settings.ts';

export interface ScimApplyContext {
  client: ScimClient;
  settings: ScimSettings;
  capabilities: Capabilities;
  scrub: (text: string) => string;
}

const GROUPS = 'groups';

function fieldOf(request: AccountRequest, index: number): string {
  return `attributeRequests[${index}] (${request.attributeRequests[index]?.name ?? ''})`;
}

/** Problems with attribute names and values, found before any change is made. */
function checkAttributes(request: AccountRequest, mapping: ScimMapping): Problem[] {
  const problems: Problem[] = [];
  request.attributeRequests.forEach((ar, i) => {
    const field = fieldOf(request, i);
    if (ar.name === GROUPS && mapping.entitlementAttributes.groups !== undefined) return;
    const m = mapping.attributes.get(ar.name);
    if (m === undefined) {
      problems.push({ code: 'connector.unknown_attribute', field, message: `the target's User schema has no attribute '${ar.name}'` });
      return;
    }
    if (!m.writable) {
      problems.push({ code: 'connector.read_only_attribute', field, message: `'${ar.name}' is read-only on the target` });
      return;
    }
    const values = valueTexts(ar.value);
    if (!m.multiValued && ar.op !== 'Remove' && values.length > 1) {
      problems.push({ code: 'connector.invalid_value', field, message: `'${ar.name}' is single-valued; give one value, not ${values.length}` });
    }
    for (const v of values) {
      const w = writeScalar(v, m);
      if ('error' in w) problems.push({ code: 'connector.invalid_value', field, message: w.error });
    }
  });
  if (request.op === 'Create' && request.nativeIdentity === undefined && !request.attributeRequests.some((a) => a.name === 'userName' && a.op !== 'Remove')) {
    problems.push({ code: 'connector.missing_user_name', field: 'nativeIdentity', message: 'a Create needs a userName attribute or a nativeIdentity to use as userName' });
  }
  return problems;
}

/** Each group value named in the request resolved to a Group id (an id, or a unique displayName). */
async function resolveGroups(client: ScimClient, request: AccountRequest): Promise<Map<string, string>> {
  const names = new Set<string>();
  for (const ar of request.attributeRequests) if (ar.name === GROUPS) for (const v of valueTexts(ar.value)) names.add(v);
  const resolved = new Map<string, string>();
  const problems: Problem[] = [];
  for (const name of names) {
    const byId = await getResource(client, 'Groups', name, 'id');
    if (byId !== null) {
      resolved.set(name, name);
      continue;
    }
    const found = await findResources(client, 'Groups', `displayName eq ${quote(name)}`, 'id');
    const id = found[0]?.id;
    if (found.length === 1 && typeof id === 'string') resolved.set(name, id);
    else problems.push({ code: 'connector.unknown_entitlement', field: GROUPS, message: found.length === 0 ? `no SCIM Group has id or displayName '${name}'` : `more than one SCIM Group has displayName '${name}'; name it by id` });
  }
  if (problems.length > 0) throw refused('invalid_request', problems);
  return resolved;
}

/** The requests with group names replaced by ids, so they compare with the account's memberships. */
function withGroupIds(request: AccountRequest, ids: Map<string, string>): AccountRequest {
  return {
    ...request,
    attributeRequests: request.attributeRequests.map((ar) =>
      ar.name !== GROUPS ? ar : { ...ar, value: valueTexts(ar.value).map((v) => ids.get(v) ?? v) },
    ),
  };
}

function currentValues(resource: ScimResource | undefined, mapping: ScimMapping): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (resource === undefined) return out;
  for (const m of mapping.attributes.values()) {
    if (m.readable) out[m.name] = valueTexts(readAttribute(resource, m));
  }
  const groups = Array.isArray(resource.groups) ? (resource.groups as { value?: unknown }[]) : [];
  out[GROUPS] = groups.map((g) => String(g.value as string));
  return out;
}

function plan(request: AccountRequest, current: Record<string, string[]>, mapping: ScimMapping): ChangePlan {
  return planChanges(current, request.attributeRequests, {
    multiValued: (name) => name === GROUPS || (mapping.attributes.get(name)?.multiValued ?? false),
  });
}

function identityOf(resource: ScimResource, identityAttribute: 'id' | 'userName'): string | undefined {
  const v = resource[identityAttribute];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function convertFor(m: MappedAttribute): (t: string) => unknown {
  return (t) => {
    const w = writeScalar(t, m);
    return 'value' in w ? w.value : t;
  };
}

/** The user-resource changes (everything but group membership) of a plan. */
function userChanges(changes: ChangePlan['changes'], mapping: ScimMapping): [MappedAttribute, AttributeChange][] {
  const out: [MappedAttribute, AttributeChange][] = [];
  for (const change of changes.values()) {
    if (change.name === GROUPS || !isEffective(change)) continue;
    const m = mapping.attributes.get(change.name);
    if (m !== undefined) out.push([m, change]);
  }
  return out;
}

interface Ctx extends ScimApplyContext {
  mapping: ScimMapping;
  usePatch: boolean;
  useEtag: boolean;
}

async function applyMemberships(ctx: Ctx, t: OutcomeTracker, planned: ChangePlan, userId: string): Promise<void> {
  const change = planned.changes.get(GROUPS);
  const groupRequests = planned.requests.filter((p) => p.request.name === GROUPS);
  if (change === undefined || groupRequests.length === 0) return;
  const failures: string[] = [];
  let stop: ConnectorError | undefined;
  const steps: [string, 'add' | 'remove'][] = [...change.removed.map((g): [string, 'remove'] => [g, 'remove']), ...change.added.map((g): [string, 'add'] => [g, 'add'])];
  for (const [groupId, op] of steps) {
    if (stop !== undefined) {
      failures.push(`${op} ${groupId}: not attempted`);
      continue;
    }
    try {
      await changeMembership(ctx.client, groupId, userId, op, ctx.usePatch);
    } catch (e) {
      const err = e instanceof ConnectorError ? e : new ConnectorError('retryable', 'target_error', ctx.scrub(String(e)));
      t.error(err.toJSON());
      failures.push(`${op} ${groupId}: ${err.message}`);
      // After a retryable failure the rest would most likely fail the same way.
      if (err.kind !== 'permanent') stop = err;
    }
  }
  for (const p of groupRequests) {
    if (failures.length > 0) t.attribute(p.index, 'failed', failures.join('; '));
    else t.attribute(p.index, p.changed ? 'committed' : 'unchanged');
  }
}

async function createUser(ctx: Ctx, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const planned = plan(request, {}, ctx.mapping);
  const body: ScimResource = { schemas: [CORE_USER_SCHEMA], active: true };
  if (request.nativeIdentity !== undefined) body.userName = request.nativeIdentity;
  for (const [m, change] of userChanges(planned.changes, ctx.mapping)) writeIntoResource(body, m, change, convertFor(m));
  let created: ScimResource;
  try {
    created = (await ctx.client.send('POST', '/Users', { json: body })).body as ScimResource;
  } catch (e) {
    const err = toApplyError(e);
    t.account('failed');
    t.error(err);
    markPlannedAttributes(t, planned, GROUPS, 'failed', err.message);
    return t.result(null);
  }
  t.account('committed');
  markPlannedAttributes(t, planned, GROUPS, 'committed');
  const userId = String(created.id);
  await applyMemberships(ctx, t, planned, userId);
  return t.result(identityOf(created, ctx.settings.identityAttribute) ?? userId);
}

async function readUser(ctx: Ctx, nativeIdentity: string): Promise<{ id: string; user: Versioned } | null> {
  const id = await userIdOf(ctx.client, nativeIdentity, ctx.settings.identityAttribute);
  if (id === null) return null;
  const user = await getResource(ctx.client, 'Users', id);
  return user === null ? null : { id, user };
}

async function deleteUser(ctx: ScimApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const nativeIdentity = request.nativeIdentity ?? '';
  // Attribute requests on a Delete are options; SCIM has none, so they change nothing.
  request.attributeRequests.forEach((_, i) => t.attribute(i, 'unchanged', 'ignored: SCIM has no delete options'));
  try {
    const id = await userIdOf(ctx.client, nativeIdentity, ctx.settings.identityAttribute);
    if (id === null) {
      t.account('unchanged');
      return t.result(nativeIdentity);
    }
    await ctx.client.send('DELETE', `/Users/${encodeURIComponent(id)}`);
    t.account('committed');
  } catch (e) {
    t.deleteFailed(e);
  }
  return t.result(nativeIdentity);
}

/** Modify, Disable and Enable: one write of the User resource, then group memberships. */
async function modifyUser(ctx: Ctx, request: AccountRequest): Promise<ApplyResult> {
  const nativeIdentity = request.nativeIdentity ?? '';
  const wantActive = request.op === 'Disable' ? false : request.op === 'Enable' ? true : undefined;
  // One re-read when the resource changed between our read and our write (ETag mismatch).
  for (let attempt = 0; ; attempt++) {
    const t = new OutcomeTracker(request);
    let found: { id: string; user: Versioned } | null;
    try {
      found = await readUser(ctx, nativeIdentity);
    } catch (e) {
      t.error(toApplyError(e));
      if (wantActive !== undefined) t.account('failed');
      return t.result(nativeIdentity);
    }
    if (found === null) {
      t.error(new ConnectorError('permanent', 'not_found', `no SCIM User has ${ctx.settings.identityAttribute} '${nativeIdentity}'`, { status: 404 }).toJSON());
      if (wantActive !== undefined) t.account('failed');
      return t.result(nativeIdentity);
    }
    const { id, user } = found;
    const planned = plan(request, currentValues(user.resource, ctx.mapping), ctx.mapping);
    const changes = userChanges(planned.changes, ctx.mapping);
    const isActive = user.resource.active !== false;
    const activeChanges = wantActive !== undefined && wantActive !== isActive;
    if (wantActive !== undefined) t.account(activeChanges ? 'committed' : 'unchanged');
    let updated: ScimResource | undefined = user.resource;
    if (changes.length > 0 || activeChanges) {
      const ifMatch = ctx.useEtag ? user.version : undefined;
      try {
        if (ctx.usePatch) {
          const ops: PatchOperation[] = changes.flatMap(([m, change]) => patchOperations(m, change, convertFor(m)));
          if (activeChanges) ops.push({ op: 'replace', path: 'active', value: wantActive });
          updated = await patchResource(ctx.client, 'Users', id, ops, ifMatch);
        } else {
          const next: ScimResource = structuredClone(user.resource);
          for (const [m, change] of changes) writeIntoResource(next, m, change, convertFor(m));
          if (activeChanges) next.active = wantActive;
          updated = await putResource(ctx.client, 'Users', id, next, ifMatch);
        }
      } catch (e) {
        if (e instanceof ConnectorError && e.status === 412 && attempt === 0) continue;
        const err = toApplyError(e);
        t.error(err);
        if (wantActive !== undefined && activeChanges) t.account('failed');
        markPlannedAttributes(t, planned, GROUPS, 'failed', err.message);
        return t.result(nativeIdentity);
      }
    }
    markPlannedAttributes(t, planned, GROUPS, 'committed');
    await applyMemberships(ctx, t, planned, id);
    // A Modify may rename the userName that is the nativeIdentity.
    return t.result((updated === undefined ? undefined : identityOf(updated, ctx.settings.identityAttribute)) ?? nativeIdentity);
  }
}

/** Carries out one AccountRequest on the SCIM target (see the Connector contract). */
export async function applyScim(ctx: ScimApplyContext, request: AccountRequest): Promise<ApplyResult> {
  assertApplicable(request, ctx.capabilities);
  if (request.op === 'Delete') return deleteUser(ctx, request);
  const mapping = await ctx.client.mapping();
  const problems = checkAttributes(request, mapping);
  if (problems.length > 0) throw refused('invalid_request', problems);
  const features = await ctx.client.features();
  const usePatch = ctx.settings.patch === 'always' || (ctx.settings.patch === 'auto' && features.patch);
  const full: Ctx = { ...ctx, mapping, usePatch, useEtag: features.etag };
  const groupIds = await resolveGroups(ctx.client, request);
  const resolved = withGroupIds(request, groupIds);
  return resolved.op === 'Create' ? createUser(full, resolved) : modifyUser(full, resolved);
}
