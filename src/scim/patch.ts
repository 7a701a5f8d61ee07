import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem } from './errors.ts';
import { scimProblem } from './errors.ts';
import { bindValueFilter } from './filter-bind.ts';
import { isPresent } from './filter-eval.ts';
import type { PatchPath } from './filter.ts';
import { formatPath, parsePatchPath } from './filter.ts';
import type { ElementTarget } from './patch-multi.ts';
import { addValues, applyToElements, keepOnePrimary, listOf, removeValues } from './patch-multi.ts';
import type { PatchOperation } from './patch-request.ts';
import { parsePatchRequest } from './patch-request.ts';
import { coerceAttribute, coerceSingle, deleteAttr, getAttr, isObject, keyOf, sameJson, setAttr, withoutNulls } from './patch-values.ts';
import type { ResourceSchema, ScimAttribute, ScimSchema } from './schema-model.ts';
import { extensionNamedBy, findExtension, resolveAttribute } from './schema-model.ts';

export interface PatchOptions {
  /** Most operations one request may hold. Default 1,000. */
  maxOperations?: number;
}

type Doc = Record<string, unknown>;
type Op = PatchOperation['op'];

interface Target extends ElementTarget {
  /** The extension whose object holds the attribute; absent for core and common attributes. */
  extension?: ScimSchema;
}

// Problems raised deep inside one operation unwind to applyPatch as this, and become its Result.
class PatchError extends Error {
  readonly problems: ScimProblem[];
  constructor(problems: ScimProblem[]) {
    super(problems[0]?.message);
    this.problems = problems;
  }
}

function check<T>(r: Result<T, ScimProblem>): T {
  if (!r.ok) throw new PatchError(r.errors);
  return r.value;
}

const problem = (...args: Parameters<typeof scimProblem>) => new PatchError([scimProblem(...args)]);

/**
 * Applies a SCIM PatchOp message (RFC 7644 §3.5.2) to a resource of type `rs` and returns
 * the patched copy; the input is never changed. All operations apply or none does.
 * Accepts what Microsoft Entra and Okta send: operation names in any case, a value object
 * without a path (with dotted, filtered or URN-prefixed keys), booleans as "True"/"False",
 * a bare id for `manager`, and group members removed by a `value` list.
 */
export function applyPatch(resource: Record<string, unknown>, body: unknown, rs: ResourceSchema, options: PatchOptions = {}): Result<Record<string, unknown>, ScimProblem> {
  const ops = parsePatchRequest(body, options.maxOperations);
  if (!ops.ok) return ops;
  const doc = structuredClone(resource);
  try {
    for (const op of ops.value) applyOperation(doc, op, rs);
    finish(doc, resource, rs);
  } catch (e) {
    if (e instanceof PatchError) return fail(...e.problems);
    throw e;
  }
  return ok(doc);
}

function applyOperation(doc: Doc, op: PatchOperation, rs: ResourceSchema): void {
  const field = `Operations[${op.index}]`;
  if (op.path === undefined) {
    applyWithoutPath(doc, op.op, op.value, rs, field);
    return;
  }
  const parsed = parsePatchPath(op.path);
  if (!parsed.ok) throw new PatchError(parsed.errors.map((p) => ({ ...p, field: `${field}.path`, message: `${field}.path: ${p.message}` })));
  applyAtPath(doc, op.op, parsed.value, op.value, rs, `${field}.path`, `${field}.value`);
}

