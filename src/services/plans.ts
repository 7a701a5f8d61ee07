/**
 * Provisioning plans against the store: reading a plan from XML or JSON, checking it
 * against applications, accounts and identities, previewing it, and compiling the plans
 * that make identities' accounts equal what they should have.
 *
 * Carrying a plan out is not here: that is the workflows' job (ActionFlows, one per
 * AccountRequest, through connectors). A checked plan (`PlanContext.plan`) is what they
 * take.
 */
import { StewardError } from '../domain/errors.ts';
import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { parsePlanJson, parsePlanXml, previewPlan } from '../plan/index.ts';
import type { PlanPreview, ProvisioningPlan } from '../plan/index.ts';
import type { Db } from '../store/db.ts';
import { compilePlans } from './plan-compile.ts';
import { withPositions } from './plan-positions.ts';
import { checkPlanAgainstStore } from './plan-validate.ts';

/** A plan as given: XML text or bytes, or JSON (text, or already parsed). */
export type PlanSource = { xml: string | Uint8Array } | { json: unknown };

export interface PlanOptions {
  /** The target identity (id or userName); overrides the plan's own, as IdentityIQ's console does. */
  identity?: string;
}

export interface PlanService {
  /** The plan, or every problem reading it and checking it against the store. */
  validate(source: PlanSource, options?: PlanOptions): Promise<Result<ProvisioningPlan>>;
  /** Per account the plan touches, the state before and after; nothing is changed. */
  preview(source: PlanSource, options?: PlanOptions): Promise<Result<PlanPreview & { plan: ProvisioningPlan }>>;
  /** The plan that makes the identity's accounts equal what it should have (empty when nothing differs). */
  compile(identityId: string): Promise<ProvisioningPlan>;
  /** `compile` for many identities, in one batch of set-based reads; unknown ids are left out. */
  compileMany(identityIds: readonly string[]): Promise<Map<string, ProvisioningPlan>>;
}

/** Reads a plan from its source; every problem, with line and column for XML. */
export function readPlan(source: PlanSource): Result<ProvisioningPlan> {
  return 'xml' in source ? parsePlanXml(source.xml) : parsePlanJson(source.json);
}

/** The error the API answers an invalid plan with: 422 `plan.invalid`, listing every problem. */
export function invalidPlan(problems: Problem[]): StewardError {
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new StewardError('plan.invalid', `the plan is invalid: ${first?.message ?? 'no reason given'}${more}`, { problems });
}

export function createPlanService(db: Db): PlanService {
  const check = async (source: PlanSource, options: PlanOptions = {}) => {
    const read = readPlan(source);
    if (!read.ok) return read;
    const checked = await checkPlanAgainstStore(db.k, read.value, options);
    if (checked.ok) return checked;
    if (!('xml' in source)) return checked;
    const text = typeof source.xml === 'string' ? source.xml : new TextDecoder().decode(source.xml);
    return fail(...withPositions(checked.errors, text));
  };
  return {
    async validate(source, options) {
      const r = await check(source, options);
      return r.ok ? ok(r.value.plan) : r;
    },
    async preview(source, options) {
      const r = await check(source, options);
      if (!r.ok) return r;
      const p = previewPlan(r.value.plan, r.value.states, r.value.schemas);
      return p.ok ? ok({ plan: r.value.plan, ...p.value }) : p;
    },
    async compile(identityId) {
      const plan = (await compilePlans(db.k, [identityId])).get(identityId);
      if (!plan) throw new StewardError('identity.not_found', `no identity has id ${identityId}`);
      return plan;
    },
    compileMany: (ids) => compilePlans(db.k, ids),
  };
}
