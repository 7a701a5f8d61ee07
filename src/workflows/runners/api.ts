/**
 * `{provider}_api_{operation}` and `{provider}_api_{endpoint}` scripts: seed 000's API
 * operations carried out through the application's connector. Account operations become one
 * AccountRequest (Create, Disable, Enable, Delete, Unlock, Modify); membership operations a
 * Modify that adds or removes the entitlement's native value on the attribute carrying its
 * kind; create/delete of groups, roles and entities the contract's createEntitlement and
 * deleteEntitlement; a plan's flow applies exactly its AccountRequest; an endpoint is a
 * named call of a `rest` application.
 *
 * Each effect happens once from the target's view: a Create looks the account up first when
 * an earlier attempt may have made it (resumed, retried, or known to Steward), and a
 * conflict is settled by looking it up; membership and state changes are idempotent on the
 * target. After a change done in full, Steward's account row is written from the request
 * itself (the plan semantics over the stored row); after a partial one, from what the target
 * reads back. Attributes the target sets by itself reach Steward at the next reconciliation.
 * Failures are thrown as ConnectorErrors, classified, for the executor to retry or give up.
 */
import {
  ConnectorError,
  MEMBERSHIP_OPERATIONS,
  createEntitlementWith,
  deleteEntitlementWith,
  type AccountItem,
  type ApplyError,
  type Connector,
  type ConnectorErrorCode,
  type CreatableKind,
  type EntitlementItem,
  type Operation,
  type RestConnector,
} from '../../connectors/index.ts';
import type { Problem } from '../../domain/result.ts';
import type { AccountSchema, EntitlementKind } from '../../domain/schema.ts';
import { applyAccountRequest, parsePlanJson, type AccountOp, type AccountRequest, type AccountState, type AttributeOp, type AttributeRequest, type PlanValue } from '../../plan/index.ts';
import { accountCreateRequest } from '../../services/index.ts';
import { getApplicationRow } from '../../store/applications.ts';
import { identitiesByIds } from '../../store/plans.ts';
import type { ApplicationRow } from '../../store/tables.ts';
import type { ScriptType } from '../script-types.ts';
import { accountOfIdentity, forgetAccount, recordAccount, recordFlag } from './api-accounts.ts';
import type { RunnerContext, RunnerDeps, ScriptOutcome, ScriptRunner } from './types.ts';

/** Account-level operations and the AccountRequest op each is. */
const ACCOUNT_OPS: Partial<Record<Operation, AccountOp>> = { disable_user: 'Disable', enable_user: 'Enable', delete_user: 'Delete', unlock_user: 'Unlock' };

/** Membership operations: the entitlement kind and whether the value is added or removed. */
const MEMBERSHIP: Partial<Record<Operation, { kind: EntitlementKind; op: 'Add' | 'Remove' }>> = {};
for (const [kind, ops] of Object.entries(MEMBERSHIP_OPERATIONS) as [EntitlementKind, { add: Operation; remove: Operation }][]) {
  if (kind === 'permission') continue;
  MEMBERSHIP[ops.add] = { kind, op: 'Add' };
  MEMBERSHIP[ops.remove] = { kind, op: 'Remove' };
}

/** Entitlement operations: make or remove a group, role or entity. */
const ENTITLEMENT_OPS: Partial<Record<Operation, { action: 'create' | 'delete'; kind: CreatableKind }>> = {
  create_group: { action: 'create', kind: 'group' },
  delete_group: { action: 'delete', kind: 'group' },
  create_role: { action: 'create', kind: 'role' },
  delete_role: { action: 'delete', kind: 'role' },
  create_entity: { action: 'create', kind: 'entity' },
  delete_entity: { action: 'delete', kind: 'entity' },
};

type FieldKind = 'string' | 'object' | 'list' | 'op';
const NATIVE_IDENTITY = { nativeIdentity: 'string' } as const;

