import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem, ScimType } from './errors.ts';
import { scimProblem } from './errors.ts';

/** The attribute data types of RFC 7643 §2.3. */
export type ScimAttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'binary' | 'reference' | 'complex';

/** One attribute definition, in the shape `/Schemas` serves (RFC 7643 §7). */
export interface ScimAttribute {
  name: string;
  type: ScimAttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: ScimAttribute[];
}

/** A schema: its URN and attributes (RFC 7643 §7). */
export interface ScimSchema {
  id: string;
  name: string;
  description: string;
  attributes: ScimAttribute[];
}

/** A resource type with its core schema and extensions (RFC 7643 §6). */
export interface ResourceSchema {
  id: string;
  name: string;
  endpoint: string;
  description: string;
  core: ScimSchema;
  extensions: { schema: ScimSchema; required: boolean }[];
}

/** Where a path leads: the definitions met on the way and the canonical JSON keys from the resource root. */
export interface ResolvedAttribute {
  attribute: ScimAttribute;
  sub?: ScimAttribute;
  /** Set when the attribute lives in an extension object keyed by this schema's URN. */
  extension?: ScimSchema;
  /** Canonical JSON keys from the resource root, e.g. `['name', 'familyName']` or `[URN, 'manager', 'value']`. */
  keys: string[];
}

/** Builds an attribute definition with RFC 7643 §2.2's defaults for whatever `rest` leaves out. */
export function defineAttribute(name: string, type: ScimAttributeType, rest: Partial<Omit<ScimAttribute, 'name' | 'type'>> = {}): ScimAttribute {
  const { subAttributes, canonicalValues, referenceTypes, ...flags } = rest;
  const a: ScimAttribute = {
    name,
    type,
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...flags,
  };
  if (canonicalValues) a.canonicalValues = canonicalValues;
  if (referenceTypes) a.referenceTypes = referenceTypes;
  if (subAttributes) a.subAttributes = subAttributes;
  return a;
}

const attr = defineAttribute;

/**
 * Attributes every resource has (RFC 7643 §3.1), plus `schemas`, which filters may test
 * (RFC 7644 §3.4.2.2 filters on it) but which no schema lists.
 */
export const COMMON_ATTRIBUTES: readonly ScimAttribute[] = [
  attr('id', 'string', { description: 'Unique identifier assigned by the service provider.', caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  attr('externalId', 'string', { description: "The provisioning client's identifier for the resource.", caseExact: true }),
  attr('schemas', 'reference', { description: 'The schema URNs the resource uses.', multiValued: true, mutability: 'readOnly', returned: 'always', referenceTypes: ['uri'] }),
  attr('meta', 'complex', {
    description: 'Resource metadata.',
    mutability: 'readOnly',
    subAttributes: [
      attr('resourceType', 'string', { description: 'The resource type name.', caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', { description: 'When the resource was added.', mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', { description: 'When the resource last changed.', mutability: 'readOnly' }),
      attr('location', 'reference', { description: 'The URI of the resource.', caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', { description: 'The version (ETag) of the resource.', caseExact: true, mutability: 'readOnly' }),
    ],
  }),
];

const eqi = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Finds an attribute by name, case-insensitively as RFC 7643 §2.1 requires. */
export function findAttribute(list: readonly ScimAttribute[] | undefined, name: string): ScimAttribute | undefined {
  return list?.find((a) => eqi(a.name, name));
}

/** The extension whose URN is `uri`, ignoring case. */
export function findExtension(rs: ResourceSchema, uri: string): ScimSchema | undefined {
  return rs.extensions.find((e) => eqi(e.schema.id, uri))?.schema;
}

/** The extension a path names as a whole (`urn:…:enterprise:2.0:User`), if it does. */
export function extensionNamedBy(rs: ResourceSchema, p: { uri?: string; attribute: string; subAttribute?: string }): ScimSchema | undefined {
  if (p.uri === undefined || p.subAttribute !== undefined) return undefined;
  return findExtension(rs, `${p.uri}:${p.attribute}`);
}

/** Resolves `[uri:]attr[.sub]` against a resource type; unknown names are problems of `scimType`. */
export function resolveAttribute(
  rs: ResourceSchema,
  p: { uri?: string; attribute: string; subAttribute?: string; column?: number },
  scimType: ScimType,
): Result<ResolvedAttribute, ScimProblem> {
  const text = `${p.uri === undefined ? '' : `${p.uri}:`}${p.attribute}${p.subAttribute === undefined ? '' : `.${p.subAttribute}`}`;
  const where = p.column === undefined ? { field: text } : { field: text, column: p.column };
  let attribute: ScimAttribute | undefined;
  let extension: ScimSchema | undefined;
  if (p.uri === undefined || eqi(p.uri, rs.core.id)) {
    attribute = findAttribute(COMMON_ATTRIBUTES, p.attribute) ?? findAttribute(rs.core.attributes, p.attribute);
  } else {
    extension = findExtension(rs, p.uri);
    if (!extension) {
      const known = [rs.core.id, ...rs.extensions.map((e) => e.schema.id)].join(', ');
      return fail(scimProblem(scimType, `unknown schema '${p.uri}' in '${text}'; ${rs.name} resources use ${known}`, where));
    }
    attribute = findAttribute(extension.attributes, p.attribute);
  }
  if (!attribute) {
    const schemaName = extension ? extension.id : `${rs.name}`;
    return fail(scimProblem(scimType, `unknown attribute '${p.attribute}' (the ${schemaName} schema has no such attribute)`, where));
  }
  const keys = extension ? [extension.id, attribute.name] : [attribute.name];
  const resolved: ResolvedAttribute = { attribute, keys };
  if (extension) resolved.extension = extension;
  if (p.subAttribute !== undefined) {
    const sub = findAttribute(attribute.subAttributes, p.subAttribute);
    if (!sub) {
      const msg = attribute.subAttributes
        ? `unknown sub-attribute '${p.subAttribute}' of '${attribute.name}' (it has ${attribute.subAttributes.map((s) => s.name).join(', ')})`
        : `'${attribute.name}' is not complex, so it has no sub-attribute '${p.subAttribute}'`;
      return fail(scimProblem(scimType, msg, where));
    }
    resolved.sub = sub;
    keys.push(sub.name);
  }
  return ok(resolved);
}
