import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { planProblem } from './codes.ts';
import { coerceScalar } from './coerce.ts';
import type { AccountOp, AccountRequest, AttributeRequest, PermissionRequest, PlanArguments, ProvisioningPlan, Scalar } from './model.ts';
import { accountKey } from './state.ts';
import { attributeSchema, schemaFor } from './steward-schema.ts';
import type { AccountSchemas } from './steward-schema.ts';
import { describeScalar, scalarKey, valueEquals, valueList } from './values.ts';

/**
 * Normalisation: one request per account, carrying all its attribute and permission
 * requests in their original order, so applying the result equals applying the original.
 * One request has one op, so where an account also needs a second flag change (a Create
 * that is also disabled, a Disable and an Unlock) that change follows as a request of its
 * own with nothing else in it: flags and attributes are independent, so this is exact.
 * Contradictions are reported as conflicts instead of being resolved by order.
 */

type Origin = { account: number; request: number };

const FLAG_OPS: readonly AccountOp[] = ['Disable', 'Enable', 'Unlock'];

/** The plan with each account's requests merged into one, or every conflict between them. */
export function normalizePlan(plan: ProvisioningPlan, schemas: AccountSchemas = new Map()): Result<ProvisioningPlan> {
  const groups = new Map<string, number[]>();
  plan.accountRequests.forEach((ar, i) => {
    const key = accountKey(ar.application, ar.nativeIdentity);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [i]);
    else g.push(i);
  });
  const problems: Problem[] = [];
  const accountRequests: AccountRequest[] = [];
  for (const indexes of groups.values()) accountRequests.push(...mergeAccount(plan, indexes, schemas, problems));
  if (problems.length > 0) return fail(...problems);
  const out: ProvisioningPlan = { ...plan, accountRequests };
  return ok(out);
}

const ref = (i: number): string => `accountRequests[${i}]`;

function mergeAccount(plan: ProvisioningPlan, indexes: number[], schemas: AccountSchemas, problems: Problem[]): AccountRequest[] {
  const requests = indexes.map((i) => plan.accountRequests[i] as AccountRequest);
  const first = requests[0] as AccountRequest;
  const who = `${first.application} account '${first.nativeIdentity ?? ''}'`;
  const conflict = (i: number, message: string): void => {
    problems.push(planProblem('plan.conflict', `${ref(i)}: ${message}`, { field: ref(i) }));
  };
  const deleteAt = indexes.find((i) => plan.accountRequests[i]?.op === 'Delete');
  if (deleteAt !== undefined) {
    for (const i of indexes) {
      if (i !== deleteAt) conflict(i, `${plan.accountRequests[i]?.op ?? ''} of ${who}, which ${ref(deleteAt)} deletes`);
    }
    return requests;
  }
  const creates = indexes.filter((i) => plan.accountRequests[i]?.op === 'Create');
  for (const i of creates) {
    if (i !== indexes[0]) conflict(i, `Create of ${who} after ${ref(indexes[0] as number)} already changes it`);
  }
  const disable = indexes.find((i) => plan.accountRequests[i]?.op === 'Disable');
  const enable = indexes.find((i) => plan.accountRequests[i]?.op === 'Enable');
  if (disable !== undefined && enable !== undefined) conflict(Math.max(disable, enable), `${who} is both disabled (${ref(disable)}) and enabled (${ref(enable)})`);

  const flags = FLAG_OPS.filter((op) => requests.some((r) => r.op === op)).sort(
    (a, b) => requests.findIndex((r) => r.op === a) - requests.findIndex((r) => r.op === b),
  );
  const primary: AccountOp = creates.length > 0 ? 'Create' : (flags[0] ?? 'Modify');
  const merged: AccountRequest = {
    application: first.application,
    op: primary,
    attributeRequests: requests.flatMap((r) => r.attributeRequests),
    permissionRequests: requests.flatMap((r) => r.permissionRequests),
  };
  if (first.nativeIdentity !== undefined) merged.nativeIdentity = first.nativeIdentity;
  const trackingId = requests.find((r) => r.trackingId !== undefined)?.trackingId;
  if (trackingId !== undefined) merged.trackingId = trackingId;
  const args = mergeArguments(requests, indexes, conflict);
  if (args !== undefined) merged.arguments = args;

  const attrOrigins: Origin[] = [];
  const permOrigins: Origin[] = [];
  requests.forEach((r, k) => {
    r.attributeRequests.forEach((_, j) => attrOrigins.push({ account: indexes[k] as number, request: j }));
    r.permissionRequests.forEach((_, j) => permOrigins.push({ account: indexes[k] as number, request: j }));
  });
  attributeConflicts(merged, attrOrigins, schemas, who, problems);
  permissionConflicts(merged.permissionRequests, permOrigins, who, problems);
  if (requests.length === 1) return [first]; // nothing merged: keep the request as it was written

  const extra = flags.filter((op) => op !== primary).map((op): AccountRequest => {
    const r: AccountRequest = { application: first.application, op, attributeRequests: [], permissionRequests: [] };
    if (first.nativeIdentity !== undefined) r.nativeIdentity = first.nativeIdentity;
    return r;
  });
  return [merged, ...extra];
}