/** The metadata each operation takes (every field optional unless listed in REQUIRED). */
function fieldsOf(type: ScriptType): Record<string, FieldKind> {
  if (type.family === 'endpoint') return { ...NATIVE_IDENTITY, entitlement: 'string', attributes: 'object', params: 'object' };
  if (type.family !== 'api') return {};
  const op = type.operation;
  if (op === 'create_user') return { ...NATIVE_IDENTITY, attributes: 'object' };
  if (op === 'set_attributes') return { ...NATIVE_IDENTITY, attributes: 'object' };
  if (op === 'set_password') return { ...NATIVE_IDENTITY, password: 'string' };
  if (op === 'set_permissions') return { ...NATIVE_IDENTITY, target: 'string', rights: 'list', op: 'op' };
  if (ACCOUNT_OPS[op]) return { ...NATIVE_IDENTITY };
  if (MEMBERSHIP[op]) return { ...NATIVE_IDENTITY, entitlement: 'string' };
  const e = ENTITLEMENT_OPS[op];
  if (e?.action === 'create') return { name: 'string', nativeValue: 'string', description: 'string', attributes: 'object' };
  if (e?.action === 'delete') return { nativeValue: 'string' };
  return {};
}

const REQUIRED: Partial<Record<Operation, string[]>> = { set_attributes: ['attributes'], set_password: ['password'], set_permissions: ['target', 'rights'] };

function fieldProblem(kind: FieldKind, v: unknown): string | null {
  switch (kind) {
    case 'string':
      return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v)) ? null : 'must be a non-empty string';
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? null : 'must be an object';
    case 'list':
      return (typeof v === 'string' && v.trim() !== '') || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) ? null : 'must be a non-empty list of strings';
    case 'op':
      return typeof v === 'string' && (['Set', 'Add', 'Remove'].includes(v) || /^\{\{[^{}]*\}\}$/.test(v)) ? null : 'must be Set, Add or Remove';
  }
}

/** What the connector kind offers as `{kind}_api_*` scripts, for messages. */
const offered = (kind: string, capabilities: readonly string[]): string => (capabilities.length === 0 ? `the ${kind} connector of this application offers no API operations` : `it offers ${capabilities.map((c) => `${kind}_api_${c}`).join(', ')}`);

