// Turning a SCIM body (POST, PUT, or the result of a PATCH) into the canonical resource
// Steward stores: known attributes type-checked and canonically named, server-owned ones
// dropped, unknown ones kept as sent (RFC 7643/7644 let clients send attributes a server
// does not know; Okta and Entra do).
import type { ErrorCode } from '../domain/errors.ts';
import { StewardError } from '../domain/errors.ts';
import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from '../scim/index.ts';
import { SCIM_CODES, scimProblem } from '../scim/index.ts';
import { isPresent } from '../scim/index.ts';
import { coerceAttribute, getAttr, isObject } from '../scim/index.ts';
import type { ResourceSchema, ScimAttribute, ScimSchema } from '../scim/index.ts';
import { findAttribute, findExtension } from '../scim/index.ts';

export type Doc = Record<string, unknown>;

/** A StewardError carrying SCIM problems; `code` defaults to the first problem's SCIM code. */
export function scimError(problems: readonly ScimProblem[], code?: ErrorCode): StewardError {
  const first = problems[0];
  const c = code ?? (first ? SCIM_CODES[first.scimType] : 'request.invalid');
  const message = problems.map((p) => p.message).join('; ') || 'the request is not valid';
  return new StewardError(c, message, { problems: problems.map((p) => ({ ...p })), scimType: first?.scimType ?? 'invalidValue' });
}

/**
 * Reports every string or key PostgreSQL cannot store: a NUL character (text and jsonb
 * refuse it) or a lone UTF-16 surrogate (jsonb refuses its escape).
 */
export function findUnstorableText(v: unknown, field: string, out: ScimProblem[]): void {
  if (out.length >= 20) return;
  const bad = (s: string) => s.includes('\u0000') || !s.isWellFormed();
  if (typeof v === 'string') {
    if (bad(v)) out.push(scimProblem('invalidValue', `${field}: contains a NUL character or a lone surrogate, which cannot be stored`, { field }));
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => findUnstorableText(x, `${field}[${i}]`, out));
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const f = field === '' ? k : `${field}.${k}`;
      if (bad(k)) out.push(scimProblem('invalidValue', `${f}: the attribute name contains a NUL character or a lone surrogate`, { field: f }));
      else findUnstorableText(x, f, out);
    }
  }
}

/** Attributes the server owns: never taken from a body, whatever their case. */
const SERVER_OWNED = new Set(['id', 'meta', 'schemas']);

export interface NormalizeOptions {
  /** Attribute names (core schema) that are accepted and dropped: `password`. */
  discard?: readonly string[];
}

/**
 * Checks a resource body against `rs` and returns it in canonical form: known attributes
 * under their canonical names with values of the right type, null and empty values left
 * out, read-only attributes (`groups`, `id`, `meta`) dropped, unknown attributes kept as
 * sent, and `schemas` naming the core schema and each extension present.
 */
export function normalizeResource(body: unknown, rs: ResourceSchema, options: NormalizeOptions = {}): Result<Doc, ScimProblem> {
  if (!isObject(body)) return fail(scimProblem('invalidSyntax', `the body must be a JSON object holding a ${rs.name} resource`));
  const problems: ScimProblem[] = [];
  findUnstorableText(body, '', problems);
  if (problems.length > 0) return fail(...problems);
  const discard = new Set((options.discard ?? []).map((d) => d.toLowerCase()));
  const out: Doc = {};
  const extensions = new Map<ScimSchema, Doc>();
  const extensionDoc = (ext: ScimSchema): Doc => {
    let d = extensions.get(ext);
    if (!d) extensions.set(ext, (d = {}));
    return d;
  };

  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (SERVER_OWNED.has(lower) || discard.has(lower)) continue;
    const ext = findExtension(rs, key);
    if (ext) {
      if (value === null) continue;
      if (!isObject(value)) {
        problems.push(scimProblem('invalidValue', `${ext.id}: the extension takes an object of its attributes, not ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`, { field: ext.id }));
        continue;
      }
      for (const [k, v] of Object.entries(value)) putAttribute(extensionDoc(ext), ext.attributes, k, v, `${ext.id}:${k}`, problems);
      continue;
    }
    // `urn:…:enterprise:2.0:User:department` sent flat, or a core attribute with its URN.
    const prefixed = splitUrnKey(rs, key);
    if (prefixed) {
      if (prefixed.schema === rs.core) putAttribute(out, rs.core.attributes, prefixed.name, value, key, problems);
      else putAttribute(extensionDoc(prefixed.schema), prefixed.schema.attributes, prefixed.name, value, key, problems);
      continue;
    }
    const def = findAttribute(rs.core.attributes, key) ?? (lower === 'externalid' ? EXTERNAL_ID : undefined);
    if (def) putAttribute(out, [def], key, value, key, problems);
    else if (value !== null) out[key] = value;
  }
  if (problems.length > 0) return fail(...problems);

  const schemas = [rs.core.id];
  for (const { schema } of rs.extensions) {
    const d = extensions.get(schema);
    if (d && Object.keys(d).length > 0) {
      out[schema.id] = d;
      schemas.push(schema.id);
    }
  }
  // Unknown extensions (an Okta or Entra custom schema) are kept and named too.
  for (const [k, v] of Object.entries(out)) if (/^urn:/i.test(k) && isObject(v) && !schemas.includes(k)) schemas.push(k);
  return ok({ schemas, ...out });
}

const EXTERNAL_ID: ScimAttribute = { name: 'externalId', type: 'string', multiValued: false, description: '', required: false, caseExact: true, mutability: 'readWrite', returned: 'default', uniqueness: 'none' };

function splitUrnKey(rs: ResourceSchema, key: string): { schema: ScimSchema; name: string } | undefined {
  if (!/^urn:/i.test(key)) return undefined;
  for (const schema of [rs.core, ...rs.extensions.map((e) => e.schema)]) {
    if (key.length > schema.id.length + 1 && key.slice(0, schema.id.length + 1).toLowerCase() === `${schema.id.toLowerCase()}:`) {
      return { schema, name: key.slice(schema.id.length + 1) };
    }
  }
  return undefined;
}

// Puts one attribute into `into` under its canonical name, if it is known and valid.
function putAttribute(into: Doc, defs: readonly ScimAttribute[], name: string, value: unknown, field: string, problems: ScimProblem[]): void {
  const def = findAttribute(defs, name);
  if (!def) {
    if (value !== null) into[name] = value;
    return;
  }
  // Read-only attributes (a User's `groups`) are the server's; clients echo them back.
  if (def.mutability === 'readOnly') return;
  const c = coerceAttribute(def, value, field);
  if (!c.ok) {
    problems.push(...c.errors);
    return;
  }
  let v = c.value;
  if (Array.isArray(v)) {
    v = v.filter(isPresent);
    const primaries = (v as unknown[]).filter((e) => isObject(e) && getAttr(e, 'primary') === true).length;
    if (primaries > 1) problems.push(scimProblem('invalidValue', `${field}: at most one value may be primary, and ${primaries} are`, { field }));
  }
  if (isPresent(v)) into[def.name] = v;
}