// Without a path the value is a set of attributes, each applied as if it were its own path
// (RFC 7644 §3.5.2.1/.3). Keys may be dotted (`name.givenName`), filtered
// (`emails[type eq "work"].value`) or URN-prefixed, and an extension URN key holds an object.
function applyWithoutPath(doc: Doc, op: Op, value: unknown, rs: ResourceSchema, field: string): void {
  if (!isObject(value)) throw problem('invalidValue', `${field}.value: without a "path", "${op}" needs an object of attributes as its value`, { field: `${field}.value` });
  for (const [k, v] of Object.entries(value)) {
    const keyField = `${field}.value.${k}`;
    // `schemas` and `meta` are the server's; clients echo them back.
    if (k.toLowerCase() === 'schemas' || k.toLowerCase() === 'meta') continue;
    if (k.toLowerCase() === rs.core.id.toLowerCase() && isObject(v)) {
      applyWithoutPath(doc, op, v, rs, field);
      continue;
    }
    const ext = findExtension(rs, k);
    if (ext) {
      if (v === null) {
        deleteAttr(doc, ext.id);
        continue;
      }
      if (!isObject(v)) throw problem('invalidValue', `${keyField}: the ${ext.id} extension takes an object of its attributes`, { field: keyField });
      for (const [k2, v2] of Object.entries(v)) {
        const parsedInner = parsePatchPath(k2);
        if (!parsedInner.ok) throw new PatchError(parsedInner.errors.map((p) => ({ ...p, field: `${keyField}.${k2}`, message: `${keyField}.${k2}: ${p.message}` })));
        const inner = parsedInner.value;
        if (inner.uri !== undefined) throw problem('invalidPath', `${keyField}.${k2}: name an attribute of the extension, without a URN`, { field: `${keyField}.${k2}` });
        inner.uri = ext.id;
        applyAtPath(doc, op, inner, v2, rs, `${keyField}.${k2}`, `${keyField}.${k2}`, true);
      }
      continue;
    }
    const parsed = parsePatchPath(k);
    if (!parsed.ok) throw new PatchError(parsed.errors.map((p) => ({ ...p, field: keyField, message: `${keyField}: ${p.message}` })));
    applyAtPath(doc, op, parsed.value, v, rs, keyField, keyField, true);
  }
}

function resolveTarget(path: PatchPath, rs: ResourceSchema, field: string): Target {
  const text = formatPath(path) + (path.filter ? '[…]' : '') + (path.valueSubAttribute ? `.${path.valueSubAttribute}` : '');
  const resolved = resolveAttribute(rs, path, 'invalidPath');
  if (!resolved.ok) throw new PatchError(resolved.errors.map((p) => ({ ...p, field, message: `${field}: ${p.message}` })));
  const { attribute, sub, extension } = resolved.value;
  const t: Target = { attr: attribute, text };
  if (extension) t.extension = extension;
  if (sub) t.sub = sub;
  if (path.filter) {
    if (!attribute.multiValued || attribute.type !== 'complex') {
      throw problem('invalidPath', `${field}: '${attribute.name}' is not a multi-valued complex attribute, so it takes no filter '[…]'`, { field });
    }
    const bound = bindValueFilter(path.filter, attribute, rs);
    if (!bound.ok) throw new PatchError(bound.errors.map((p) => ({ ...p, code: 'scim.invalid_path', scimType: 'invalidPath' as const, field, message: `${field}: ${p.message}` })));
    t.filter = bound.value;
    if (path.valueSubAttribute !== undefined) {
      const vs = attribute.subAttributes?.find((s) => s.name.toLowerCase() === path.valueSubAttribute!.toLowerCase());
      if (!vs) throw problem('invalidPath', `${field}: unknown sub-attribute '${path.valueSubAttribute}' of '${attribute.name}'`, { field });
      t.sub = vs;
    }
  }
  for (const d of [attribute, t.sub]) {
    if (d?.mutability === 'readOnly') throw problem('mutability', `${field}: '${text}' is read-only; the server sets it`, { field });
  }
  return t;
}

function applyAtPath(doc: Doc, op: Op, path: PatchPath, value: unknown, rs: ResourceSchema, pathField: string, valueField: string, fromValueObject = false): void {
  const ext = path.filter ? undefined : extensionNamedBy(rs, path);
  if (ext) {
    if (op === 'remove' || value === null) deleteAttr(doc, ext.id);
    else applyWithoutPath(doc, op, { [ext.id]: value }, rs, valueField.replace(/\.value$/, ''));
    return;
  }
  if (fromValueObject) {
    // An echoed read-only attribute (Okta sends the group's own id when renaming) is ignored if unchanged.
    const r = resolveAttribute(rs, path, 'invalidPath');
    if (r.ok && !path.filter && r.value.attribute.mutability === 'readOnly') {
      const current = r.value.keys.reduce<unknown>((o, k) => (isObject(o) ? getAttr(o, k) : undefined), doc);
      if (sameJson(current, value)) return;
    }
  }
  const t = resolveTarget(path, rs, pathField);
  const holder = containerOf(doc, t, op !== 'remove');
  if (!holder) return;
  const touched = new Set<unknown>();
  const a = t.attr;
  if (!a.multiValued) {
    applySingle(holder, op, t, value, valueField);
  } else if (!t.filter && !t.sub) {
    const list = listOf(getAttr(holder, a.name));
    let next: unknown[];
    if (op === 'remove') next = value === undefined || value === null ? [] : check(removeValues(a, list, value, valueField));
    else {
      const items = check(coerceAttribute(a, value, valueField));
      // Adding null or [] adds nothing; replacing with it unassigns (RFC 7643 §2.5).
      if (items === null) next = op === 'add' ? list : [];
      // A replacing list that names an entry twice keeps it once, as add would.
      else next = addValues(a, op === 'add' ? list : [], items as unknown[], touched);
    }
    writeList(holder, a, next, touched);
  } else {
    writeList(holder, a, check(applyToElements(op, t, listOf(getAttr(holder, a.name)), value, valueField, touched)), touched);
  }
  if (t.extension && isObject(holder) && Object.keys(holder).length === 0) deleteAttr(doc, t.extension.id);
}

