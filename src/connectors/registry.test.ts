import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONNECTOR_ERROR_CODES } from './errors.ts';
import { BUILT_IN_KINDS } from './kinds.ts';
import { createRegistry } from './registry.ts';

describe('createRegistry', () => {
  it('finds the built-in kinds by name', () => {
    const r = createRegistry(BUILT_IN_KINDS);
    expect(r.list().map((k) => k.name)).toEqual(['scim', 'csv', 'ldap', 'rest', 'gitlab']);
    expect(r.get('ldap')?.secretSettings).toEqual(['bindPassword']);
    expect(r.get('scim')?.secretSettings).toEqual(['token', 'clientSecret']);
    expect(r.get('nope')).toBeUndefined();
  });
  it('refuses two kinds with one name', () => {
    expect(() => createRegistry([...BUILT_IN_KINDS, BUILT_IN_KINDS[0]!])).toThrow("connector kind 'scim' is registered twice");
  });
});

describe('docs/connectors.md', () => {
  const doc = readFileSync(new URL('../../docs/connectors.md', import.meta.url), 'utf8');
  it('names every connector error code', () => {
    for (const code of Object.keys(CONNECTOR_ERROR_CODES)) expect(doc, code).toContain(`\`${code}\``);
  });
  it('describes every setting of every built-in kind', () => {
    for (const kind of BUILT_IN_KINDS) {
      for (const name of Object.keys(kind.settingsSchema.properties as object)) expect(doc, `${kind.name}.${name}`).toContain(`\`${name}\``);
    }
  });
});
