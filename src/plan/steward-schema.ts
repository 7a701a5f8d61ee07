import type { AccountSchema, AttributeSchema } from '../domain/schema.ts';
import { isStewardApplication } from './model.ts';

/**
 * Steward's own application (name `Steward`, alias `IIQ`): requests to it change the
 * identity itself. Its schema is built in: the roles assigned to the identity, and the
 * identity attributes a plan may set.
 */
export const STEWARD_ACCOUNT_SCHEMA: AccountSchema = {
  attributes: [
    { name: 'assignedRoles', type: 'string', multiValued: true, entitlementKind: 'role', description: 'Roles assigned to the identity (by name).' },
    { name: 'userName', type: 'string', multiValued: false, description: 'The unique login name.' },
    { name: 'displayName', type: 'string', multiValued: false },
    { name: 'givenName', type: 'string', multiValued: false },
    { name: 'familyName', type: 'string', multiValued: false },
    { name: 'email', type: 'string', multiValued: false },
    { name: 'employeeNumber', type: 'string', multiValued: false },
    { name: 'department', type: 'string', multiValued: false },
    { name: 'title', type: 'string', multiValued: false },
    { name: 'location', type: 'string', multiValued: false },
    { name: 'manager', type: 'string', multiValued: false, description: "The manager's userName or identity id." },
    { name: 'lifecycleStatus', type: 'string', multiValued: false, description: 'e.g. active, leaver.' },
    { name: 'startDate', type: 'date', multiValued: false },
    { name: 'endDate', type: 'date', multiValued: false },
  ],
};

/** Account schemas by application name. */
export type AccountSchemas = ReadonlyMap<string, AccountSchema>;

/**
 * The schema for an application: the one given, or for Steward (and its alias `IIQ`) the
 * built-in schema unless `Steward` is given explicitly.
 */
export function schemaFor(application: string, schemas: AccountSchemas): AccountSchema | undefined {
  if (isStewardApplication(application)) return schemas.get('Steward') ?? STEWARD_ACCOUNT_SCHEMA;
  return schemas.get(application);
}

const indexes = new WeakMap<AccountSchema, Map<string, AttributeSchema>>();

/** The schema of one attribute by name (indexed once per schema object). */
export function attributeSchema(schema: AccountSchema, name: string): AttributeSchema | undefined {
  let index = indexes.get(schema);
  if (index === undefined) {
    index = new Map(schema.attributes.map((a) => [a.name, a]));
    indexes.set(schema, index);
  }
  return index.get(name);
}
