/**
 * An application's definition (seed 003): its connector, account schema, capabilities and
 * policies, and the rules that hold among them whatever the connector kind.
 */
import { attributeMappingProblems, type AttributeMapping } from './attribute-mappings.ts';
import { ADOPTION_IDENTITY_ATTRIBUTES, parseGracePeriod, type AdoptionPolicy, type DeprovisioningPolicy, type RemediationPolicy } from './policies.ts';
import type { Problem } from './result.ts';
import type { AccountSchema } from './schema.ts';

/** What an application is, apart from its id, secrets and bookkeeping. */
export interface ApplicationDefinition {
  name: string;
  description: string | null;
  ownerId: string | null;
  connectorKind: string;
  settings: Record<string, unknown>;
  accountSchema: AccountSchema;
  /** The connector operations Steward may use on this application (a subset of the kind's). */
  capabilities: string[];
  /** Identity attributes that feed account attributes in compiled plans. */
  attributeMappings: AttributeMapping[];
  deprovisioningPolicy: DeprovisioningPolicy;
  adoptionPolicy: AdoptionPolicy;
  remediationPolicy: RemediationPolicy;
}

/** What a secret's value is shown as: secrets are write-only. */
export const SECRET_MASK = '********';

const ATTRIBUTE_NAME_RE = /^[A-Za-z_][\w.:-]{0,127}$/;
const problem = (field: string, message: string): Problem => ({ code: 'application.invalid', field, message });

function schemaProblems(schema: AccountSchema): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  schema.attributes.forEach((a, i) => {
    const field = `accountSchema.attributes[${i}]`;
    if (!ATTRIBUTE_NAME_RE.test(a.name)) problems.push(problem(`${field}.name`, `'${a.name}' must start with a letter or _ and hold at most 128 letters, digits and _ . : -`));
    const first = seen.get(a.name.toLowerCase());
    if (first !== undefined) problems.push(problem(`${field}.name`, `'${a.name}' is defined already at accountSchema.attributes[${first}] (names are case-insensitive)`));
    else seen.set(a.name.toLowerCase(), i);
    if (a.entitlementKind !== undefined && a.type !== 'string') problems.push(problem(`${field}.type`, `an attribute holding ${a.entitlementKind} entitlements has type string, not ${a.type}`));
  });
  return problems;
}

function adoptionProblems(policy: AdoptionPolicy, schema: AccountSchema): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(schema.attributes.map((a) => [a.name.toLowerCase(), a]));
  const seen = new Set<string>();
  policy.match.forEach((m, i) => {
    const field = `adoptionPolicy.match[${i}]`;
    if (!(ADOPTION_IDENTITY_ATTRIBUTES as readonly string[]).includes(m.identityAttribute)) {
      problems.push(problem(`${field}.identityAttribute`, `'${m.identityAttribute}' is not one of ${ADOPTION_IDENTITY_ATTRIBUTES.join(', ')}`));
    }
    const key = `${m.identityAttribute}\n${m.accountAttribute.toLowerCase()}`;
    if (seen.has(key)) problems.push(problem(field, `matches ${m.identityAttribute} to ${m.accountAttribute} a second time`));
    seen.add(key);
    // An empty schema means it is not known yet (read from the connector later); nothing to check against.
    if (schema.attributes.length === 0) return;
    const attr = byName.get(m.accountAttribute.toLowerCase());
    if (!attr) problems.push(problem(`${field}.accountAttribute`, `'${m.accountAttribute}' is not an attribute of the account schema`));
    else if (attr.entitlementKind !== undefined) problems.push(problem(`${field}.accountAttribute`, `'${m.accountAttribute}' holds entitlements; match on an attribute that identifies the account`));
  });
  return problems;
}

/** Every way the definition contradicts itself (empty when it is consistent); each problem names its field. */
export function definitionProblems(d: ApplicationDefinition): Problem[] {
  const problems: Problem[] = [];
  const name = d.name.trim();
  if (name.length === 0 || name !== d.name) problems.push(problem('name', 'must not be empty or start or end with spaces'));
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(d.name)) problems.push(problem('name', 'must not hold control characters'));
  problems.push(...schemaProblems(d.accountSchema));
  const grace = parseGracePeriod(d.deprovisioningPolicy.gracePeriod, 'deprovisioningPolicy.gracePeriod');
  if (!grace.ok) problems.push(...grace.errors);
  problems.push(...adoptionProblems(d.adoptionPolicy, d.accountSchema));
  problems.push(...attributeMappingProblems(d.attributeMappings, d.accountSchema));
  const dup = d.capabilities.filter((c, i) => d.capabilities.indexOf(c) !== i);
  if (dup.length > 0) problems.push(problem('capabilities', `names ${[...new Set(dup)].join(', ')} more than once`));
  return problems;
}