/** Checks a script against the chain's application when the chain is saved. */
export function validateApiScript(type: ScriptType, metadata: Record<string, unknown>, field: string, application: { connectorKind: string; capabilities: readonly string[] }): Problem[] {
  if (type.family !== 'api' && type.family !== 'endpoint') return [{ code: 'script.invalid_type', field: `${field}.type`, message: 'is not a {provider}_api_* script' }];
  const problems: Problem[] = [];
  const kind = application.connectorKind;
  if (type.provider !== kind) {
    problems.push({ code: 'script.provider_mismatch', field: `${field}.type`, message: `provider '${type.provider}' is not this application's connector kind '${kind}'; ${offered(kind, application.capabilities)}` });
  } else if (type.family === 'api' && !application.capabilities.includes(type.operation)) {
    problems.push({ code: 'script.unsupported_operation', field: `${field}.type`, message: `the ${kind} connector of this application does not support ${type.operation}; ${offered(kind, application.capabilities)}` });
  } else if (type.family === 'endpoint' && kind !== 'rest') {
    problems.push({
      code: 'script.unsupported_operation',
      field: `${field}.type`,
      message: `'${type.endpoint}' is not an operation of the ${kind} connector, and named endpoints need a rest application; ${offered(kind, application.capabilities)}`,
    });
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return [...problems, { code: 'metadata.invalid', field: `${field}.metadata`, message: 'must be an object' }];
  const fields = fieldsOf(type);
  const required = type.family === 'api' ? (REQUIRED[type.operation] ?? []) : [];
  for (const name of required) {
    if (metadata[name] === undefined || metadata[name] === null) problems.push({ code: 'metadata.required', field: `${field}.metadata.${name}`, message: 'is required' });
  }
  for (const [name, v] of Object.entries(metadata)) {
    const want = fields[name];
    if (want === undefined) {
      const known = Object.keys(fields);
      problems.push({ code: 'metadata.unknown_field', field: `${field}.metadata.${name}`, message: `is not a field of this script type (${known.length === 0 ? 'it takes none' : `it takes ${known.join(', ')}`})` });
      continue;
    }
    if (v === undefined || v === null) continue;
    const why = fieldProblem(want, v);
    if (why) problems.push({ code: 'metadata.invalid', field: `${field}.metadata.${name}`, message: why });
  }
  return problems;
}

/** A permanent error for metadata that is unusable once its placeholders are filled in. */
function badMetadata(name: string, message: string): ConnectorError {
  return new ConnectorError('permanent', 'invalid_request', `metadata.${name}: ${message}`, { problems: [{ code: 'metadata.invalid', field: `metadata.${name}`, message }] });
}

function text(metadata: Record<string, unknown>, name: string): string | undefined {
  const v = metadata[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw badMetadata(name, 'must be a string');
  return v;
}

function object(metadata: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = metadata[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badMetadata(name, 'must be an object');
  return v as Record<string, unknown>;
}

/** A metadata value as a plan value: scalars, or lists of scalars. */
function planValue(name: string, v: unknown): PlanValue {
  const scalar = (x: unknown): x is string | number | boolean => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
  if (scalar(v)) return v;
  if (Array.isArray(v) && v.every(scalar)) return v;
  throw badMetadata(`attributes.${name}`, 'must be a string, number, boolean or a list of them');
}

/** An ApplyResult's failure as the ConnectorError the executor classifies. */
export function applyErrorToConnectorError(error: ApplyError | undefined, fallback: string): ConnectorError {
  if (error === undefined) return new ConnectorError('retryable', 'target_error', fallback);
  return new ConnectorError(error.kind, error.code as ConnectorErrorCode, error.message, {
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
}

interface Env {
  ctx: RunnerContext;
  deps: RunnerDeps;
  connector: Connector;
  app: ApplicationRow;
}

/** The account the script acts on: named in metadata, made by an earlier script of this flow, or the identity's account. */
async function accountOf(env: Env): Promise<string> {
  const { ctx, deps, app } = env;
  const named = text(ctx.script.metadata, 'nativeIdentity');
  if (named !== undefined) return named;
  const positions = Object.keys(ctx.outputs)
    .map(Number)
    .filter((p) => p < ctx.script.position)
    .sort((a, b) => b - a);
  for (const p of positions) {
    const made = ctx.outputs[p]?.nativeIdentity;
    if (typeof made === 'string' && made !== '') return made;
  }
  if (ctx.flow.identityId !== null) {
    const held = await accountOfIdentity(deps.db, app.id, ctx.flow.identityId);
    if (held !== undefined) return held;
  }
  const who = ctx.flow.identityId === null ? 'this flow names no identity' : `identity ${ctx.flow.identityId} has no account in application '${app.name}'`;
  throw new ConnectorError('permanent', 'not_found', `${who}: run ${app.connector_kind}_api_create_user first, or give metadata.nativeIdentity`);
}

/** The flow's entitlement row, checked to belong to the application. */
async function flowEntitlement(env: Env) {
  const { ctx, deps, app } = env;
  if (ctx.flow.entitlementId === null) return undefined;
  const row = await deps.db.k.selectFrom('entitlements').selectAll().where('id', '=', ctx.flow.entitlementId).executeTakeFirst();
  if (row === undefined) throw new ConnectorError('permanent', 'not_found', `the flow's entitlement ${ctx.flow.entitlementId} no longer exists`);
  if (row.application_id !== app.id) throw new ConnectorError('permanent', 'invalid_request', `the flow's entitlement ${row.id} belongs to another application`);
  return row;
}

/** The attribute that carries entitlements of this kind on this connector. */
function attributeFor(connector: Connector, kind: EntitlementKind): string {
  const found = Object.entries(connector.capabilities.entitlementAttributes).find(([, k]) => k === kind);
  if (found === undefined) throw new ConnectorError('permanent', 'unsupported', `the ${connector.kind} connector has no attribute that holds ${kind} entitlements`);
  return found[0];
}

/** Reads the account back and writes Steward's row; a Delete removes the row. */
async function syncAccount(env: Env, op: AccountOp, nativeIdentity: string): Promise<AccountItem | null> {
  const { deps, app, connector, ctx } = env;
  if (op === 'Delete') {
    await forgetAccount(deps.db, app.id, nativeIdentity);
    return null;
  }
  const item = await connector.getAccount(nativeIdentity);
  if (item === null) await forgetAccount(deps.db, app.id, nativeIdentity);
  else await recordAccount(deps.db, app.id, ctx.flow.identityId, item, connector.capabilities);
  return item;
}

/** Applies one AccountRequest, records the account, and answers the outcome; a failure is thrown, classified. */
async function applyRequest(env: Env, request: AccountRequest): Promise<ScriptOutcome> {
  const result = await env.connector.apply(request);
  if (result.status === 'failed') {
    // A Create whose account was made is recorded, so the retry finds and completes it.
    if (result.nativeIdentity !== null && request.op === 'Create' && result.accountStatus === 'committed') await syncAccount(env, 'Modify', result.nativeIdentity);
    throw applyErrorToConnectorError(result.error, `${request.op} failed without a reason from the connector`);
  }
  const nativeIdentity = result.nativeIdentity ?? request.nativeIdentity ?? '';
  if (nativeIdentity !== '') {
    // Every part done as asked: Steward's row follows from the request itself, with no second
    // call to the target. Anything less, and the target is read back.
    const whole = result.requests.every((r) => r.status !== 'failed');
    if (whole && request.op !== 'Delete') await recordApplied(env, request, nativeIdentity);
    else await syncAccount(env, request.op, nativeIdentity);
  }
  return { status: result.status === 'unchanged' ? 'skipped' : 'succeeded', output: { nativeIdentity, result: result.status } };
}

/**
 * Writes Steward's account row as the request left it: the plan semantics (`applyAccountRequest`)
 * over the stored row. Where they refuse (an attribute the stored schema does not know), the
 * target is read back instead.
 */
async function recordApplied(env: Env, request: AccountRequest, nativeIdentity: string): Promise<void> {
  const { deps, app, connector, ctx } = env;
  const flag = FLAG_OPS[request.op];
  if (flag && request.attributeRequests.length === 0 && request.permissionRequests.length === 0) {
    // A change of state alone leaves the stored attributes as they are: one update of the
    // flag, linking the account as recordAccount does. No row: the target is read back.
    if (await recordFlag(deps.db, app.id, nativeIdentity, ctx.flow.identityId, flag)) return;
    await syncAccount(env, request.op, nativeIdentity);
    return;
  }
  const row = request.op === 'Create' ? undefined : await deps.db.k.selectFrom('accounts').select(['attributes', 'enabled', 'locked']).where('application_id', '=', app.id).where('native_identity', '=', nativeIdentity).executeTakeFirst();
  const before: AccountState | undefined = row ? { exists: true, enabled: row.enabled, locked: row.locked, attributes: row.attributes as AccountState['attributes'], permissions: {} } : undefined;
  const after = request.op === 'Create' || before ? applyAccountRequest(before, request, app.account_schema as AccountSchema) : undefined;
  if (!after?.ok) {
    await syncAccount(env, request.op, nativeIdentity);
    return;
  }
  const entitlementAttrs = connector.capabilities.entitlementAttributes;
  const listOf = (v: PlanValue | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((x) => (x instanceof Date ? x.toISOString() : String(x)));
  const entitlements = Object.entries(entitlementAttrs).flatMap(([attr, kind]) => listOf(after.value.attributes[attr]).map((nativeValue) => ({ kind, nativeValue })));
  const own = Object.fromEntries(Object.entries(after.value.attributes).filter(([k]) => !(k in entitlementAttrs) && k !== connector.capabilities.passwordAttribute));
  await recordAccount(deps.db, app.id, ctx.flow.identityId, { nativeIdentity, attributes: own, enabled: after.value.enabled, locked: after.value.locked, entitlements }, connector.capabilities);
}

/** The flag each state-only AccountRequest sets, as `applyAccountRequest` does. */
const FLAG_OPS: Partial<Record<AccountOp, { enabled: boolean } | { locked: boolean }>> = { Disable: { enabled: false }, Enable: { enabled: true }, Unlock: { locked: false } };

/** The account a Create would make, if the target has it already. */
function findExisting(connector: Connector, request: AccountRequest): Promise<AccountItem | null> {
  if (connector.findAccount !== undefined) return connector.findAccount(request);
  return request.nativeIdentity === undefined ? Promise.resolve(null) : connector.getAccount(request.nativeIdentity);
}

/** A Create whose account exists already: its entitlements are added to it, and it is recorded. */
async function adopt(env: Env, request: AccountRequest, existing: AccountItem): Promise<ScriptOutcome> {
  const entitlementAttrs = env.connector.capabilities.entitlementAttributes;
  const memberships = request.attributeRequests.filter((a) => a.name in entitlementAttrs && a.op !== 'Remove');
  if (memberships.length > 0) {
    const result = await env.connector.apply({ application: request.application, op: 'Modify', nativeIdentity: existing.nativeIdentity, attributeRequests: memberships, permissionRequests: [] });
    if (result.status === 'failed') throw applyErrorToConnectorError(result.error, 'adding the memberships of the Create to the existing account failed');
  }
  await syncAccount(env, 'Modify', existing.nativeIdentity);
  return { status: 'succeeded', output: { nativeIdentity: existing.nativeIdentity, result: 'existed' } };
}

/** A Create, once from the target's view: looked up first where an earlier attempt may have made it; a conflict is looked up. */
async function createOnce(env: Env, request: AccountRequest, knownAccount?: Promise<string | undefined>): Promise<ScriptOutcome> {
  const { ctx, deps, app, connector } = env;
  const known = await (knownAccount ?? (ctx.flow.identityId === null ? undefined : accountOfIdentity(deps.db, app.id, ctx.flow.identityId)));
  if (known !== undefined) {
    const existing = await connector.getAccount(known);
    if (existing !== null) return adopt(env, request, existing);
  }
  if (ctx.script.resumed || ctx.script.attempt > 1) {
    const existing = await findExisting(connector, request);
    if (existing !== null) return adopt(env, request, existing);
  }
  const result = await connector.apply(request);
  if (result.status === 'failed' && result.error?.code === 'conflict' && result.accountStatus !== 'committed') {
    const existing = await findExisting(connector, request);
    if (existing !== null) return adopt(env, request, existing);
    throw new ConnectorError('permanent', 'conflict', `${result.error.message} — the target has a clashing account that Steward cannot find by this request; reconcile the application and adopt it`);
  }
  if (result.status === 'failed') {
    if (result.nativeIdentity !== null && result.accountStatus === 'committed') await syncAccount(env, 'Modify', result.nativeIdentity);
    throw applyErrorToConnectorError(result.error, 'Create failed without a reason from the connector');
  }
  const nativeIdentity = result.nativeIdentity ?? request.nativeIdentity ?? '';
  if (nativeIdentity !== '') {
    // Made as asked: the row follows from the request (as for a Modify); otherwise read back.
    if (result.requests.every((r) => r.status !== 'failed')) await recordApplied(env, request, nativeIdentity);
    else await syncAccount(env, 'Create', nativeIdentity);
  }
  return { status: 'succeeded', output: { nativeIdentity, result: result.status } };
}

/** `create_user`: the Create the application's attribute mappings make of the identity, plus metadata's own. */
async function createUser(env: Env): Promise<ScriptOutcome> {
  const { ctx, deps, app } = env;
  if (ctx.flow.identityId === null) throw new ConnectorError('permanent', 'invalid_request', 'create_user needs a flow for an identity');
  // The account the identity may hold already is looked up at the same time as the identity.
  const known = accountOfIdentity(deps.db, app.id, ctx.flow.identityId);
  known.catch(() => undefined);
  const [identity] = await identitiesByIds(deps.db.k, [ctx.flow.identityId]);
  if (identity === undefined) throw new ConnectorError('permanent', 'not_found', `identity ${ctx.flow.identityId} no longer exists`);
  const request = accountCreateRequest(app, identity);
  const named = text(ctx.script.metadata, 'nativeIdentity');
  if (named !== undefined) request.nativeIdentity = named;
  const extra = object(ctx.script.metadata, 'attributes') ?? {};
  if (Object.keys(extra).length > 0) {
    request.attributeRequests = [
      ...request.attributeRequests.filter((a) => !(a.name in extra)),
      ...Object.entries(extra).map(([name, v]): AttributeRequest => ({ name, op: 'Set', value: planValue(name, v) })),
    ];
  }
  return createOnce(env, request, known);
}

/** The AccountRequest of a Modify-like script (state changes, attributes, password, memberships, permissions). */
async function accountRequest(env: Env, op: Operation): Promise<AccountRequest> {
  const { ctx, app, connector } = env;
  const md = ctx.script.metadata;
  const nativeIdentity = await accountOf(env);
  const base = { application: app.name, nativeIdentity, attributeRequests: [] as AttributeRequest[], permissionRequests: [] };
  const accountOp = ACCOUNT_OPS[op];
  if (accountOp !== undefined) return { ...base, op: accountOp };
  const membership = MEMBERSHIP[op];
  if (membership !== undefined) {
    const attr = attributeFor(connector, membership.kind);
    let value = text(md, 'entitlement');
    if (value === undefined) {
      const ent = await flowEntitlement(env);
      if (ent === undefined) throw badMetadata('entitlement', `is required: this flow has no entitlement to ${membership.op === 'Add' ? 'add' : 'remove'}`);
      if (ent.kind !== membership.kind) throw new ConnectorError('permanent', 'invalid_request', `the flow's entitlement '${ent.name}' is a ${ent.kind}, and ${op} changes ${membership.kind} memberships`);
      value = ent.native_value;
    }
    return { ...base, op: 'Modify', attributeRequests: [{ name: attr, op: membership.op, value }] };
  }
  if (op === 'set_attributes') {
    const attrs = object(md, 'attributes');
    if (attrs === undefined || Object.keys(attrs).length === 0) throw badMetadata('attributes', 'is required: the attributes to set');
    return { ...base, op: 'Modify', attributeRequests: Object.entries(attrs).map(([name, v]) => ({ name, op: 'Set' as const, value: planValue(name, v) })) };
  }
  if (op === 'set_password') {
    const password = text(md, 'password');
    if (password === undefined) throw badMetadata('password', 'is required');
    const attr = connector.capabilities.passwordAttribute;
    if (attr === undefined) throw new ConnectorError('permanent', 'unsupported', `the ${connector.kind} connector has no password attribute`);
    return { ...base, op: 'Modify', attributeRequests: [{ name: attr, op: 'Set', value: password }] };
  }
  if (op === 'set_permissions') {
    const target = text(md, 'target');
    if (target === undefined) throw badMetadata('target', 'is required');
    const raw = md.rights;
    const rights = typeof raw === 'string' ? raw.split(',').map((r) => r.trim()).filter((r) => r !== '') : Array.isArray(raw) ? raw.filter((r): r is string => typeof r === 'string' && r !== '') : [];
    if (rights.length === 0) throw badMetadata('rights', 'is required: a list of rights');
    const permOp = (text(md, 'op') ?? 'Add') as AttributeOp;
    if (!['Set', 'Add', 'Remove'].includes(permOp)) throw badMetadata('op', 'must be Set, Add or Remove');
    return { ...base, op: 'Modify', permissionRequests: [{ target, op: permOp, rights }] };
  }
  throw new ConnectorError('permanent', 'unsupported', `${op} is not an account operation`);
}

/** The entitlement of this kind, by native value or (without one) by name, found by listing the target's. */
async function findEntitlement(connector: Connector, kind: CreatableKind, name: string, nativeValue: string | undefined): Promise<EntitlementItem | undefined> {
  const same = (a: string, b: string): boolean => a === b || (connector.kind === 'ldap' && a.toLowerCase() === b.toLowerCase());
  for await (const page of connector.listEntitlements(null)) {
    const hit = page.items.find((e) => e.kind === kind && (nativeValue !== undefined ? same(e.nativeValue, nativeValue) : e.name === name));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** `create_{kind}` and `delete_{kind}`: the contract's createEntitlement and deleteEntitlement. */
async function entitlementScript(env: Env, action: 'create' | 'delete', kind: CreatableKind): Promise<ScriptOutcome> {
  const { ctx, connector } = env;
  const md = ctx.script.metadata;
  const ent = await flowEntitlement(env);
  if (action === 'delete') {
    const nativeValue = text(md, 'nativeValue') ?? ent?.native_value;
    if (nativeValue === undefined) throw badMetadata('nativeValue', `is required: this flow has no entitlement to delete`);
    const outcome = await deleteEntitlementWith(connector, kind, nativeValue);
    return { status: outcome === 'deleted' ? 'succeeded' : 'skipped', output: { kind, nativeValue, result: outcome } };
  }
  const name = text(md, 'name') ?? ent?.name;
  if (name === undefined) throw badMetadata('name', 'is required: this flow has no entitlement to name the new one after');
  const nativeValue = text(md, 'nativeValue');
  const description = text(md, 'description') ?? ent?.description ?? undefined;
  const attributes = object(md, 'attributes');
  const existed = (e: EntitlementItem): ScriptOutcome => ({ status: 'succeeded', output: { kind, nativeValue: e.nativeValue, name: e.name, result: 'existed' } });
  // An earlier attempt may have made it before its outcome was recorded.
  if (ctx.script.resumed || ctx.script.attempt > 1) {
    const found = await findEntitlement(connector, kind, name, nativeValue);
    if (found !== undefined) return existed(found);
  }
  try {
    const made = await createEntitlementWith(connector, kind, { name, ...(nativeValue === undefined ? {} : { nativeValue }), ...(description === undefined ? {} : { description }), ...(attributes === undefined ? {} : { attributes }) });
    return { status: 'succeeded', output: { kind, nativeValue: made.nativeValue, name: made.name, result: 'committed' } };
  } catch (e) {
    if (e instanceof ConnectorError && e.code === 'conflict') {
      const found = await findEntitlement(connector, kind, name, nativeValue);
      if (found !== undefined) return existed(found);
    }
    throw e;
  }
}

/** The largest endpoint answer kept as the script's output; a larger one is summarised. */
const MAX_OUTPUT_CHARS = 64 * 1024;

/** `{provider}_api_{endpoint}`: a named endpoint of a rest application. */
async function endpointScript(env: Env, endpoint: string): Promise<ScriptOutcome> {
  const { ctx, connector } = env;
  if (!('callEndpoint' in connector) || typeof (connector as RestConnector).callEndpoint !== 'function') {
    throw new ConnectorError('permanent', 'unsupported', `'${endpoint}' is not an operation of the ${connector.kind} connector; named endpoints need a rest application`);
  }
  const md = ctx.script.metadata;
  const named = text(md, 'nativeIdentity');
  const nativeIdentity = named ?? (ctx.flow.identityId === null ? undefined : await accountOfIdentity(env.deps.db, env.app.id, ctx.flow.identityId));
  const entitlement = text(md, 'entitlement') ?? (await flowEntitlement(env))?.native_value;
  const attributes = object(md, 'attributes');
  const params = object(md, 'params');
  const res = await (connector as RestConnector).callEndpoint(endpoint, {
    ...(nativeIdentity === undefined ? {} : { nativeIdentity }),
    ...(entitlement === undefined ? {} : { entitlement }),
    ...(attributes === undefined ? {} : { attributes }),
    ...(params === undefined ? {} : { params }),
  });
  const body = JSON.stringify(res.body ?? null);
  return { status: 'succeeded', output: { endpoint, status: res.status, ...(body.length <= MAX_OUTPUT_CHARS ? { body: res.body ?? null } : { bodyTruncated: true, bodyChars: body.length }) } };
}

/** A plan's flow: exactly its AccountRequest, once per flow. */
async function planScript(env: Env, json: unknown): Promise<ScriptOutcome> {
  const { ctx } = env;
  for (const [p, out] of Object.entries(ctx.outputs)) {
    if (Number(p) < ctx.script.position && out.planRequestApplied === true) return { status: 'skipped', output: { note: `the plan's AccountRequest was applied by script ${p} of this flow` } };
  }
  const parsed = parsePlanJson({ accountRequests: [json] });
  if (!parsed.ok) {
    throw new ConnectorError('permanent', 'invalid_request', `the flow's accountRequest is not a valid AccountRequest: ${parsed.errors.map((p) => p.message).join('; ')}`, { problems: parsed.errors });
  }
  const request = parsed.value.accountRequests[0]!;
  const outcome = request.op === 'Create' ? await createOnce(env, request) : await applyRequest(env, request);
  return { ...outcome, output: { ...outcome.output, planRequestApplied: true } };
}

async function runApi(env: Env, type: ScriptType): Promise<ScriptOutcome> {
  const { ctx, connector, app } = env;
  if (type.family === 'endpoint') return endpointScript(env, type.endpoint);
  if (type.family !== 'api') throw new ConnectorError('permanent', 'unsupported', 'not an API script');
  const plan = ctx.flow.context.accountRequest;
  if (plan !== undefined && plan !== null) return planScript(env, plan);
  const op = type.operation;
  const allowed = (app.capabilities as string[] | null) ?? [];
  if (!connector.capabilities.operations.includes(op) || !allowed.includes(op)) {
    const can = connector.capabilities.operations.filter((o) => allowed.includes(o));
    throw new ConnectorError('permanent', 'unsupported', `application '${app.name}' (${connector.kind}) does not allow ${op}; ${offered(connector.kind, can)}`);
  }
  const e = ENTITLEMENT_OPS[op];
  if (e !== undefined) return entitlementScript(env, e.action, e.kind);
  if (op === 'create_user') return createUser(env);
  return applyRequest(env, await accountRequest(env, op));
}

/** The runner of `{provider}_api_{operation}` and `{provider}_api_{endpoint}` scripts. */
export const apiRunner: ScriptRunner = {
  handles: (t) => t.family === 'api' || t.family === 'endpoint',
  validate: (type, metadata, field, application) => validateApiScript(type, metadata, field, application),
  async run(ctx, deps) {
    const type = ctx.script.parsed;
    if (type.family !== 'api' && type.family !== 'endpoint') throw new ConnectorError('permanent', 'unsupported', `${ctx.script.type} is not an API script`);
    return deps.withConnector(ctx.flow.applicationId, async (connector, application) => {
      if (type.provider !== application.connectorKind) {
        throw new ConnectorError('permanent', 'invalid_request', `${ctx.script.type}: provider '${type.provider}' is not application '${application.name}''s connector kind '${application.connectorKind}'`);
      }
      const app = application.row ?? (await getApplicationRow(deps.db.k, application.id));
      if (app === undefined) throw new ConnectorError('permanent', 'not_found', `application ${application.id} no longer exists`);
      return runApi({ ctx, deps, connector, app }, type);
    });
  },
};
