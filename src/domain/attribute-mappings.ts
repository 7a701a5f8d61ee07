/**
 * Attribute mappings: which identity attribute feeds which account attribute when Steward
 * works out the account an identity should have (the compiled plan's Create and Modify).
 */
import type { Problem } from './result.ts';
import type { AccountSchema } from './schema.ts';

/** The identity attributes a mapping may read, as paths into the identity (SCIM-style names). */
export const MAPPABLE_IDENTITY_ATTRIBUTES = [
  'id',
  'userName',
  'externalId',
  'displayName',
  'name.givenName',
  'name.familyName',
  'email',
  'department',
  'title',
  'employeeNumber',
] as const;
export type MappableIdentityAttribute = (typeof MAPPABLE_IDENTITY_ATTRIBUTES)[number];

export interface AttributeMapping {
  accountAttribute: string;
  identityAttribute: MappableIdentityAttribute;
}

const problem = (field: string, message: string): Problem => ({ code: 'application.invalid', field, message });

/** Every problem with the mappings against the account schema (empty when they are sound); each names its field. */
export function attributeMappingProblems(mappings: readonly AttributeMapping[], schema: AccountSchema): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(schema.attributes.map((a) => [a.name, a]));
  const seen = new Map<string, number>();
  mappings.forEach((m, i) => {
    const field = `attributeMappings[${i}]`;
    if (!(MAPPABLE_IDENTITY_ATTRIBUTES as readonly string[]).includes(m.identityAttribute)) {
      problems.push(problem(`${field}.identityAttribute`, `'${m.identityAttribute}' is not one of ${MAPPABLE_IDENTITY_ATTRIBUTES.join(', ')}`));
    }
    const first = seen.get(m.accountAttribute);
    if (first !== undefined) problems.push(problem(`${field}.accountAttribute`, `'${m.accountAttribute}' is mapped already at attributeMappings[${first}]`));
    else seen.set(m.accountAttribute, i);
    // An empty schema is not known yet (read from the connector later); nothing to check against.
    if (schema.attributes.length === 0) return;
    const attr = byName.get(m.accountAttribute);
    if (!attr) problems.push(problem(`${field}.accountAttribute`, `'${m.accountAttribute}' is not an attribute of the account schema`));
    else if (attr.entitlementKind !== undefined) problems.push(problem(`${field}.accountAttribute`, `'${m.accountAttribute}' holds ${attr.entitlementKind} entitlements, which come from assignments, not from identity attributes`));
    else if (attr.multiValued) problems.push(problem(`${field}.accountAttribute`, `'${m.accountAttribute}' is multi-valued; a mapping fills a single-valued attribute`));
  });
  return problems;
}
