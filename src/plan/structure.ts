import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { fieldKey, planProblem } from './codes.ts';
import type { PlanProblemCode } from './codes.ts';
import { ACCOUNT_OPS, ATTRIBUTE_OPS } from './model.ts';
import type { ProvisioningPlan } from './model.ts';
import { firstNonXmlChar } from './values.ts';

/**
 * The structural rules of a plan, with no store and no schema: what the DTD says plus what
 * the model needs to survive both codecs (integers in the safe range, XML-representable
 * strings, rights without commas). Both parsers run these, and a CLI can run them alone.
 */

/** Which request a problem concerns, so the XML reader can attach that request's position. */
export interface RequestLocation {
  account?: number;
  attribute?: number;
  permission?: number;
}

export type StructureSink = (problem: Problem, where: RequestLocation) => void;

/** Checks every structural rule of a plan; every problem found, each with its field path. */
export function validatePlanStructure(plan: ProvisioningPlan): Result<ProvisioningPlan> {
  const problems: Problem[] = [];
  checkPlanStructure(plan, (p) => problems.push(p));
  return problems.length === 0 ? ok(plan) : fail(...problems);
}

/** Runs the structural rules, reporting each problem with the request it concerns. */
export function checkPlanStructure(plan: ProvisioningPlan, sink: StructureSink): void {
  const c = new Checker(sink);
  c.check(plan);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  private readonly sink: StructureSink;
  private where: RequestLocation = {};

  constructor(sink: StructureSink) {
    this.sink = sink;
  }

  private report(code: PlanProblemCode, field: string, message: string): void {
    this.sink(planProblem(code, `${field}: ${message}`, { field }), this.where);
  }

  check(plan: ProvisioningPlan): void {
    if (!isObject(plan)) {
      this.report('plan.invalid_value', '(plan)', 'a plan must be an object');
      return;
    }
    this.optionalString(plan.identity, 'identity');
    this.optionalString(plan.trackingId, 'trackingId');
    this.arguments(plan.arguments, 'arguments');
    if (!Array.isArray(plan.accountRequests)) {
      this.report('plan.missing_field', 'accountRequests', 'must be a list of account requests');
      return;
    }
    plan.accountRequests.forEach((ar, i) => {
      this.where = { account: i };
      this.accountRequest(ar, `accountRequests[${i}]`, i);
    });
  }

  private accountRequest(ar: ProvisioningPlan['accountRequests'][number], path: string, i: number): void {
    if (!isObject(ar)) {
      this.report('plan.invalid_value', path, 'an account request must be an object');
      return;
    }
    this.requiredString(ar.application, `${path}.application`);
    if (!(ACCOUNT_OPS as readonly string[]).includes(ar.op)) {
      this.report('plan.invalid_op', `${path}.op`, `${quote(ar.op)} is not one of ${ACCOUNT_OPS.join(', ')}`);
    }
    if (ar.nativeIdentity === undefined) {
      if (ar.op !== 'Create') this.report('plan.missing_field', `${path}.nativeIdentity`, `is required for op ${String(ar.op)} (only a Create may leave it to the application)`);
    } else {
      this.requiredString(ar.nativeIdentity, `${path}.nativeIdentity`);
    }
    this.optionalString(ar.trackingId, `${path}.trackingId`);
    this.arguments(ar.arguments, `${path}.arguments`);
    if (!Array.isArray(ar.attributeRequests)) {
      this.report('plan.missing_field', `${path}.attributeRequests`, 'must be a list (empty when there are none)');
    } else {
      ar.attributeRequests.forEach((rq, j) => {
        this.where = { account: i, attribute: j };
        this.attributeRequest(rq, `${path}.attributeRequests[${j}]`);
      });
    }
    if (!Array.isArray(ar.permissionRequests)) {
      this.where = { account: i };
      this.report('plan.missing_field', `${path}.permissionRequests`, 'must be a list (empty when there are none)');
    } else {
      ar.permissionRequests.forEach((pr, j) => {
        this.where = { account: i, permission: j };
        this.permissionRequest(pr, `${path}.permissionRequests[${j}]`);
      });
    }
    this.where = { account: i };
  }

  private attributeRequest(rq: ProvisioningPlan['accountRequests'][number]['attributeRequests'][number], path: string): void {
    if (!isObject(rq)) {
      this.report('plan.invalid_value', path, 'an attribute request must be an object');
      return;
    }
    this.requiredName(rq.name, `${path}.name`);
    this.op(rq.op, `${path}.op`);
    if (rq.value === undefined) {
      if (rq.op === 'Add' || rq.op === 'Remove') this.report('plan.missing_field', `${path}.value`, `op ${rq.op} needs a value`);
    } else {
      this.value(rq.value, `${path}.value`);
    }
    this.optionalString(rq.trackingId, `${path}.trackingId`);
    this.arguments(rq.arguments, `${path}.arguments`);
  }

  private permissionRequest(pr: ProvisioningPlan['accountRequests'][number]['permissionRequests'][number], path: string): void {
    if (!isObject(pr)) {
      this.report('plan.invalid_value', path, 'a permission request must be an object');
      return;
    }
    this.requiredName(pr.target, `${path}.target`);
    this.op(pr.op, `${path}.op`);
    if (!Array.isArray(pr.rights)) {
      this.report('plan.missing_field', `${path}.rights`, 'must be a list of rights (empty for none)');
    } else {
      pr.rights.forEach((r, k) => this.right(r, `${path}.rights[${k}]`));
    }
    this.optionalString(pr.trackingId, `${path}.trackingId`);
    this.arguments(pr.arguments, `${path}.arguments`);
  }

  private op(op: unknown, field: string): void {
    if (!(ATTRIBUTE_OPS as readonly unknown[]).includes(op)) {
      this.report('plan.invalid_op', field, `${quote(op)} is not one of ${ATTRIBUTE_OPS.join(', ')}`);
    }
  }

  private right(r: unknown, field: string): void {
    if (typeof r !== 'string') {
      this.report('plan.invalid_right', field, 'a right must be a string');
    } else if (r === '') {
      this.report('plan.invalid_right', field, 'a right must not be empty');
    } else if (r.includes(',')) {
      this.report('plan.invalid_right', field, `'${r}' contains a comma; rights are written as CSV, so a right cannot hold one`);
    } else if (r.trim() !== r) {
      this.report('plan.invalid_right', field, `'${r}' has leading or trailing spaces, which CSV rights cannot keep`);
    } else {
      this.xmlChars(r, field);
    }
  }

  private arguments(args: unknown, field: string): void {
    if (args === undefined) return;
    if (!isObject(args)) {
      this.report('plan.invalid_value', field, 'arguments must be an object of name to value');
      return;
    }
    for (const key of Object.keys(args)) {
      const f = fieldKey(field, key);
      if (key === '') this.report('plan.invalid_value', field, 'an argument name must not be empty');
      else if (key === '__proto__') this.report('plan.forbidden_key', f, "the name '__proto__' is not allowed");
      else this.xmlChars(key, f);
      const v = args[key];
      if (v !== null) this.value(v, f);
    }
  }

  private value(v: unknown, field: string): void {
    if (Array.isArray(v)) {
      v.forEach((x, k) => {
        if (Array.isArray(x)) this.report('plan.invalid_value', `${field}[${k}]`, 'lists cannot be nested');
        else this.scalar(x, `${field}[${k}]`);
      });
    } else {
      this.scalar(v, field);
    }
  }

  private scalar(v: unknown, field: string): void {
    if (typeof v === 'string') {
      this.xmlChars(v, field);
      return;
    }
    if (typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) this.report('plan.invalid_value', field, `${v} is not an integer (plans carry integers only)`);
      else if (!Number.isSafeInteger(v)) this.report('plan.invalid_value', field, `${v} is outside the safe integer range (±${Number.MAX_SAFE_INTEGER})`);
      return;
    }
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) this.report('plan.invalid_value', field, 'the date is invalid');
      return;
    }
    this.report('plan.invalid_value', field, `a value must be a string, an integer, a boolean, a date or a list of those, not ${v === null ? 'null' : typeof v}`);
  }

  private requiredString(v: unknown, field: string): void {
    if (v === undefined) this.report('plan.missing_field', field, 'is required');
    else if (typeof v !== 'string') this.report('plan.invalid_value', field, 'must be a string');
    else if (v === '') this.report('plan.invalid_value', field, 'must not be empty');
    else this.xmlChars(v, field);
  }

  private requiredName(v: unknown, field: string): void {
    this.requiredString(v, field);
    if (v === '__proto__') this.report('plan.forbidden_key', field, "the name '__proto__' is not allowed");
  }

  private optionalString(v: unknown, field: string): void {
    if (v !== undefined) this.requiredString(v, field);
  }

  private xmlChars(s: string, field: string): void {
    const bad = firstNonXmlChar(s);
    if (bad !== undefined) this.report('plan.invalid_value', field, `contains ${bad}, a character XML cannot carry`);
  }
}

const quote = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : String(v));
