import { describe, expect, it } from 'vitest';
import { OPERATIONS } from '../connectors/index.ts';
import { SCIM_CAPABILITIES } from '../connectors/scim/index.ts';
import { defaultActionChain, deriveDefaultChain } from './default-chains.ts';
import { parseScriptType } from './script-types.ts';

const types = (scripts: { type: string }[]): string[] => scripts.map((s) => s.type);
const scim = (action = 'Suspend', capabilities: readonly string[] = SCIM_CAPABILITIES.operations) => ({ connectorKind: 'scim', capabilities, deprovisioningPolicy: { action, gracePeriod: 'P0D' } });

describe('defaultActionChain', () => {
  it('provisions an account with create_user', () => {
    expect(types(defaultActionChain(scim(), null, 'provisioning'))).toEqual(['scim_api_create_user']);
  });

  it('provisions an entitlement with create_user then the membership operation of its kind', () => {
    expect(types(defaultActionChain(scim(), { kind: 'group' }, 'provisioning'))).toEqual(['scim_api_create_user', 'scim_api_add_user_to_group']);
    expect(types(defaultActionChain(scim(), { kind: 'role' }, 'provisioning'))).toEqual(['scim_api_create_user', 'scim_api_add_user_to_role']);
    expect(types(defaultActionChain({ connectorKind: 'rest', capabilities: ['create_user', 'allocate_license'], deprovisioningPolicy: null }, { kind: 'license' }, 'provisioning'))).toEqual(['rest_api_create_user', 'rest_api_allocate_license']);
  });

  it('adds to an entitlement without creating when the connector cannot create accounts', () => {
    expect(types(defaultActionChain(scim('Suspend', ['add_user_to_group']), { kind: 'group' }, 'provisioning'))).toEqual(['scim_api_add_user_to_group']);
  });

  it('de-provisions an account by the policy action: Suspend, Deactivate and Archive disable, Delete deletes', () => {
    for (const action of ['Suspend', 'Deactivate', 'Archive']) expect(types(defaultActionChain(scim(action), null, 'deprovisioning'))).toEqual(['scim_api_disable_user']);
    expect(types(defaultActionChain(scim('Delete'), null, 'deprovisioning'))).toEqual(['scim_api_delete_user']);
    expect(types(defaultActionChain({ ...scim(), deprovisioningPolicy: null }, null, 'deprovisioning'))).toEqual(['scim_api_disable_user']);
  });

  it('de-provisions an entitlement by removing the membership', () => {
    expect(types(defaultActionChain(scim('Delete'), { kind: 'group' }, 'deprovisioning'))).toEqual(['scim_api_remove_user_from_group']);
    expect(types(defaultActionChain({ connectorKind: 'rest', capabilities: ['release_license'], deprovisioningPolicy: null }, { kind: 'license' }, 'deprovisioning'))).toEqual(['rest_api_release_license']);
  });

  it('is none with a note saying what is missing when the connector cannot do it', () => {
    const noApi = { connectorKind: 'csv', capabilities: [] as string[], deprovisioningPolicy: { action: 'Delete' } };
    for (const [entitlement, purpose, op] of [
      [null, 'provisioning', 'create_user'],
      [null, 'deprovisioning', 'delete_user'],
      [{ kind: 'group' }, 'provisioning', 'add_user_to_group'],
      [{ kind: 'entity' }, 'deprovisioning', 'remove_user_from_entity'],
    ] as const) {
      const chain = defaultActionChain(noApi, entitlement, purpose);
      expect(types(chain)).toEqual(['none']);
      expect(String(chain[0]!.metadata.note)).toContain(op);
    }
    expect(types(defaultActionChain(scim(), { kind: 'permission' }, 'provisioning'))).toEqual(['none']);
  });

  it('only ever names script types that parse, with operations the capabilities allow', () => {
    for (const purpose of ['provisioning', 'deprovisioning'] as const) {
      for (const entitlement of [null, { kind: 'group' }, { kind: 'role' }, { kind: 'entity' }, { kind: 'license' }]) {
        for (const action of ['Suspend', 'Delete']) {
          for (const s of defaultActionChain({ connectorKind: 'gitlab', capabilities: OPERATIONS.filter((o) => o !== 'create_role'), deprovisioningPolicy: { action } }, entitlement, purpose)) {
            const parsed = parseScriptType(s.type);
            expect(parsed.ok, s.type).toBe(true);
            if (parsed.ok && parsed.value.family === 'api') expect(parsed.value.provider).toBe('gitlab');
          }
        }
      }
    }
  });

  it('deriveDefaultChain takes the ActionChain service’s target shape', () => {
    expect(types(deriveDefaultChain({ application: scim(), entitlement: { kind: 'group' } }, 'deprovisioning'))).toEqual(['scim_api_remove_user_from_group']);
  });
});
