import type { AccountOp, AttributeOp, PlanArguments, PlanValue, ProvisioningPlan, Scalar } from './model.ts';

/**
 * The JSON form of a plan (described by `plan.schema.json`). Dates are `{ "date": ISO }`
 * so they never collapse into strings; every op is written out.
 */

export type ScalarJson = string | number | boolean | { date: string | number };
export type ValueJson = ScalarJson | ScalarJson[];
export type ArgumentsJson = Record<string, ValueJson | null>;

export interface AttributeRequestJson {
  name: string;
  op?: AttributeOp;
  value?: ValueJson;
  trackingId?: string;
  arguments?: ArgumentsJson;
}

export interface PermissionRequestJson {
  target: string;
  op?: AttributeOp;
  rights?: string[];
  trackingId?: string;
  arguments?: ArgumentsJson;
}

export interface AccountRequestJson {
  application: string;
  op?: AccountOp;
  nativeIdentity?: string;
  trackingId?: string;
  attributeRequests?: AttributeRequestJson[];
  permissionRequests?: PermissionRequestJson[];
  arguments?: ArgumentsJson;
}

export interface ProvisioningPlanJson {
  identity?: string;
  trackingId?: string;
  accountRequests: AccountRequestJson[];
  arguments?: ArgumentsJson;
}

const scalarJson = (v: Scalar): ScalarJson => (v instanceof Date ? { date: v.toISOString() } : v);

/** A plan value in its JSON form. */
export const valueJson = (v: PlanValue): ValueJson => (Array.isArray(v) ? v.map(scalarJson) : scalarJson(v));

function argumentsJson(args: PlanArguments): ArgumentsJson {
  // fromEntries defines properties rather than assigning them, so no key can reach a prototype.
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v === null ? null : valueJson(v)]));
}

/** A plan as a JSON-ready object in canonical form (every op and list written out). */
export function toJsonValue(plan: ProvisioningPlan): ProvisioningPlanJson {
  const out: ProvisioningPlanJson = { accountRequests: [] };
  if (plan.identity !== undefined) out.identity = plan.identity;
  if (plan.trackingId !== undefined) out.trackingId = plan.trackingId;
  out.accountRequests = plan.accountRequests.map((ar) => {
    const a: AccountRequestJson = { application: ar.application };
    if (ar.nativeIdentity !== undefined) a.nativeIdentity = ar.nativeIdentity;
    a.op = ar.op;
    if (ar.trackingId !== undefined) a.trackingId = ar.trackingId;
    a.attributeRequests = ar.attributeRequests.map((rq) => {
      const r: AttributeRequestJson = { name: rq.name, op: rq.op };
      if (rq.value !== undefined) r.value = valueJson(rq.value);
      if (rq.trackingId !== undefined) r.trackingId = rq.trackingId;
      if (rq.arguments !== undefined) r.arguments = argumentsJson(rq.arguments);
      return r;
    });
    a.permissionRequests = ar.permissionRequests.map((pr) => {
      const p: PermissionRequestJson = { target: pr.target, op: pr.op, rights: [...pr.rights] };
      if (pr.trackingId !== undefined) p.trackingId = pr.trackingId;
      if (pr.arguments !== undefined) p.arguments = argumentsJson(pr.arguments);
      return p;
    });
    if (ar.arguments !== undefined) a.arguments = argumentsJson(ar.arguments);
    return a;
  });
  if (plan.arguments !== undefined) out.arguments = argumentsJson(plan.arguments);
  return out;
}

/** A plan as canonical JSON text; `parsePlanJson` reads it back to an equal plan. */
export const toJson = (plan: ProvisioningPlan, indent = 2): string => JSON.stringify(toJsonValue(plan), null, indent);
