import { describe, expect, it } from 'vitest';
import { attributeMappingProblems, type AttributeMapping } from './attribute-mappings.ts';
import type { AccountSchema } from './schema.ts';

const schema: AccountSchema = {
  attributes: [
    { name: 'mail', type: 'string', multiValued: false },
    { name: 'aliases', type: 'string', multiValued: true },
    { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
  ],
};

describe('attributeMappingProblems', () => {
  it('accepts mappings of single-valued schema attributes from known identity paths', () => {
    expect(attributeMappingProblems([{ accountAttribute: 'mail', identityAttribute: 'email' }], schema)).toEqual([]);
  });

  it('names each bad mapping by field', () => {
    const bad = [
      { accountAttribute: 'mail', identityAttribute: 'shoeSize' },
      { accountAttribute: 'mail', identityAttribute: 'userName' },
      { accountAttribute: 'nope', identityAttribute: 'email' },
      { accountAttribute: 'groups', identityAttribute: 'department' },
      { accountAttribute: 'aliases', identityAttribute: 'email' },
    ] as unknown as AttributeMapping[];
    expect(attributeMappingProblems(bad, schema).map((p) => p.field)).toEqual([
      'attributeMappings[0].identityAttribute',
      'attributeMappings[1].accountAttribute',
      'attributeMappings[2].accountAttribute',
      'attributeMappings[3].accountAttribute',
      'attributeMappings[4].accountAttribute',
    ]);
  });

  it('checks nothing against an empty (not yet known) schema but the identity path and duplicates', () => {
    expect(attributeMappingProblems([{ accountAttribute: 'anything', identityAttribute: 'name.givenName' }], { attributes: [] })).toEqual([]);
  });
});
