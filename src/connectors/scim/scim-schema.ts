/**
 * SCIM schema definitions (RFC 7643 §7) as a target's /Schemas returns them, and the
 * built-in User and EnterpriseUser definitions used when a target does not publish its own.
 */

export const CORE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export interface ScimAttributeDef {
  name: string;
  type: string;
  multiValued?: boolean;
  required?: boolean;
  mutability?: string;
  returned?: string;
  description?: string;
  subAttributes?: ScimAttributeDef[];
}

export interface ScimSchemaDef {
  id: string;
  attributes: ScimAttributeDef[];
}

const s = (name: string, extra: Partial<ScimAttributeDef> = {}): ScimAttributeDef => ({ name, type: 'string', ...extra });
const valued = (name: string): ScimAttributeDef => ({
  name,
  type: 'complex',
  multiValued: true,
  subAttributes: [s('value'), s('display'), s('type'), { name: 'primary', type: 'boolean' }],
});

/** RFC 7643 §4.1, the attributes Steward maps. */
export const DEFAULT_USER_SCHEMA: ScimSchemaDef = {
  id: CORE_USER_SCHEMA,
  attributes: [
    s('userName', { required: true }),
    {
      name: 'name',
      type: 'complex',
      subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => s(n)),
    },
    s('displayName'),
    s('nickName'),
    { name: 'profileUrl', type: 'reference' },
    s('title'),
    s('userType'),
    s('preferredLanguage'),
    s('locale'),
    s('timezone'),
    { name: 'active', type: 'boolean' },
    s('password', { mutability: 'writeOnly', returned: 'never' }),
    valued('emails'),
    valued('phoneNumbers'),
    valued('ims'),
    valued('photos'),
    { ...valued('groups'), mutability: 'readOnly' },
    valued('entitlements'),
    valued('roles'),
    valued('x509Certificates'),
  ],
};

/** RFC 7643 §4.3. */
export const DEFAULT_ENTERPRISE_SCHEMA: ScimSchemaDef = {
  id: ENTERPRISE_USER_SCHEMA,
  attributes: [
    s('employeeNumber'),
    s('costCenter'),
    s('organization'),
    s('division'),
    s('department'),
    { name: 'manager', type: 'complex', subAttributes: [s('value'), { name: '$ref', type: 'reference' }, s('displayName', { mutability: 'readOnly' })] },
  ],
};
