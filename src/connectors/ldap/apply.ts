/**
 * Carrying out one AccountRequest on an LDAP directory: one add or one (atomic) modify of
 * the account entry carrying every attribute change and the disable state, then group
 * membership changes on the group entries, then the password.
 */
import { Attribute, BerWriter, Change } from 'ldapts';
import type { Entry } from 'ldapts';
import type { Problem } from '../../domain/result.ts';
import type { AttributeSchema } from '../../domain/schema.ts';
import type { AccountRequest } from '../../plan/model.ts';
import type { Capabilities } from '../capabilities.ts';
import type { ChangePlan } from '../changes.ts';
import { isEffective, planChanges, valueTexts } from '../changes.ts';
import type { ApplyResult } from '../contract.ts';
import { ConnectorError, refused, toApplyError } from '../errors.ts';
import { OutcomeTracker, assertApplicable, markPlannedAttributes } from '../outcomes.ts';
import { changeMember, membershipsOf, resolveGroup } from './groups.ts';
import type { LdapModel } from './model.ts';
import { GROUPS, PASSWORD, PERMANENTLY_LOCKED, currentTexts, entryValues, escapeDnValue, ldapText, normDn, normValue, rdnOf, searchAttributes, stateOf } from './model.ts';
import type { LdapSession } from './session.ts';
import type { LdapSettings } from './settings.ts';

export interface LdapApplyContext {
  session: LdapSession;
  settings: LdapSettings;
  capabilities: Capabilities;
  model: () => Promise<LdapModel>;
}

const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

const change = (operation: 'add' | 'delete' | 'replace', type: string, values: string[]): Change => new Change({ operation, modification: new Attribute({ type, values }) });

/** The Password Modify request value (RFC 3062): userIdentity [0], newPasswd [2]. */
function passwordModifyValue(dn: string, password: string): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeString(dn, 0x80);
  w.writeString(password, 0x82);
  w.endSequence();
  return w.buffer;
}

function checkRequest(request: AccountRequest, model: LdapModel, settings: LdapSettings): Problem[] {
  const problems: Problem[] = [];
  request.attributeRequests.forEach((ar, i) => {
    const field = `attributeRequests[${i}] (${ar.name})`;
    if (ar.name === GROUPS && settings.groups !== undefined) return;
    if (ar.name === PASSWORD) {
      if (ar.op === 'Remove') problems.push({ code: 'connector.invalid_value', field, message: 'a password can be set, not removed' });
      return;
    }
    const a = model.attributes.get(ar.name.toLowerCase());
    if (a === undefined) {
      problems.push({ code: 'connector.unknown_attribute', field, message: `the object classes ${settings.userObjectClasses.join(', ')} allow no attribute '${ar.name}'` });
      return;
    }
    if (settings.disable.mode === 'marker' && a.name.toLowerCase() === settings.disable.attribute.toLowerCase() && !a.multiValued) {
      problems.push({ code: 'connector.read_only_attribute', field, message: `'${a.name}' holds the disabled marker; use a Disable or Enable request` });
    }
    const texts = valueTexts(ar.value);
    if (!a.multiValued && ar.op !== 'Remove' && texts.length > 1) {
      problems.push({ code: 'connector.invalid_value', field, message: `'${a.name}' is single-valued; give one value, not ${texts.length}` });
    }
    for (const t of texts) {
      const r = ldapText(t, a);
      if ('error' in r) problems.push({ code: 'connector.invalid_value', field, message: r.error });
    }
  });
  return problems;
}

/** The request with attribute names as the schema spells them and values as LDAP texts; group values as DNs. */
async function normalise(ctx: LdapApplyContext, request: AccountRequest, model: LdapModel): Promise<AccountRequest> {
  const groupDns = new Map<string, string>();
  const problems: Problem[] = [];
  const groups = ctx.settings.groups;
  if (groups !== undefined) {
    for (const ar of request.attributeRequests) {
      if (ar.name !== GROUPS) continue;
      for (const v of valueTexts(ar.value)) {
        if (groupDns.has(v)) continue;
        try {
          groupDns.set(v, await resolveGroup(ctx.session, groups, v));
        } catch (e) {
          if (!(e instanceof ConnectorError) || e.kind !== 'permanent') throw e;
          problems.push({ code: 'connector.unknown_entitlement', field: GROUPS, message: e.message });
        }
      }
    }
  }
  if (problems.length > 0) throw refused('invalid_request', problems);
  return {
    ...request,
    attributeRequests: request.attributeRequests.map((ar) => {
      if (ar.name === GROUPS) return { ...ar, value: valueTexts(ar.value).map((v) => groupDns.get(v) ?? v) };
      if (ar.name === PASSWORD) return ar;
      const a = model.attributes.get(ar.name.toLowerCase())!;
      const texts = valueTexts(ar.value).map((t) => {
        const r = ldapText(t, a);
        return 'value' in r ? r.value : t;
      });
      return { ...ar, name: a.name, ...(ar.value === undefined ? {} : { value: texts }) };
    }),
  };
}

