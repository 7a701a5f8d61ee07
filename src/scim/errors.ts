import type { Problem } from '../domain/result.ts';

/** The `scimType` values of RFC 7644 §3.12 that the SCIM modules report. */
export type ScimType = 'invalidFilter' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'mutability' | 'invalidSyntax' | 'tooMany';

/**
 * A problem the SCIM surface reports: a stable Steward code plus the `scimType` the SCIM
 * error body carries. Every one of them is an HTTP 400 (RFC 7644 §3.12).
 */
export interface ScimProblem extends Problem {
  scimType: ScimType;
}

/** The Steward error code for each `scimType`; stable, clients may match on them. */
export const SCIM_CODES = {
  invalidFilter: 'scim.invalid_filter',
  invalidPath: 'scim.invalid_path',
  noTarget: 'scim.no_target',
  invalidValue: 'scim.invalid_value',
  mutability: 'scim.mutability',
  invalidSyntax: 'scim.invalid_syntax',
  tooMany: 'scim.too_many',
} as const satisfies Record<ScimType, string>;

/** Builds a problem with the code that belongs to `scimType`. */
export function scimProblem(scimType: ScimType, message: string, where: { field?: string; column?: number } = {}): ScimProblem {
  const p: ScimProblem = { code: SCIM_CODES[scimType], scimType, message };
  if (where.field !== undefined) p.field = where.field;
  if (where.column !== undefined) p.column = where.column;
  return p;
}
