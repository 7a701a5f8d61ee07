import { describe, expect, it } from 'vitest';
import { definitionProblems, type ApplicationDefinition } from './application.ts';
import { DEFAULT_ADOPTION, DEFAULT_DEPROVISIONING, DEFAULT_REMEDIATION } from './policies.ts';

const base: ApplicationDefinition = {
  name: 'Payroll',
  description: null,
  ownerId: null,
  connectorKind: 'scim',
  settings: {},
  accountSchema: {
    attributes: [
      { name: 'mail', type: 'string', multiValued: false },
      { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
    ],
  },
  capabilities: ['create_user'],
  attributeMappings: [],
  deprovisioningPolicy: DEFAULT_DEPROVISIONING,
  adoptionPolicy: DEFAULT_ADOPTION,
  remediationPolicy: DEFAULT_REMEDIATION,
};
const fieldsOf = (d: Partial<ApplicationDefinition>) => definitionProblems({ ...base, ...d }).map((p) => p.field);

describe('definitionProblems', () => {
  it('finds nothing wrong with a consistent definition', () => {
    expect(definitionProblems(base)).toEqual([]);
    expect(fieldsOf({ adoptionPolicy: { match: [{ identityAttribute: 'email', accountAttribute: 'MAIL' }] } })).toEqual([]);
  });

  it('matches adoption attributes against the schema only when there is one', () => {
    const match = { match: [{ identityAttribute: 'email' as const, accountAttribute: 'email' }] };
    expect(fieldsOf({ adoptionPolicy: match })).toEqual(['adoptionPolicy.match[0].accountAttribute']);
    expect(fieldsOf({ adoptionPolicy: match, accountSchema: { attributes: [] } })).toEqual([]);
  });

  it('refuses adoption on an entitlement attribute and the same pair twice', () => {
    const pair = { identityAttribute: 'email' as const, accountAttribute: 'mail' };
    expect(fieldsOf({ adoptionPolicy: { match: [{ identityAttribute: 'userName', accountAttribute: 'groups' }] } })).toEqual(['adoptionPolicy.match[0].accountAttribute']);
    expect(fieldsOf({ adoptionPolicy: { match: [pair, pair] } })).toEqual(['adoptionPolicy.match[1]']);
  });

  it('refuses attribute names that repeat ignoring case or cannot be attribute names', () => {
    const attrs = [
      { name: 'mail', type: 'string' as const, multiValued: false },
      { name: 'MAIL', type: 'string' as const, multiValued: false },
      { name: '1st', type: 'string' as const, multiValued: false },
    ];
    expect(fieldsOf({ accountSchema: { attributes: attrs } })).toEqual(['accountSchema.attributes[1].name', 'accountSchema.attributes[2].name']);
  });

  it('refuses names with padding or control characters, and a bad grace period', () => {
    expect(fieldsOf({ name: ' x' })).toEqual(['name']);
    expect(fieldsOf({ name: 'a\u0007b' })).toEqual(['name']);
    expect(fieldsOf({ deprovisioningPolicy: { action: 'Suspend', gracePeriod: 'tomorrow' } })).toEqual(['deprovisioningPolicy.gracePeriod']);
  });
});