function planFor(request: AccountRequest, current: Record<string, string[]>, model: LdapModel): ChangePlan {
  return planChanges(current, request.attributeRequests.filter((a) => a.name !== PASSWORD), {
    multiValued: (name) => name === GROUPS || (model.attributes.get(name.toLowerCase())?.multiValued ?? false),
    key: (name, v) => (name === GROUPS ? normDn(v) : normValue(v)),
  });
}

/** The modify changes for the entry's own attributes. */
function entryChanges(planned: ChangePlan, model: LdapModel): Change[] {
  const out: Change[] = [];
  for (const c of planned.changes.values()) {
    if (c.name === GROUPS || !isEffective(c)) continue;
    const a: AttributeSchema = model.attributes.get(c.name.toLowerCase())!;
    if (!a.multiValued) {
      out.push(c.after.length === 0 ? change('delete', a.name, []) : change('replace', a.name, c.after));
      continue;
    }
    // Value by value, so values Steward does not manage (the disabled marker) stay.
    if (c.removed.length > 0) out.push(change('delete', a.name, c.removed));
    if (c.added.length > 0) out.push(change('add', a.name, c.added));
  }
  return out;
}

/** The changes that put the entry into the wanted state (null: leave it). */
function stateChanges(entry: Entry | null, settings: LdapSettings, op: AccountRequest['op']): Change[] {
  const state = entry === null ? { enabled: true, locked: false } : stateOf(entry, settings);
  const d = settings.disable;
  if (op === 'Disable' && state.enabled) {
    if (d.mode === 'marker') return [change('add', d.attribute, [d.value])];
    if (d.mode === 'ppolicy') return [change('replace', 'pwdAccountLockedTime', [PERMANENTLY_LOCKED])];
  }
  if (op === 'Enable' && !state.enabled) {
    if (d.mode === 'marker') {
      const marker = normValue(d.value);
      return [change('delete', d.attribute, entryValues(entry!, d.attribute).filter((v) => normValue(v) === marker))];
    }
    if (d.mode === 'ppolicy') return [change('delete', 'pwdAccountLockedTime', [])];
  }
  if (op === 'Unlock' && state.locked && d.mode === 'ppolicy') {
    const failures = entry === null ? [] : entryValues(entry, 'pwdFailureTime');
    return [change('delete', 'pwdAccountLockedTime', []), ...(failures.length > 0 ? [change('delete', 'pwdFailureTime', [])] : [])];
  }
  return [];
}

async function readEntry(ctx: LdapApplyContext, dn: string): Promise<Entry | null> {
  try {
    const r = await ctx.session.run(`reading ${dn}`, (c) => c.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: searchAttributes(ctx.settings) }));
    return r.searchEntries[0] ?? null;
  } catch (e) {
    if (e instanceof ConnectorError && e.code === 'not_found') return null;
    throw e;
  }
}

async function applyMemberships(ctx: LdapApplyContext, t: OutcomeTracker, planned: ChangePlan, dn: string): Promise<void> {
  const groups = ctx.settings.groups;
  const c = planned.changes.get(GROUPS);
  const requests = planned.requests.filter((p) => p.request.name === GROUPS);
  if (groups === undefined || c === undefined || requests.length === 0) return;
  const failures: string[] = [];
  let stop = false;
  const steps: [string, 'add' | 'remove'][] = [...c.removed.map((g): [string, 'remove'] => [g, 'remove']), ...c.added.map((g): [string, 'add'] => [g, 'add'])];
  for (const [group, op] of steps) {
    if (stop) {
      failures.push(`${op} ${group}: not attempted`);
      continue;
    }
    try {
      await ctx.session.run(`${op === 'add' ? 'adding' : 'removing'} ${dn} ${op === 'add' ? 'to' : 'from'} ${group}`, (client) => changeMember(client, groups, group, dn, op));
    } catch (e) {
      const err = toApplyError(e);
      t.error(err);
      failures.push(`${op} ${group}: ${err.message}`);
      if (err.kind !== 'permanent') stop = true;
    }
  }
  for (const p of requests) t.attribute(p.index, failures.length > 0 ? 'failed' : p.changed ? 'committed' : 'unchanged', failures.length > 0 ? failures.join('; ') : undefined);
}