function mergeArguments(requests: AccountRequest[], indexes: number[], conflict: (i: number, message: string) => void): PlanArguments | undefined {
  if (requests.every((r) => r.arguments === undefined)) return undefined;
  const out = new Map<string, { value: PlanArguments[string]; from: number }>();
  requests.forEach((r, k) => {
    for (const [key, value] of Object.entries(r.arguments ?? {})) {
      const had = out.get(key);
      const i = indexes[k] as number;
      if (had === undefined) out.set(key, { value, from: i });
      else if (!(had.value === null ? value === null : value !== null && valueEquals(had.value, value))) {
        conflict(i, `argument '${key}' differs from the one ${ref(had.from)} gives`);
      }
    }
  });
  return Object.fromEntries([...out].map(([k, v]) => [k, v.value]));
}

const at = (o: Origin, kind: string): string => `${ref(o.account)}.${kind}[${o.request}]`;

/** The comparison key of a value under an attribute's type (raw when it cannot be coerced: apply reports that). */
function keyFor(v: Scalar, type: Parameters<typeof coerceScalar>[1] | undefined): string {
  if (type === undefined) return scalarKey(v);
  const c = coerceScalar(v, type);
  return scalarKey(c.ok ? c.value : v);
}

function attributeConflicts(merged: AccountRequest, origins: Origin[], schemas: AccountSchemas, who: string, problems: Problem[]): void {
  const schema = schemaFor(merged.application, schemas);
  const byName = new Map<string, number[]>();
  merged.attributeRequests.forEach((rq, k) => {
    const list = byName.get(rq.name);
    if (list === undefined) byName.set(rq.name, [k]);
    else list.push(k);
  });
  for (const [name, ks] of byName) {
    if (ks.length < 2) continue;
    const attr = schema === undefined ? undefined : attributeSchema(schema, name);
    if (attr === undefined) continue; // unknown attributes are apply's error, not a conflict
    const rqs = ks.map((k) => ({ rq: merged.attributeRequests[k] as AttributeRequest, origin: origins[k] as Origin }));
    const keys = (rq: AttributeRequest): string[] => valueList(rq.value).map((v) => keyFor(v, attr.type));
    if (!attr.multiValued) {
      const assigned = rqs.filter((x) => x.rq.op !== 'Remove');
      const a = assigned[0];
      const b = assigned.find((x) => keys(x.rq).join('\u0000') !== keys(assigned[0]?.rq as AttributeRequest).join('\u0000'));
      if (a !== undefined && b !== undefined) {
        problems.push(
          planProblem('plan.conflict', `${at(b.origin, 'attributeRequests')}: single-valued attribute '${name}' of ${who} is given ${show(b.rq)} here and ${show(a.rq)} by ${at(a.origin, 'attributeRequests')}`, {
            field: at(b.origin, 'attributeRequests'),
          }),
        );
      }
    } else {
      multiValuedConflicts(
        rqs.map((x) => ({ op: x.rq.op, keys: keys(x.rq), field: at(x.origin, 'attributeRequests') })),
        `attribute '${name}' of ${who}`,
        problems,
      );
    }
  }
}

function permissionConflicts(prs: PermissionRequest[], origins: Origin[], who: string, problems: Problem[]): void {
  const byTarget = new Map<string, { op: PermissionRequest['op']; keys: string[]; field: string }[]>();
  prs.forEach((pr, k) => {
    const entry = { op: pr.op, keys: pr.rights.map((r) => scalarKey(r)), field: at(origins[k] as Origin, 'permissionRequests') };
    const list = byTarget.get(pr.target);
    if (list === undefined) byTarget.set(pr.target, [entry]);
    else list.push(entry);
  });
  for (const [target, list] of byTarget) {
    if (list.length > 1) multiValuedConflicts(list, `rights on '${target}' of ${who}`, problems);
  }
}

/** Two Sets of different values, or one value both added and removed. */
function multiValuedConflicts(list: { op: PermissionRequest['op']; keys: string[]; field: string }[], what: string, problems: Problem[]): void {
  const sets = list.filter((x) => x.op === 'Set');
  const canon = (keys: string[]): string => [...new Set(keys)].sort().join('\u0000');
  const s0 = sets[0];
  const differing = sets.find((x) => canon(x.keys) !== canon(s0?.keys ?? []));
  if (s0 !== undefined && differing !== undefined) {
    problems.push(planProblem('plan.conflict', `${differing.field}: ${what} is Set to different values here and by ${s0.field}`, { field: differing.field }));
  }
  const added = new Map<string, string>();
  for (const x of list) if (x.op === 'Add') for (const k of x.keys) if (!added.has(k)) added.set(k, x.field);
  for (const x of list) {
    if (x.op !== 'Remove') continue;
    for (const k of x.keys) {
      const addedBy = added.get(k);
      if (addedBy !== undefined) {
        problems.push(planProblem('plan.conflict', `${x.field}: ${what}: ${showKey(k)} is removed here and added by ${addedBy}`, { field: x.field }));
      }
    }
  }
}

const show = (rq: AttributeRequest): string => (rq.value === undefined ? 'no value' : valueList(rq.value).map(describeScalar).join(', ') || 'no value');

/** A scalar key back in words (`s` string, `n` number, `b` boolean, `d` date). */
function showKey(k: string): string {
  const body = k.slice(1);
  if (k.startsWith('s')) return `'${body}'`;
  if (k.startsWith('d')) return `date ${new Date(Number(body)).toISOString()}`;
  if (k.startsWith('b')) return body === 't' ? 'true' : 'false';
  return body;
}
