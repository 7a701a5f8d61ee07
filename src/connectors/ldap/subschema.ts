/**
 * Reading an LDAP subschema (RFC 4512 §4.1): objectClass and attributeType descriptions,
 * and from them the account attributes of a set of object classes.
 */
import type { Problem, Result } from '../../domain/result.ts';
import { fail, ok } from '../../domain/result.ts';
import type { AttributeSchema, AttributeType } from '../../domain/schema.ts';

/** One description: its OID, and each keyword's values (flags have none). */
export interface Definition {
  oid: string;
  fields: Map<string, string[]>;
}

function tokens(text: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
    else if (c === '(' || c === ')' || c === '$') {
      out.push(c);
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      out.push(text.slice(i, end + 1));
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !' \t\n\r()$\''.includes(text[j]!)) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** Keywords followed by a value or a list; the others (SINGLE-VALUE, STRUCTURAL…) are flags. */
const VALUED = new Set(['NAME', 'DESC', 'SUP', 'MUST', 'MAY', 'EQUALITY', 'ORDERING', 'SUBSTR', 'SYNTAX', 'USAGE']);

const unquote = (t: string): string => (t.startsWith("'") ? t.slice(1, -1) : t);

/** Parses one RFC 4512 description, e.g. `( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )`. */
export function parseDefinition(text: string): Result<Definition> {
  const problem = (message: string): Result<never> => fail<Problem>({ code: 'ldap.bad_schema_definition', message: `${message}: ${text.slice(0, 120)}` });
  const t = tokens(text);
  if (t === null) return problem('unterminated quoted string');
  if (t[0] !== '(' || t[t.length - 1] !== ')' || t.length < 3) return problem('not a parenthesised description');
  let depth = 0;
  for (let k = 0; k < t.length; k++) {
    depth += t[k] === '(' ? 1 : t[k] === ')' ? -1 : 0;
    if (depth < 0 || depth > 2 || (depth === 0 && k < t.length - 1)) return problem('unbalanced parentheses');
  }
  if (depth !== 0) return problem('unbalanced parentheses');
  const oid = t[1]!;
  const fields = new Map<string, string[]>();
  let i = 2;
  while (i < t.length - 1) {
    const key = t[i++]!.toUpperCase();
    const values: string[] = [];
    if (VALUED.has(key) || key.startsWith('X-')) {
      if (t[i] === '(') {
        i++;
        while (i < t.length - 1 && t[i] !== ')') {
          if (t[i] !== '$') values.push(unquote(t[i]!));
          i++;
        }
        if (t[i] !== ')') return problem(`unclosed list after ${key}`);
        i++;
      } else if (i < t.length - 1) {
        values.push(unquote(t[i++]!));
      } else {
        return problem(`${key} has no value`);
      }
    }
    fields.set(key, values);
  }
  return ok({ oid, fields });
}

export interface AttributeTypeInfo {
  names: string[];
  syntax?: string;
  singleValue: boolean;
  noUserModification: boolean;
  operational: boolean;
  sup?: string;
}

export interface ObjectClassInfo {
  names: string[];
  sup: string[];
  must: string[];
  may: string[];
}

export interface Subschema {
  attributes: Map<string, AttributeTypeInfo>;
  objectClasses: Map<string, ObjectClassInfo>;
}

/** Builds the subschema from the server's `attributeTypes` and `objectClasses` values; unreadable ones are reported, the rest kept. */
export function parseSubschema(attributeTypeTexts: string[], objectClassTexts: string[]): { schema: Subschema; problems: Problem[] } {
  const problems: Problem[] = [];
  const attributes = new Map<string, AttributeTypeInfo>();
  for (const text of attributeTypeTexts) {
    const r = parseDefinition(text);
    if (!r.ok) {
      problems.push(...r.errors);
      continue;
    }
    const f = r.value.fields;
    const info: AttributeTypeInfo = {
      names: f.get('NAME') ?? [r.value.oid],
      ...(f.get('SYNTAX')?.[0] === undefined ? {} : { syntax: f.get('SYNTAX')![0]!.replace(/\{\d+\}$/, '') }),
      singleValue: f.has('SINGLE-VALUE'),
      noUserModification: f.has('NO-USER-MODIFICATION'),
      operational: (f.get('USAGE')?.[0] ?? 'userApplications') !== 'userApplications',
      ...(f.get('SUP')?.[0] === undefined ? {} : { sup: f.get('SUP')![0]! }),
    };
    for (const n of [...info.names, r.value.oid]) attributes.set(n.toLowerCase(), info);
  }
  const objectClasses = new Map<string, ObjectClassInfo>();
  for (const text of objectClassTexts) {
    const r = parseDefinition(text);
    if (!r.ok) {
      problems.push(...r.errors);
      continue;
    }
    const f = r.value.fields;
    const info: ObjectClassInfo = { names: f.get('NAME') ?? [r.value.oid], sup: f.get('SUP') ?? [], must: f.get('MUST') ?? [], may: f.get('MAY') ?? [] };
    for (const n of [...info.names, r.value.oid]) objectClasses.set(n.toLowerCase(), info);
  }
  return { schema: { attributes, objectClasses }, problems };
}

const SYNTAX = '1.3.6.1.4.1.1466.115.121.1.';
/** Syntaxes whose values are bytes, not text: left out of the account schema. */
const BINARY = new Set(['5', '8', '9', '10', '28', '40', '49'].map((n) => SYNTAX + n));

function syntaxOf(schema: Subschema, info: AttributeTypeInfo, depth = 0): string | undefined {
  if (info.syntax !== undefined || info.sup === undefined || depth > 10) return info.syntax;
  const sup = schema.attributes.get(info.sup.toLowerCase());
  return sup === undefined ? undefined : syntaxOf(schema, sup, depth + 1);
}

function typeOf(syntax: string | undefined): AttributeType {
  switch (syntax ?? '') {
    case `${SYNTAX}27`:
      return 'integer';
    case `${SYNTAX}7`:
      return 'boolean';
    case `${SYNTAX}24`:
      return 'date';
    default:
      return 'string';
  }
}

/** Whether an attribute holds bytes rather than text. */
export function isBinary(schema: Subschema, name: string): boolean {
  const info = schema.attributes.get(name.toLowerCase());
  if (info === undefined) return false;
  const syntax = syntaxOf(schema, info);
  return syntax !== undefined && BINARY.has(syntax);
}

/**
 * The attributes an entry of these object classes may have (their superclasses included),
 * with the names the schema gives them; operational, read-only and binary attributes, and
 * `objectClass` and `userPassword`, are left out.
 */
export function accountAttributesOf(schema: Subschema, classes: string[]): AttributeSchema[] {
  const must = new Set<string>();
  const may = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const key = name.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    const oc = schema.objectClasses.get(key);
    if (oc === undefined) return;
    for (const a of oc.must) must.add(a.toLowerCase());
    for (const a of oc.may) may.add(a.toLowerCase());
    for (const s of oc.sup) visit(s);
  };
  for (const c of classes) visit(c);
  const out: AttributeSchema[] = [];
  const done = new Set<AttributeTypeInfo>();
  for (const key of [...must, ...may]) {
    if (key === 'objectclass' || key === 'userpassword') continue;
    const info = schema.attributes.get(key);
    if (info === undefined || done.has(info) || info.operational || info.noUserModification) continue;
    done.add(info);
    const syntax = syntaxOf(schema, info);
    if (syntax !== undefined && BINARY.has(syntax)) continue;
    out.push({ name: info.names[0]!, type: typeOf(syntax), multiValued: !info.singleValue, ...(must.has(key) ? { required: true } : {}) });
  }
  return out;
}