async function setPassword(ctx: LdapApplyContext, t: OutcomeTracker, request: AccountRequest, dn: string): Promise<void> {
  const index = request.attributeRequests.findIndex((a) => a.name === PASSWORD);
  if (index < 0 || t.failed) return;
  const password = valueTexts(request.attributeRequests[index]!.value)[0] ?? '';
  try {
    if (ctx.settings.passwordMode === 'exop') {
      await ctx.session.run(`setting the password of ${dn}`, (c) => c.exop(PASSWORD_MODIFY_OID, passwordModifyValue(dn, password)));
    } else {
      await ctx.session.run(`setting the password of ${dn}`, (c) => c.modify(dn, [change('replace', 'userPassword', [password])]));
    }
    t.attribute(index, 'committed');
  } catch (e) {
    const err = toApplyError(e);
    t.error(err);
    t.attribute(index, 'failed', err.message);
  }
}

/** The DN a Create makes: the nativeIdentity when it is a DN, else `<rdnAttribute>=<value>,<baseDn>`. */
export function createDn(request: AccountRequest, settings: LdapSettings): string | undefined {
  const id = request.nativeIdentity;
  if (id !== undefined && id.includes('=')) return id;
  const value = id ?? valueTexts(request.attributeRequests.find((a) => a.name.toLowerCase() === settings.rdnAttribute.toLowerCase() && a.op !== 'Remove')?.value)[0];
  return value === undefined ? undefined : `${settings.rdnAttribute}=${escapeDnValue(value)},${settings.baseDn}`;
}

async function createEntry(ctx: LdapApplyContext, request: AccountRequest, model: LdapModel, dn: string): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const planned = planFor(request, {}, model);
  const attrs: Record<string, string[]> = { objectClass: ctx.settings.userObjectClasses };
  for (const c of planned.changes.values()) if (c.name !== GROUPS && c.after.length > 0) attrs[c.name] = c.after;
  const rdn = rdnOf(dn);
  const rdnName = model.attributes.get(rdn.type.toLowerCase())?.name ?? rdn.type;
  if (!(attrs[rdnName] ?? []).some((v) => normValue(v) === normValue(rdn.value))) attrs[rdnName] = [...(attrs[rdnName] ?? []), rdn.value];
  const pwIndex = request.attributeRequests.findIndex((a) => a.name === PASSWORD);
  if (pwIndex >= 0 && ctx.settings.passwordMode === 'attribute') attrs.userPassword = valueTexts(request.attributeRequests[pwIndex]!.value).slice(0, 1);
  try {
    await ctx.session.run(`adding ${dn}`, (c) => c.add(dn, attrs));
  } catch (e) {
    const err = toApplyError(e);
    t.account('failed');
    t.error(err);
    markPlannedAttributes(t, planned, GROUPS, 'failed', err.message);
    return t.result(null);
  }
  t.account('committed');
  markPlannedAttributes(t, planned, GROUPS, 'committed');
  if (pwIndex >= 0 && ctx.settings.passwordMode === 'attribute') t.attribute(pwIndex, 'committed');
  await applyMemberships(ctx, t, planned, dn);
  if (ctx.settings.passwordMode === 'exop') await setPassword(ctx, t, request, dn);
  return t.result(dn);
}

async function deleteEntry(ctx: LdapApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const dn = request.nativeIdentity!;
  request.attributeRequests.forEach((_, i) => t.attribute(i, 'unchanged', 'ignored: LDAP has no delete options'));
  try {
    const entry = await readEntry(ctx, dn);
    if (entry === null) {
      t.account('unchanged');
      return t.result(dn);
    }
    // Memberships first: should the delete then fail, a retry finds the entry and does it all again.
    const groups = ctx.settings.groups;
    if (groups !== undefined) {
      const memberOf = (await membershipsOf(ctx.session, groups, [dn])).get(normDn(dn)) ?? [];
      for (const g of memberOf) await ctx.session.run(`removing ${dn} from ${g}`, (c) => changeMember(c, groups, g, dn, 'remove'));
    }
    await ctx.session.run(`deleting ${dn}`, (c) => c.del(dn));
    t.account('committed');
  } catch (e) {
    if (e instanceof ConnectorError && e.code === 'not_found') t.account('unchanged');
    else {
      t.account('failed');
      t.error(toApplyError(e));
    }
  }
  return t.result(dn);
}

