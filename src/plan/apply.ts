import type { AccountSchema, AttributeSchema } from '../domain/schema.ts';
import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { planProblem } from './codes.ts';
import { coerceScalar } from './coerce.ts';
import type { AccountRequest, AttributeOp, AttributeRequest, PermissionRequest, PlanValue, ProvisioningPlan, Scalar } from './model.ts';
import { accountKey, createdAccount, missingAccount } from './state.ts';
import type { AccountState, AccountStates } from './state.ts';
import { attributeSchema, schemaFor } from './steward-schema.ts';
import type { AccountSchemas } from './steward-schema.ts';
import { describeScalar, scalarEquals, scalarKey, valueList } from './values.ts';

/**
 * What a plan does to accounts, as pure functions of state (seed 004's rules): Set and Add
 * are the same on a single-valued attribute; on a multi-valued one Set replaces and Add and
 * Remove change incrementally; permission rights behave as multi-valued strings per target.
 * Values are coerced to the schema's types first. A Delete's attribute requests are
 * options for the connector, not changes, so they are neither applied nor checked.
 */

/** The account's state after one request, or every problem with it (the state is never changed in place). */
export function applyAccountRequest(
  state: AccountState | undefined,
  request: AccountRequest,
  schema: AccountSchema,
  field = 'accountRequest',
): Result<AccountState> {
  const before = state ?? missingAccount();
  const problems: Problem[] = [];
  const who = `${request.application} account '${request.nativeIdentity ?? ''}'`;
  let next: AccountState;
  switch (request.op) {
    case 'Create':
      if (before.exists) return fail(planProblem('plan.account_exists', `${field}: Create of ${who}, which already exists`, { field }));
      next = createdAccount();
      break;
    case 'Delete':
      if (!before.exists) return fail(planProblem('plan.account_not_found', `${field}: Delete of ${who}, which does not exist`, { field }));
      return ok(missingAccount());
    case 'Modify':
    case 'Disable':
    case 'Enable':
    case 'Unlock':
      if (!before.exists) return fail(planProblem('plan.account_not_found', `${field}: ${request.op} of ${who}, which does not exist`, { field }));
      next = { ...before };
      if (request.op === 'Disable') next.enabled = false;
      if (request.op === 'Enable') next.enabled = true;
      if (request.op === 'Unlock') next.locked = false;
      break;
    default: {
      const op: never = request.op;
      return fail(planProblem('plan.invalid_op', `${field}.op: '${String(op)}' is not an account operation`, { field: `${field}.op` }));
    }
  }
  const attributes = new Map(Object.entries(next.attributes));
  request.attributeRequests.forEach((rq, j) => {
    applyAttributeRequest(attributes, rq, schema, request.application, `${field}.attributeRequests[${j}]`, problems);
  });
  const permissions = new Map(Object.entries(next.permissions));
  request.permissionRequests.forEach((pr) => applyPermissionRequest(permissions, pr));
  if (problems.length > 0) return fail(...problems);
  // fromEntries defines properties, so even an attribute named like a prototype key stays data.
  next.attributes = Object.fromEntries(attributes);
  next.permissions = Object.fromEntries(permissions);
  return ok(next);
}

/** Every account's state after the whole plan (accounts it does not touch included), or every problem. */
export function applyPlan(plan: ProvisioningPlan, states: AccountStates, schemas: AccountSchemas): Result<Map<string, AccountState>> {
  const out = new Map(states);
  const problems: Problem[] = [];
  plan.accountRequests.forEach((ar, i) => {
    const field = `accountRequests[${i}]`;
    const schema = schemaFor(ar.application, schemas);
    if (schema === undefined) {
      problems.push(planProblem('plan.unknown_application', `${field}.application: no account schema is known for application '${ar.application}'`, { field: `${field}.application` }));
      return;
    }
    const key = accountKey(ar.application, ar.nativeIdentity);
    const r = applyAccountRequest(out.get(key), ar, schema, field);
    if (r.ok) out.set(key, r.value);
    else problems.push(...r.errors);
  });
  return problems.length > 0 ? fail(...problems) : ok(out);
}