function writeList(holder: Doc, a: ScimAttribute, list: unknown[], touched: Set<unknown>): void {
  if (list.length === 0) deleteAttr(holder, a.name);
  else setAttr(holder, a.name, a.type === 'complex' ? keepOnePrimary(list, touched) : list);
}

function containerOf(doc: Doc, t: Target, create: boolean): Doc | undefined {
  if (!t.extension) return doc;
  const existing = getAttr(doc, t.extension.id);
  if (isObject(existing)) {
    const copy = { ...existing };
    setAttr(doc, t.extension.id, copy);
    return copy;
  }
  if (!create) return undefined;
  const fresh: Doc = {};
  setAttr(doc, t.extension.id, fresh);
  return fresh;
}

function applySingle(holder: Doc, op: Op, t: Target, value: unknown, field: string): void {
  const a = t.attr;
  const current = getAttr(holder, a.name);
  if (t.sub) {
    // name.givenName, manager.value
    const obj = isObject(current) ? { ...current } : {};
    const v = op === 'remove' ? null : check(coerceSingle(t.sub, value, field));
    if (t.sub.mutability === 'immutable' && getAttr(obj, t.sub.name) !== undefined && !sameJson(getAttr(obj, t.sub.name), v)) {
      throw problem('mutability', `${field}: '${t.text}' is immutable and already set`, { field });
    }
    if (v === null) deleteAttr(obj, t.sub.name);
    else setAttr(obj, t.sub.name, v);
    if (Object.keys(obj).length === 0) deleteAttr(holder, a.name);
    else setAttr(holder, a.name, obj);
    return;
  }
  const v = op === 'remove' ? null : check(coerceSingle(a, value, field));
  if (a.mutability === 'immutable' && current !== undefined && current !== null && !sameJson(current, v)) {
    throw problem('mutability', `${field}: '${t.text}' is immutable and already set`, { field });
  }
  if (v === null) {
    deleteAttr(holder, a.name);
    return;
  }
  if (a.type === 'complex' && isObject(v)) {
    // RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged, for add and replace alike.
    const merged = isObject(current) ? { ...current } : {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null) deleteAttr(merged, k);
      else setAttr(merged, k, x);
    }
    if (Object.keys(merged).length === 0) deleteAttr(holder, a.name);
    else setAttr(holder, a.name, merged);
    return;
  }
  setAttr(holder, a.name, withoutNulls(v));
}

// After all operations: required attributes still there, and `schemas` naming exactly the
// extensions the resource now has.
function finish(doc: Doc, before: Doc, rs: ResourceSchema): void {
  for (const a of rs.core.attributes) {
    if (a.required && isPresent(getAttr(before, a.name)) && !isPresent(getAttr(doc, a.name))) {
      throw problem('invalidValue', `'${a.name}' is required; the patch would leave it unassigned`, { field: a.name });
    }
  }
  const schemasKey = keyOf(doc, 'schemas');
  const schemas = schemasKey === undefined ? [rs.core.id] : listOf(doc[schemasKey]).filter((s): s is string => typeof s === 'string');
  let next = schemas.filter((s) => {
    const ext = findExtension(rs, s);
    return !ext || isPresent(getAttr(doc, ext.id));
  });
  for (const { schema } of rs.extensions) {
    if (isPresent(getAttr(doc, schema.id)) && !next.some((s) => s.toLowerCase() === schema.id.toLowerCase())) next = [...next, schema.id];
  }
  if (!next.some((s) => s.toLowerCase() === rs.core.id.toLowerCase())) next = [rs.core.id, ...next];
  setAttr(doc, 'schemas', next);
}
