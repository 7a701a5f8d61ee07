import type { Problem } from '../domain/result.ts';

/**
 * The problem codes the plan codecs and semantics report, each with what it means. Codes
 * are stable: callers match on them. `docs/plans.md` lists each one (a test checks).
 */
export const PLAN_PROBLEM_CODES = {
  'plan.too_large': 'The document is larger than the size limit; it was not read.',
  'plan.too_deep': 'Elements or JSON values are nested deeper than the depth limit; reading stopped there.',
  'plan.too_many_problems': 'So many problems were found that reading stopped; fix these and try again.',
  'plan.xml.malformed': 'The document is not well-formed XML (a quote, tag or character out of place).',
  'plan.xml.entity': 'An entity reference other than the five XML ones or a numeric character reference.',
  'plan.xml.doctype': 'The DOCTYPE is refused: it declares entities or an internal subset, or names a DTD other than sailpoint.dtd.',
  'plan.xml.encoding': 'The document declares an encoding other than UTF-8, or its bytes are not UTF-8.',
  'plan.xml.root': 'The root element is not <ProvisioningPlan>.',
  'plan.xml.unknown_element': 'An element the plan format does not have, or one in a place it may not appear.',
  'plan.xml.unknown_attribute': 'An XML attribute the element does not have.',
  'plan.xml.unexpected_text': 'Text where only elements may appear.',
  'plan.xml.duplicate': 'Something given twice that may appear once (two <value>s, a value attribute and a <value>, two <Attributes>).',
  'plan.json.syntax': 'The text is not JSON.',
  'plan.json.schema': 'The JSON does not match the plan schema (plan.schema.json).',
  'plan.forbidden_key': 'A key or name that could alter object prototypes (`__proto__`).',
  'plan.missing_field': 'A required field or attribute is absent (application, name, target, key, nativeIdentity, value).',
  'plan.invalid_op': 'An op that is not one of the operations the request allows.',
  'plan.invalid_value': 'A value that is not valid: a bad integer, boolean or date, a nested list, an empty name, a character XML cannot carry.',
  'plan.invalid_right': 'A permission right that is empty, has surrounding spaces or contains a comma (rights are written as CSV).',
  'plan.unknown_application': 'No account schema is known for the application.',
  'plan.unknown_attribute': "The attribute is not in the application's account schema.",
  'plan.type_mismatch': "A value cannot be coerced to the attribute's type in the schema.",
  'plan.single_valued': 'Several values given for a single-valued attribute.',
  'plan.account_exists': 'Create of an account that already exists.',
  'plan.account_not_found': 'Modify, Delete, Disable, Enable or Unlock of an account that does not exist.',
  'plan.conflict': 'Requests in one plan contradict each other (Delete with anything else, Create twice, Enable and Disable, different values for one attribute).',
} as const satisfies Record<string, string>;

export type PlanProblemCode = keyof typeof PLAN_PROBLEM_CODES;

/** A plan problem: a stable code, why, and where (a field path, and for XML a line and column). */
export function planProblem(
  code: PlanProblemCode,
  message: string,
  where: { field?: string; line?: number; column?: number } = {},
): Problem {
  const p: Problem = { code, message };
  if (where.field !== undefined) p.field = where.field;
  if (where.line !== undefined) p.line = where.line;
  if (where.column !== undefined) p.column = where.column;
  return p;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Extends a field path with an object key: `a.b`, or `a["odd key"]` when the key is not a plain name. */
export const fieldKey = (base: string, key: string): string => {
  const tail = IDENTIFIER.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (base === '') return tail;
  return tail.startsWith('[') ? `${base}${tail}` : `${base}.${tail}`;
};