/** The request's values coerced to the attribute's type, or undefined after reporting why not. */
export function coercedValues(rq: AttributeRequest, attr: AttributeSchema, application: string, field: string, problems: Problem[]): Scalar[] | undefined {
  const values: Scalar[] = [];
  let bad = false;
  for (const v of valueList(rq.value)) {
    const c = coerceScalar(v, attr.type);
    if (c.ok) {
      values.push(c.value);
    } else {
      bad = true;
      problems.push(planProblem('plan.type_mismatch', `${field}.value: attribute '${rq.name}' of ${application} is ${attr.type === 'integer' ? 'an' : 'a'} ${attr.type}; ${c.why}`, { field: `${field}.value` }));
    }
  }
  if (!attr.multiValued && values.length > 1) {
    problems.push(planProblem('plan.single_valued', `${field}.value: attribute '${rq.name}' of ${application} is single-valued; ${values.length} values given (${values.map(describeScalar).join(', ')})`, { field: `${field}.value` }));
    return undefined;
  }
  return bad ? undefined : values;
}

/** The schema of the request's attribute, or undefined after reporting that it has none. */
export function knownAttribute(rq: AttributeRequest, schema: AccountSchema, application: string, field: string, problems: Problem[]): AttributeSchema | undefined {
  const attr = attributeSchema(schema, rq.name);
  if (attr === undefined) problems.push(planProblem('plan.unknown_attribute', `${field}.name: '${rq.name}' is not an attribute of application '${application}'`, { field: `${field}.name` }));
  return attr;
}

function applyAttributeRequest(attributes: Map<string, PlanValue>, rq: AttributeRequest, schema: AccountSchema, application: string, field: string, problems: Problem[]): void {
  const attr = knownAttribute(rq, schema, application, field, problems);
  if (attr === undefined) return;
  const values = coercedValues(rq, attr, application, field, problems);
  if (values === undefined) return;
  if (attr.multiValued) {
    setOrDelete(attributes, rq.name, changeSet(valueList(attributes.get(rq.name)), rq.op, values));
    return;
  }
  const current = attributes.get(rq.name);
  const value = values[0];
  switch (rq.op) {
    case 'Set':
    case 'Add':
      if (value === undefined) attributes.delete(rq.name);
      else attributes.set(rq.name, value);
      return;
    case 'Remove':
      if (value !== undefined && current !== undefined && !Array.isArray(current) && scalarEquals(current, value)) attributes.delete(rq.name);
      return;
  }
}

function applyPermissionRequest(permissions: Map<string, string[]>, pr: PermissionRequest): void {
  setOrDelete(permissions, pr.target, changeSet(permissions.get(pr.target) ?? [], pr.op, pr.rights));
}

/** A multi-valued change: Set replaces, Add appends what is missing, Remove takes out what is there. */
export function changeSet<T extends Scalar>(current: readonly T[], op: AttributeOp, values: readonly T[]): T[] {
  switch (op) {
    case 'Set':
      return distinct(values);
    case 'Add': {
      const have = new Set(current.map(scalarKey));
      const out = [...current];
      for (const v of values) {
        const k = scalarKey(v);
        if (!have.has(k)) {
          have.add(k);
          out.push(v);
        }
      }
      return out;
    }
    case 'Remove': {
      const drop = new Set(values.map(scalarKey));
      return current.filter((v) => !drop.has(scalarKey(v)));
    }
  }
}

function distinct<T extends Scalar>(values: readonly T[]): T[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = scalarKey(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function setOrDelete<T>(map: Map<string, T[]>, key: string, values: T[]): void;
function setOrDelete(map: Map<string, PlanValue>, key: string, values: Scalar[]): void;
function setOrDelete(map: Map<string, unknown>, key: string, values: unknown[]): void {
  if (values.length === 0) map.delete(key);
  else map.set(key, values);
}
