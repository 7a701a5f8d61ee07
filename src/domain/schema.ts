/** The types an application's account attributes may have (seed 004's value types). */
export const ATTRIBUTE_TYPES = ['string', 'integer', 'boolean', 'date'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

/** One account attribute of an application, as its connector reports it or an admin sets it. */
export interface AttributeSchema {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  required?: boolean;
  /** The attribute's values are entitlements of this kind (e.g. `groups` holds group entitlements). */
  entitlementKind?: EntitlementKind;
  description?: string;
}

export const ENTITLEMENT_KINDS = ['group', 'role', 'license', 'permission', 'entity'] as const;
export type EntitlementKind = (typeof ENTITLEMENT_KINDS)[number];

/** An application's account schema: its attributes by name. */
export interface AccountSchema {
  attributes: AttributeSchema[];
}
