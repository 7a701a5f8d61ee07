import type { ResourceSchema, ScimAttribute, ScimSchema } from './schema-model.ts';
import { defineAttribute as attr } from './schema-model.ts';

export const CORE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP_SCHEMA_ID = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const str = (name: string, description: string, rest: Partial<ScimAttribute> = {}) => attr(name, 'string', { description, ...rest });

// The value/display/type/primary quartet RFC 7643 §2.4 gives multi-valued attributes.
function multi(name: string, description: string, valueType: ScimAttribute['type'], types: string[] | undefined, extra: Partial<ScimAttribute> = {}): ScimAttribute {
  const typeAttr = str('type', `A label for the ${name} value's function.`);
  if (types) typeAttr.canonicalValues = types;
  const value = attr('value', valueType, { description: `The ${name} value.` });
  if (valueType === 'reference') value.referenceTypes = ['external'];
  return attr(name, 'complex', {
    description,
    multiValued: true,
    subAttributes: [value, str('display', 'A human-readable name, primarily used for display purposes.'), typeAttr, attr('primary', 'boolean', { description: 'Whether this is the preferred value; at most one value is primary.' })],
    ...extra,
  });
}

/** The core User schema of RFC 7643 §4.1. */
export const CORE_USER_SCHEMA: ScimSchema = {
  id: CORE_USER_SCHEMA_ID,
  name: 'User',
  description: 'User Account',
  attributes: [
    str('userName', 'Unique identifier for the User, typically used to sign in.', { required: true, uniqueness: 'server' }),
    attr('name', 'complex', {
      description: "The components of the user's real name.",
      subAttributes: [
        str('formatted', 'The full name, formatted for display.'),
        str('familyName', 'The family name (last name in most Western languages).'),
        str('givenName', 'The given name (first name in most Western languages).'),
        str('middleName', 'The middle name(s).'),
        str('honorificPrefix', 'The honorific prefix(es), e.g. "Ms.".'),
        str('honorificSuffix', 'The honorific suffix(es), e.g. "III".'),
      ],
    }),
    str('displayName', 'The name of the User, suitable for display to end-users.'),
    str('nickName', 'The casual way to address the user.'),
    attr('profileUrl', 'reference', { description: "A URI of the user's online profile.", referenceTypes: ['external'] }),
    str('title', "The user's title, e.g. \"Vice President\"."),
    str('userType', 'The relationship between the organization and the user, e.g. "Employee".'),
    str('preferredLanguage', "The user's preferred written or spoken language (RFC 7231 Accept-Language)."),
    str('locale', "The user's default location for localising values (e.g. en-US)."),
    str('timezone', "The user's time zone in IANA format (e.g. America/Los_Angeles)."),
    attr('active', 'boolean', { description: "The user's administrative status." }),
    str('password', "The user's cleartext password, for setting only; never returned.", { mutability: 'writeOnly', returned: 'never' }),
    multi('emails', 'Email addresses for the user.', 'string', ['work', 'home', 'other']),
    multi('phoneNumbers', 'Phone numbers for the user.', 'string', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multi('ims', 'Instant messaging addresses for the user.', 'string', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    multi('photos', 'URLs of images of the user.', 'reference', ['photo', 'thumbnail']),
    attr('addresses', 'complex', {
      description: 'Physical mailing addresses for the user.',
      multiValued: true,
      subAttributes: [
        str('formatted', 'The full mailing address, formatted for display.'),
        str('streetAddress', 'The full street address component.'),
        str('locality', 'The city or locality component.'),
        str('region', 'The state or region component.'),
        str('postalCode', 'The zip code or postal code component.'),
        str('country', 'The country name component (ISO 3166-1 alpha-2).'),
        str('type', "A label for the address's function.", { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean', { description: 'Whether this is the preferred address; at most one is primary.' }),
      ],
    }),
    attr('groups', 'complex', {
      description: 'The groups the user belongs to, directly or indirectly; managed through the Group resource.',
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        str('value', 'The id of the Group.', { mutability: 'readOnly' }),
        attr('$ref', 'reference', { description: 'The URI of the Group.', mutability: 'readOnly', referenceTypes: ['User', 'Group'] }),
        str('display', 'The display name of the Group.', { mutability: 'readOnly' }),
        str('type', 'How the membership came about.', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    multi('entitlements', 'Entitlements the user has.', 'string', undefined),
    multi('roles', 'Roles the user has.', 'string', undefined),
    multi('x509Certificates', 'X.509 certificates issued to the user (DER, base64).', 'binary', undefined),
  ],
};

/** The Enterprise User extension of RFC 7643 §4.3. */
export const ENTERPRISE_USER_SCHEMA: ScimSchema = {
  id: ENTERPRISE_USER_SCHEMA_ID,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber', 'A string identifier, typically numeric or alphanumeric, assigned to a person by the organization.'),
    str('costCenter', 'The name of a cost center.'),
    str('organization', 'The name of an organization.'),
    str('division', 'The name of a division.'),
    str('department', 'The name of a department.'),
    attr('manager', 'complex', {
      description: "The user's manager.",
      subAttributes: [
        str('value', 'The id of the SCIM resource representing the manager.'),
        attr('$ref', 'reference', { description: 'The URI of the manager resource.', referenceTypes: ['User'] }),
        str('displayName', "The manager's display name.", { mutability: 'readOnly' }),
      ],
    }),
  ],
};

/** The core Group schema of RFC 7643 §4.2. */
export const CORE_GROUP_SCHEMA: ScimSchema = {
  id: CORE_GROUP_SCHEMA_ID,
  name: 'Group',
  description: 'Group',
  attributes: [
    // RFC 7643 §4.2 says REQUIRED; its §8.7.1 listing says false (a known erratum). We follow §4.2.
    str('displayName', 'A human-readable name for the Group.', { required: true }),
    attr('members', 'complex', {
      description: 'The members of the Group.',
      multiValued: true,
      subAttributes: [
        str('value', 'The id of the member resource.', { mutability: 'immutable' }),
        attr('$ref', 'reference', { description: 'The URI of the member resource.', mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        str('display', 'The display name of the member.'),
        str('type', 'The kind of member.', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
    }),
  ],
};

/** The User resource type: core User plus the Enterprise extension. */
export const USER_RESOURCE: ResourceSchema = {
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  description: 'User Account',
  core: CORE_USER_SCHEMA,
  extensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
};

/** The Group resource type. */
export const GROUP_RESOURCE: ResourceSchema = {
  id: 'Group',
  name: 'Group',
  endpoint: '/Groups',
  description: 'Group',
  core: CORE_GROUP_SCHEMA,
  extensions: [],
};