async function modifyEntry(ctx: LdapApplyContext, request: AccountRequest, model: LdapModel): Promise<ApplyResult> {
  const t = new OutcomeTracker(request);
  const dn = request.nativeIdentity!;
  const accountOp = request.op === 'Modify' ? undefined : request.op;
  let entry: Entry | null;
  let current: Record<string, string[]>;
  try {
    entry = await readEntry(ctx, dn);
    if (entry === null) {
      t.error(new ConnectorError('permanent', 'not_found', `no entry ${dn}`, { status: 32 }).toJSON());
      if (accountOp !== undefined) t.account('failed');
      return t.result(dn);
    }
    current = currentTexts(entry, model, ctx.settings);
    const groups = ctx.settings.groups;
    if (groups !== undefined && request.attributeRequests.some((a) => a.name === GROUPS)) {
      current[GROUPS] = (await membershipsOf(ctx.session, groups, [entry.dn])).get(normDn(entry.dn)) ?? [];
    }
  } catch (e) {
    t.error(toApplyError(e));
    if (accountOp !== undefined) t.account('failed');
    return t.result(dn);
  }
  const planned = planFor(request, current, model);
  const rdn = rdnOf(entry.dn);
  const rdnChange = planned.changes.get(model.attributes.get(rdn.type.toLowerCase())?.name ?? rdn.type);
  if (rdnChange !== undefined && rdnChange.removed.some((v) => normValue(v) === normValue(rdn.value))) {
    throw refused('invalid_request', [{ code: 'connector.rename_unsupported', field: rdn.type, message: `removing '${rdn.value}' would rename ${entry.dn}; renaming entries is not supported` }]);
  }
  const changes = [...entryChanges(planned, model), ...stateChanges(entry, ctx.settings, request.op)];
  if (accountOp !== undefined) t.account(stateChanges(entry, ctx.settings, request.op).length > 0 ? 'committed' : 'unchanged');
  if (changes.length > 0) {
    try {
      await ctx.session.run(`modifying ${dn}`, (c) => c.modify(dn, changes));
    } catch (e) {
      const err = toApplyError(e);
      t.error(err);
      if (accountOp !== undefined) t.account('failed');
      markPlannedAttributes(t, planned, GROUPS, 'failed', err.message);
      return t.result(dn);
    }
  }
  markPlannedAttributes(t, planned, GROUPS, 'committed');
  await applyMemberships(ctx, t, planned, entry.dn);
  await setPassword(ctx, t, request, entry.dn);
  return t.result(entry.dn);
}

/** Carries out one AccountRequest on the directory (see the Connector contract). */
export async function applyLdap(ctx: LdapApplyContext, request: AccountRequest): Promise<ApplyResult> {
  const shape: Problem[] = [];
  if (request.op !== 'Create' && request.nativeIdentity !== undefined && !request.nativeIdentity.includes('=')) {
    shape.push({ code: 'connector.invalid_native_identity', field: 'nativeIdentity', message: `'${request.nativeIdentity}' is not a DN; an LDAP account's nativeIdentity is its full DN` });
  }
  assertApplicable(request, ctx.capabilities, shape);
  if (request.op === 'Delete') return deleteEntry(ctx, request);
  const model = await ctx.model();
  const problems = checkRequest(request, model, ctx.settings);
  const dn = request.op === 'Create' ? createDn(request, ctx.settings) : request.nativeIdentity;
  if (dn === undefined) problems.push({ code: 'connector.missing_dn', field: 'nativeIdentity', message: `a Create needs a DN, or a value of '${ctx.settings.rdnAttribute}' to name the entry with` });
  if (problems.length > 0) throw refused('invalid_request', problems);
  const normalised = await normalise(ctx, request, model);
  return request.op === 'Create' ? createEntry(ctx, normalised, model, dn!) : modifyEntry(ctx, normalised, model);
}
