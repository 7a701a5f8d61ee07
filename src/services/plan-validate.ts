/**
 * A plan checked against the store: its applications exist (or are Steward itself), its
 * attributes are in their account schemas, its operations are ones the applications'
 * connectors may perform, the accounts it changes exist (and those it creates do not), and
 * its target identity exists. Every problem is reported at once, each with its code and
 * the request's position; reads are set-based: one query per kind of thing, whatever the
 * plan's size.
 */
import { checkSupported } from '../connectors/index.ts';
import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { AccountSchema } from '../domain/schema.ts';
import { accountKey, checkPlanAgainstSchemas, isStewardApplication } from '../plan/index.ts';
import type { AccountState, ProvisioningPlan } from '../plan/index.ts';
import type { Executor } from '../store/db.ts';
import { accountsByKeys, applicationsByNames, identitiesByRefs } from '../store/plans.ts';
import type { ApplicationRow, IdentityRow } from '../store/tables.ts';
import { accountState, capabilitiesOf, identityState, schemaOf } from './plan-state.ts';

/** Problem codes only a check against the store can find (the plan module's own are in src/plan/codes.ts). */
export const STORE_PLAN_PROBLEM_CODES = {
  'plan.unsupported_operation': "The request needs an operation the application's connector does not support (or the application does not allow).",
  'plan.unknown_identity': 'The target identity (the plan\'s identity, or the one given with it) does not exist.',
} as const;

/** What the store says about a plan: its accounts' states and schemas, for preview. */
export interface PlanContext {
  plan: ProvisioningPlan;
  states: Map<string, AccountState>;
  schemas: Map<string, AccountSchema>;
  identity: IdentityRow | undefined;
}

const problem = (code: string, field: string, message: string): Problem => ({ code, field, message: `${field}: ${message}` });

const requestIndex = (p: Problem): number => {
  const m = /^accountRequests\[(\d+)\]/.exec(p.field ?? '');
  return m ? Number(m[1]) : -1;
};

function findIdentity(rows: IdentityRow[], ref: string): IdentityRow | undefined {
  return rows.find((r) => r.id === ref) ?? rows.find((r) => r.user_name.toLowerCase() === ref.toLowerCase());
}

/** The plan (its target identity set from `identity` when given) and its context, or every problem the store reveals. */
export async function checkPlanAgainstStore(db: Executor, input: ProvisioningPlan, options: { identity?: string } = {}): Promise<Result<PlanContext>> {
  const plan: ProvisioningPlan = options.identity === undefined ? input : { ...input, identity: options.identity };
  const requests = plan.accountRequests;
  const appNames = [...new Set(requests.map((r) => r.application).filter((n) => !isStewardApplication(n)))];
  const identityRefs = new Set<string>();
  if (plan.identity !== undefined) identityRefs.add(plan.identity);
  for (const r of requests) if (isStewardApplication(r.application) && r.nativeIdentity !== undefined) identityRefs.add(r.nativeIdentity);
  const [apps, identities] = await Promise.all([applicationsByNames(db, appNames), identitiesByRefs(db, [...identityRefs])]);

  const appByName = new Map<string, ApplicationRow>();
  for (const a of apps) appByName.set(a.name.toLowerCase(), a);
  const appOf = (name: string) => (isStewardApplication(name) ? undefined : appByName.get(name.toLowerCase()));
  const schemas = new Map<string, AccountSchema>();
  for (const name of appNames) {
    const app = appOf(name);
    if (app) schemas.set(name, schemaOf(app));
  }

  const problems: Problem[] = [];
  if (plan.identity !== undefined && !findIdentity(identities, plan.identity)) {
    const field = 'identity';
    problems.push(problem('plan.unknown_identity', field, `no identity has the id or userName '${plan.identity}'`));
  }
  const bySchema = checkPlanAgainstSchemas(plan, schemas);
  if (!bySchema.ok) problems.push(...bySchema.errors);

  requests.forEach((ar, i) => {
    const app = appOf(ar.application);
    if (!app) return;
    for (const p of checkSupported(ar, capabilitiesOf(app))) {
      const field = `accountRequests[${i}].${(p.field ?? 'op').replace(/ \(.*\)$/, '')}`;
      problems.push({ code: 'plan.unsupported_operation', field, message: `${field}: ${p.message}` });
    }
  });

  // One read for every account the plan names; then the plan is walked in order, so that a Create followed by a Modify is fine.
  const keys = requests.flatMap((ar) => {
    const app = appOf(ar.application);
    return app && ar.nativeIdentity !== undefined ? [{ applicationId: app.id, nativeIdentity: ar.nativeIdentity }] : [];
  });
  const rows = await accountsByKeys(db, keys);
  const rowByKey = new Map(rows.map((r) => [`${r.application_id}\n${r.native_identity}`, r]));
  const states = new Map<string, AccountState>();
  const exists = new Map<string, boolean>();
  requests.forEach((ar, i) => {
    const key = accountKey(ar.application, ar.nativeIdentity);
    const steward = isStewardApplication(ar.application);
    const app = appOf(ar.application);
    if (!steward && !app) return;
    if (!exists.has(key)) {
      let state: AccountState | undefined;
      if (ar.nativeIdentity !== undefined) {
        if (steward) {
          const who = findIdentity(identities, ar.nativeIdentity);
          state = who ? identityState(who) : undefined;
        } else {
          const row = rowByKey.get(`${app!.id}\n${ar.nativeIdentity}`);
          state = row ? accountState(row, schemaOf(app!)) : undefined;
        }
      }
      if (state) states.set(key, state);
      exists.set(key, state !== undefined);
    }
    const field = `accountRequests[${i}].nativeIdentity`;
    const there = exists.get(key)!;
    const who = `${ar.application} account '${ar.nativeIdentity ?? ''}'`;
    if (ar.op === 'Create') {
      if (there && ar.nativeIdentity !== undefined) problems.push(problem('plan.account_exists', field, `Create of ${who}, which already exists`));
      exists.set(key, true);
    } else {
      if (!there) problems.push(problem('plan.account_not_found', field, `${ar.op} of ${who}, which does not exist`));
      exists.set(key, ar.op !== 'Delete');
    }
  });

  if (problems.length > 0) return fail(...problems.map((p, n) => ({ p, n })).sort((a, b) => requestIndex(a.p) - requestIndex(b.p) || a.n - b.n).map((x) => x.p));
  const identity = plan.identity === undefined ? undefined : findIdentity(identities, plan.identity);
  return ok({ plan, states, schemas, identity });
}

