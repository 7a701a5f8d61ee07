/** What kind of person or service an identity is. */
export const IDENTITY_KINDS = ['employee', 'contractor', 'vendor', 'service'] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** Where an identity is in its lifecycle (joiner → active, leaver → terminated). */
export const LIFECYCLE_STATUSES = ['active', 'suspended', 'terminated'] as const;
export type LifecycleStatus = (typeof LIFECYCLE_STATUSES)[number];

export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** Steward's own SCIM extension: the identity's kind and lifecycle status. */
export const STEWARD_USER_URN = 'urn:ietf:params:scim:schemas:extension:steward:2.0:User';

export interface MultiValue {
  value?: string;
  display?: string;
  type?: string;
  primary?: boolean;
}

/**
 * An identity as a SCIM User resource (RFC 7643 §4.1 with the enterprise extension and
 * Steward's), without `id` and `meta`, which the store owns. This is what `data` holds.
 */
export interface IdentityResource {
  userName: string;
  externalId?: string;
  active?: boolean;
  name?: { formatted?: string; familyName?: string; givenName?: string; middleName?: string; honorificPrefix?: string; honorificSuffix?: string };
  displayName?: string;
  nickName?: string;
  profileUrl?: string;
  title?: string;
  userType?: string;
  preferredLanguage?: string;
  locale?: string;
  timezone?: string;
  emails?: MultiValue[];
  phoneNumbers?: MultiValue[];
  ims?: MultiValue[];
  photos?: MultiValue[];
  addresses?: Array<Record<string, unknown>>;
  entitlements?: MultiValue[];
  roles?: MultiValue[];
  x509Certificates?: MultiValue[];
  [ENTERPRISE_USER_URN]?: {
    employeeNumber?: string;
    costCenter?: string;
    organization?: string;
    division?: string;
    department?: string;
    manager?: { value?: string; $ref?: string; displayName?: string };
  };
  [STEWARD_USER_URN]?: { kind?: IdentityKind; lifecycleStatus?: LifecycleStatus };
  [extra: string]: unknown;
}

/** The primary email of a resource, else its first. */
export function primaryEmail(r: IdentityResource): string | undefined {
  const emails = r.emails ?? [];
  return (emails.find((e) => e.primary) ?? emails[0])?.value;
}
