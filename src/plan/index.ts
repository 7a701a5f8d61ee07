/**
 * The ProvisioningPlan: its model, its XML and JSON codecs, its structural and schema
 * checks, and its semantics (apply, normalise, preview) as pure functions of account state.
 */
export * from './model.ts';
export { PLAN_PROBLEM_CODES, planProblem } from './codes.ts';
export type { PlanProblemCode } from './codes.ts';
export { DEFAULT_PLAN_LIMITS } from './limits.ts';
export type { PlanReadLimits } from './limits.ts';
export { parsePlanXml } from './xml-parse.ts';
export type { PlanXmlOptions } from './xml-parse.ts';
export { toXml, XML_PROLOGUE } from './xml-write.ts';
export { parsePlanJson } from './json-read.ts';
export type { PlanJsonOptions } from './json-read.ts';
export { toJson, toJsonValue } from './json-write.ts';
export type { AccountRequestJson, ArgumentsJson, AttributeRequestJson, PermissionRequestJson, ProvisioningPlanJson, ScalarJson, ValueJson } from './json-write.ts';
export { PLAN_JSON_SCHEMA } from './json-schema.ts';
export { validatePlanStructure } from './structure.ts';
export { checkPlanAgainstSchemas } from './schema-check.ts';
export { isScalar, scalarEquals, valueEquals, valueList, parseIsoDate, parseDateText, formatIsoDate } from './values.ts';
export { coerceScalar } from './coerce.ts';
export { accountKey, canonicalApplication, createdAccount, missingAccount } from './state.ts';
export type { AccountState, AccountStates } from './state.ts';
export { STEWARD_ACCOUNT_SCHEMA, attributeSchema, schemaFor } from './steward-schema.ts';
export type { AccountSchemas } from './steward-schema.ts';
export { applyAccountRequest, applyPlan } from './apply.ts';
export { normalizePlan } from './normalize.ts';
export { diffAccount, previewPlan } from './preview.ts';
export type { AccountPreview, AttributeChange, FlagChange, PermissionChange, PlanPreview } from './preview.ts';
