/** The wire shapes of applications: what a client sends and what it is answered. */
import { Type } from 'typebox';
import { OPERATIONS } from '../../connectors/index.ts';
import { MAPPABLE_IDENTITY_ATTRIBUTES } from '../../domain/attribute-mappings.ts';
import { ACCOUNT_CHANGES, ADOPTION_IDENTITY_ATTRIBUTES, DEPROVISIONING_ACTIONS, REMEDIATIONS } from '../../domain/policies.ts';
import { ATTRIBUTE_TYPES, ENTITLEMENT_KINDS } from '../../domain/schema.ts';
import { DateTime, Nullable, Uuid } from '../schemas.ts';

const closed = { additionalProperties: false } as const;
const NullableString = (maxLength: number, description?: string) => Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength, ...(description ? { description } : {}) });

export const AttributeSchemaWire = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    type: Type.Enum(ATTRIBUTE_TYPES, { description: ATTRIBUTE_TYPES.join(' | ') }),
    multiValued: Type.Boolean(),
    required: Type.Optional(Type.Boolean()),
    entitlementKind: Type.Optional(Type.Enum(ENTITLEMENT_KINDS, { description: `The attribute's values are entitlements of this kind: ${ENTITLEMENT_KINDS.join(' | ')}` })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  closed,
);

export const DeprovisioningPolicyWire = Type.Object(
  {
    action: Type.Enum(DEPROVISIONING_ACTIONS, { description: `${DEPROVISIONING_ACTIONS.join(' | ')}; one the connector kind offers` }),
    gracePeriod: Type.String({ maxLength: 40, description: 'ISO 8601 duration of weeks, days, hours, minutes, seconds: P7D, PT12H, P1DT6H, PT0S (at most 366 days)' }),
  },
  closed,
);

export const AdoptionMatchWire = Type.Object(
  {
    identityAttribute: Type.Enum(ADOPTION_IDENTITY_ATTRIBUTES, { description: ADOPTION_IDENTITY_ATTRIBUTES.join(' | ') }),
    accountAttribute: Type.String({ minLength: 1, maxLength: 128 }),
  },
  closed,
);

export const AdoptionPolicyWire = Type.Object({ match: Type.Array(AdoptionMatchWire, { maxItems: 10, description: 'Every pair must match (AND); empty: no automatic adoption.' }) }, closed);

export const AttributeMappingWire = Type.Object(
  {
    accountAttribute: Type.String({ minLength: 1, maxLength: 128, description: 'A single-valued attribute of the account schema.' }),
    identityAttribute: Type.Enum(MAPPABLE_IDENTITY_ATTRIBUTES, { description: `A path into the identity: ${MAPPABLE_IDENTITY_ATTRIBUTES.join(' | ')}` }),
  },
  closed,
);

const remediationProps = Object.fromEntries(ACCOUNT_CHANGES.map((c) => [c, Type.Enum(REMEDIATIONS, { description: REMEDIATIONS.join(' | ') })]));
export const RemediationPolicyWire = Type.Object(remediationProps, closed);
const RemediationPolicyInput = Type.Object(Object.fromEntries(ACCOUNT_CHANGES.map((c) => [c, Type.Optional(remediationProps[c]!)])), closed);

const Capabilities = Type.Array(Type.Enum(OPERATIONS), { maxItems: OPERATIONS.length, description: 'Connector operations Steward may use on this application; default: every one its connector kind offers.' });

const definitionFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(NullableString(2000)),
  ownerId: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'uuid', description: 'The identity that owns the application.' })),
  connectorKind: Type.String({ minLength: 1, maxLength: 64 }),
  settings: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 200, description: "The connector kind's plain settings." })),
  secrets: Type.Optional(
    Type.Record(Type.String(), Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 16384 }), {
      maxProperties: 50,
      description: "The connector kind's secret settings. Stored encrypted, answered as ********. On update, ******** or leaving one out keeps it; null removes it.",
    }),
  ),
  accountSchema: Type.Optional(Type.Object({ attributes: Type.Array(AttributeSchemaWire, { maxItems: 1000 }) }, closed)),
  capabilities: Type.Optional(Capabilities),
  attributeMappings: Type.Optional(Type.Array(AttributeMappingWire, { maxItems: 200, description: 'Identity attributes that fill account attributes when Steward compiles a plan (Create, and Set when they differ).' })),
  deprovisioningPolicy: Type.Optional(
    Type.Object({ action: Type.Optional(DeprovisioningPolicyWire.properties.action), gracePeriod: Type.Optional(DeprovisioningPolicyWire.properties.gracePeriod) }, closed),
  ),
  adoptionPolicy: Type.Optional(AdoptionPolicyWire),
  remediationPolicy: Type.Optional(RemediationPolicyInput),
};

export const CreateApplicationWire = Type.Object(definitionFields, closed);
export const UpdateApplicationWire = Type.Object({ ...definitionFields, version: Type.Integer({ minimum: 1, description: 'The version last read; a stale one is refused with 409 store.conflict.' }) }, closed);

export const ApplicationWire = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  ownerId: Nullable(Type.String()),
  connectorKind: Type.String(),
  settings: Type.Record(Type.String(), Type.Unknown()),
  secrets: Type.Record(Type.String(), Type.String()),
  accountSchema: Type.Object({ attributes: Type.Array(AttributeSchemaWire) }),
  capabilities: Type.Array(Type.String()),
  attributeMappings: Type.Array(AttributeMappingWire),
  deprovisioningPolicy: DeprovisioningPolicyWire,
  adoptionPolicy: AdoptionPolicyWire,
  remediationPolicy: RemediationPolicyWire,
  version: Type.Integer(),
  createdAt: DateTime,
  updatedAt: DateTime,
});
