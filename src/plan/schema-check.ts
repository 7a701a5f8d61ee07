import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { coercedValues, knownAttribute } from './apply.ts';
import { planProblem } from './codes.ts';
import type { ProvisioningPlan } from './model.ts';
import { schemaFor } from './steward-schema.ts';
import type { AccountSchemas } from './steward-schema.ts';

/**
 * The checks a plan can pass against account schemas alone, before any account is read:
 * known applications and attributes, values that coerce to the attributes' types, one
 * value for a single-valued attribute. (A Delete's attribute requests are connector
 * options and are not checked.)
 */

/** Every problem the schemas reveal in the plan, each naming its field. */
export function checkPlanAgainstSchemas(plan: ProvisioningPlan, schemas: AccountSchemas): Result<ProvisioningPlan> {
  const problems: Problem[] = [];
  plan.accountRequests.forEach((ar, i) => {
    const field = `accountRequests[${i}]`;
    const schema = schemaFor(ar.application, schemas);
    if (schema === undefined) {
      problems.push(planProblem('plan.unknown_application', `${field}.application: no account schema is known for application '${ar.application}'`, { field: `${field}.application` }));
      return;
    }
    if (ar.op === 'Delete') return;
    ar.attributeRequests.forEach((rq, j) => {
      const f = `${field}.attributeRequests[${j}]`;
      const attr = knownAttribute(rq, schema, ar.application, f, problems);
      if (attr !== undefined) coercedValues(rq, attr, ar.application, f, problems);
    });
  });
  return problems.length > 0 ? fail(...problems) : ok(plan);
}
