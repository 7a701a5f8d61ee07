import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { fieldKey, planProblem } from './codes.ts';
import { describeLimit, resolveLimits, withinSize } from './limits.ts';
import type { PlanReadLimits } from './limits.ts';
import type { AccountRequest, AttributeRequest, PermissionRequest, PlanArguments, PlanValue, ProvisioningPlan, Scalar } from './model.ts';
import { schemaProblems } from './json-schema.ts';
import type { AccountRequestJson, ArgumentsJson, ProvisioningPlanJson, ScalarJson, ValueJson } from './json-write.ts';
import { checkPlanStructure } from './structure.ts';
import { decodeUtf8 } from './utf8.ts';
import { dateFromEpochMillis, parseDateText } from './values.ts';

/**
 * Reads the JSON form of a plan: size limit, then JSON syntax, then a bounded walk for
 * depth and `__proto__` keys, then the published schema, then the same structural rules
 * the XML reader applies. Defaults (op Modify / Add, empty lists) apply as in XML.
 */

export type PlanJsonOptions = PlanReadLimits;

/** Reads a plan from JSON text, UTF-8 bytes or an already-parsed value; the plan, or every problem naming its JSON path. */
export function parsePlanJson(input: unknown, options?: PlanJsonOptions): Result<ProvisioningPlan> {
  const limits = resolveLimits(options);
  let json: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    if (!withinSize(input, limits.maxBytes)) return fail(planProblem('plan.too_large', describeLimit(input, limits.maxBytes)));
    const parsed = parseJsonText(input);
    if (!parsed.ok) return parsed;
    json = parsed.value;
  }
  const walked = walk(json, limits.maxDepth, limits.maxProblems);
  const problems = [...walked, ...(walked.some((p) => p.code === 'plan.too_deep') ? [] : schemaProblems(json, limits.maxProblems))];
  if (problems.length > 0) return fail(...problems.slice(0, limits.maxProblems));
  const converted = new Converter();
  const plan = converted.plan(json as ProvisioningPlanJson);
  checkPlanStructure(plan, (p) => converted.problems.push(p));
  if (converted.problems.length > 0) return fail(...converted.problems.slice(0, limits.maxProblems));
  return ok(plan);
}

function parseJsonText(input: string | Uint8Array): Result<unknown> {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const decoded = decodeUtf8(input);
    if (!decoded.ok) {
      const { line, column } = decoded;
      return fail(planProblem('plan.json.syntax', `line ${line}, column ${column}: the document is not valid UTF-8`, { line, column }));
    }
    text = decoded.text;
  }
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const lc = /line (\d+) column (\d+)/.exec(message);
    const pos = /position (\d+)/.exec(message);
    const where = lc ? { line: Number(lc[1]), column: Number(lc[2]) } : pos ? positionOf(text, Number(pos[1])) : {};
    return fail(planProblem('plan.json.syntax', `not JSON: ${message}`, where));
  }
}

function positionOf(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: index - before.lastIndexOf('\n') };
}

/**
 * Walks the value without recursion, stopping at the depth limit, and finds `__proto__`
 * keys: an own `__proto__` property is harmless in the parsed value but would replace a
 * prototype if copied by assignment, so it is refused wherever it appears.
 */
function walk(root: unknown, maxDepth: number, maxProblems: number): Problem[] {
  const problems: Problem[] = [];
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: root, path: '', depth: 0 }];
  while (stack.length > 0 && problems.length < maxProblems) {
    const { v, path, depth } = stack.pop() as { v: unknown; path: string; depth: number };
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) {
      const field = path === '' ? '(plan)' : path;
      problems.push(planProblem('plan.too_deep', `${field}: values are nested deeper than ${maxDepth} levels; reading stopped`, { field }));
      break;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        const p = fieldKey(path, k);
        if (k === '__proto__') problems.push(planProblem('plan.forbidden_key', `${p}: the key '__proto__' is not allowed`, { field: p }));
        else stack.push({ v: (v as Record<string, unknown>)[k], path: p, depth: depth + 1 });
      }
    }
  }
  return problems;
}

/** Turns schema-valid JSON into the model, applying defaults and reading dates. */
class Converter {
  readonly problems: Problem[] = [];

  plan(j: ProvisioningPlanJson): ProvisioningPlan {
    const plan: ProvisioningPlan = { accountRequests: j.accountRequests.map((a, i) => this.account(a, `accountRequests[${i}]`)) };
    if (j.identity !== undefined) plan.identity = j.identity;
    if (j.trackingId !== undefined) plan.trackingId = j.trackingId;
    if (j.arguments !== undefined) plan.arguments = this.args(j.arguments, 'arguments');
    return plan;
  }

  private account(j: AccountRequestJson, path: string): AccountRequest {
    const ar: AccountRequest = {
      application: j.application,
      op: j.op ?? 'Modify',
      attributeRequests: (j.attributeRequests ?? []).map((r, k) => {
        const rq: AttributeRequest = { name: r.name, op: r.op ?? 'Add' };
        if (r.value !== undefined) rq.value = this.value(r.value, `${path}.attributeRequests[${k}].value`);
        if (r.trackingId !== undefined) rq.trackingId = r.trackingId;
        if (r.arguments !== undefined) rq.arguments = this.args(r.arguments, `${path}.attributeRequests[${k}].arguments`);
        return rq;
      }),
      permissionRequests: (j.permissionRequests ?? []).map((r, k) => {
        const pr: PermissionRequest = { target: r.target, op: r.op ?? 'Add', rights: [...(r.rights ?? [])] };
        if (r.trackingId !== undefined) pr.trackingId = r.trackingId;
        if (r.arguments !== undefined) pr.arguments = this.args(r.arguments, `${path}.permissionRequests[${k}].arguments`);
        return pr;
      }),
    };
    if (j.nativeIdentity !== undefined) ar.nativeIdentity = j.nativeIdentity;
    if (j.trackingId !== undefined) ar.trackingId = j.trackingId;
    if (j.arguments !== undefined) ar.arguments = this.args(j.arguments, `${path}.arguments`);
    return ar;
  }

  private args(j: ArgumentsJson, path: string): PlanArguments {
    return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, v === null ? null : this.value(v, fieldKey(path, k))]));
  }

  private value(j: ValueJson, path: string): PlanValue {
    return Array.isArray(j) ? j.map((x, i) => this.scalar(x, `${path}[${i}]`)) : this.scalar(j, path);
  }

  private scalar(j: ScalarJson, path: string): Scalar {
    // An unsafe integer is left for the structural check to report.
    if (typeof j === 'number') return j === 0 ? 0 : j;
    if (typeof j !== 'object') return j;
    const d = typeof j.date === 'number' ? dateFromEpochMillis(j.date) : parseDateText(j.date);
    if (d === undefined) {
      this.problems.push(planProblem('plan.invalid_value', `${path}.date: ${JSON.stringify(j.date)} is not a valid date`, { field: `${path}.date` }));
      return new Date(0);
    }
    return d;
  }
}
