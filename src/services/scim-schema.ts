// The SCIM resource types Steward serves: RFC 7643's User (with the enterprise extension)
// and Group, each with Steward's own extension.
import { IDENTITY_KINDS, LIFECYCLE_STATUSES, STEWARD_USER_URN } from '../domain/identity.ts';
import type { ResourceSchema, ScimSchema } from '../scim/index.ts';
import { defineAttribute } from '../scim/index.ts';
import { GROUP_RESOURCE, USER_RESOURCE } from '../scim/index.ts';

export const STEWARD_GROUP_URN = 'urn:ietf:params:scim:schemas:extension:steward:2.0:Group';

/** What a group is for: `standard`, or `reserved` for the system (changed only by an admin client). */
export const GROUP_KINDS = ['standard', 'reserved'] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];

/** Steward's User extension: the identity's kind and where it is in its lifecycle. */
export const STEWARD_USER_SCHEMA: ScimSchema = {
  id: STEWARD_USER_URN,
  name: 'StewardUser',
  description: 'Steward identity attributes',
  attributes: [
    defineAttribute('kind', 'string', { description: 'What the identity is: employee, contractor, vendor or service. Default employee.', canonicalValues: [...IDENTITY_KINDS] }),
    defineAttribute('lifecycleStatus', 'string', { description: 'Where the identity is in its lifecycle: active, suspended or terminated. Default active.', canonicalValues: [...LIFECYCLE_STATUSES] }),
  ],
};

/** Steward's Group extension: whether the group is reserved for the system, and what it is for. */
export const STEWARD_GROUP_SCHEMA: ScimSchema = {
  id: STEWARD_GROUP_URN,
  name: 'StewardGroup',
  description: 'Steward group attributes',
  attributes: [
    defineAttribute('kind', 'string', { description: 'standard (default) or reserved; a reserved group is created, changed and deleted only by a client holding admin.', canonicalValues: [...GROUP_KINDS] }),
    defineAttribute('description', 'string', { description: 'What the group is for.' }),
  ],
};

/** The User resource type as Steward serves it. */
export const USER_RESOURCE_TYPE: ResourceSchema = {
  ...USER_RESOURCE,
  extensions: [...USER_RESOURCE.extensions, { schema: STEWARD_USER_SCHEMA, required: false }],
};

/** The Group resource type as Steward serves it. */
export const GROUP_RESOURCE_TYPE: ResourceSchema = {
  ...GROUP_RESOURCE,
  extensions: [...GROUP_RESOURCE.extensions, { schema: STEWARD_GROUP_SCHEMA, required: false }],
};
