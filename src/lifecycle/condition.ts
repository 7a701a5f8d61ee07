/**
 * The condition language of birthright rules and dynamic groups: a small boolean
 * expression over an identity's attributes, parsed and type-checked when the rule is
 * saved, then compiled to a plain function (no `eval`). Every problem names its line and
 * column. The grammar and the attributes are in docs/lifecycle.md.
 *
 *   department == "Sales" and location in ["Paris", "Lyon"] and not ("Contractors" in groups)
 */
import { fail, ok, type Problem, type Result } from '../domain/result.ts';

export type ValueType = 'string' | 'boolean' | 'list';

/** The attributes a condition may name, with their types. */
export const CONDITION_ATTRIBUTES: Record<string, { type: ValueType; doc: string }> = {
  userName: { type: 'string', doc: 'the userName' },
  displayName: { type: 'string', doc: 'the display name' },
  email: { type: 'string', doc: 'the primary email' },
  title: { type: 'string', doc: 'the job title' },
  department: { type: 'string', doc: 'enterprise extension department' },
  employeeNumber: { type: 'string', doc: 'enterprise extension employeeNumber' },
  costCenter: { type: 'string', doc: 'enterprise extension costCenter' },
  organization: { type: 'string', doc: 'enterprise extension organization' },
  division: { type: 'string', doc: 'enterprise extension division' },
  userType: { type: 'string', doc: 'SCIM userType (often the job code)' },
  location: { type: 'string', doc: 'locality of the primary (else first) address' },
  country: { type: 'string', doc: 'country of the primary (else first) address' },
  kind: { type: 'string', doc: 'employee, contractor, vendor or service' },
  status: { type: 'string', doc: 'lifecycle status: active, suspended or terminated' },
  active: { type: 'boolean', doc: 'the SCIM active flag' },
  groups: { type: 'list', doc: 'display names of the groups the identity belongs to' },
};

export type Facts = Record<string, string | boolean | null | readonly string[]>;

type Literal = { t: 'lit'; value: string | number | boolean | null; pos: number } | { t: 'list'; items: string[]; pos: number };
type Node =
  | Literal
  | { t: 'attr'; name: string; pos: number }
  | { t: 'not'; e: Node; pos: number }
  | { t: 'and' | 'or'; l: Node; r: Node; pos: number }
  | { t: 'cmp'; op: CmpOp; l: Node; r: Node; pos: number };

const CMP_OPS = ['==', '!=', '<', '<=', '>', '>=', 'in', 'contains', 'startsWith', 'endsWith'] as const;
type CmpOp = (typeof CMP_OPS)[number];

interface Token {
  k: 'ident' | 'string' | 'number' | 'punct' | 'end';
  v: string;
  pos: number;
}

/** A parsed, checked condition: its source, the attributes it reads, and its test. */
export interface Condition {
  source: string;
  attributes: ReadonlySet<string>;
  test(facts: Facts): boolean;
}

export const MAX_CONDITION_LENGTH = 4000;
const MAX_DEPTH = 64;

class ParseError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

function lineCol(src: string, pos: number): { line: number; column: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < src.length; i++) {
    if (src[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}

function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ParseError('unterminated string', start);
        const d = src[i]!;
        if (d === c) break;
        if (d === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw new ParseError('unterminated string', start);
          if (e === 'n') v += '\n';
          else if (e === 't') v += '\t';
          else if (e === '\\' || e === '"' || e === "'") v += e;
          else throw new ParseError(`unknown escape \\${e}`, i);
          i += 2;
          continue;
        }
        if (d === '\n') throw new ParseError('unterminated string', start);
        v += d;
        i++;
      }
      i++;
      out.push({ k: 'string', v, pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      i++;
      while (i < src.length && /[0-9.]/.test(src[i]!)) i++;
      out.push({ k: 'number', v: src.slice(start, i), pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) i++;
      out.push({ k: 'ident', v: src.slice(start, i), pos: start });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      out.push({ k: 'punct', v: two, pos: start });
      i += 2;
      continue;
    }
    if ('()[],<>!'.includes(c)) {
      out.push({ k: 'punct', v: c, pos: start });
      i++;
      continue;
    }
    if (c === '=') throw new ParseError("'=' is not an operator: compare with '=='", start);
    throw new ParseError(`unexpected character ${JSON.stringify(c)}`, start);
  }
  out.push({ k: 'end', v: '', pos: src.length });
  return out;
}

function parse(src: string): Node {
  const toks = lex(src);
  let p = 0;
  let depth = 0;
  const peek = () => toks[p]!;
  const describe = (t: Token) => (t.k === 'end' ? 'the end of the condition' : t.k === 'string' ? `the string ${JSON.stringify(t.v)}` : `'${t.v}'`);
  const isWord = (t: Token, w: string) => t.k === 'ident' && t.v === w;
  const expect = (v: string) => {
    const t = peek();
    if (t.k !== 'punct' || t.v !== v) throw new ParseError(`expected '${v}' but found ${describe(t)}`, t.pos);
    p++;
  };
  const enter = (pos: number) => {
    if (++depth > MAX_DEPTH) throw new ParseError(`nested more than ${MAX_DEPTH} deep`, pos);
  };

  function orExpr(): Node {
    let l = andExpr();
    for (;;) {
      const t = peek();
      if (!(isWord(t, 'or') || (t.k === 'punct' && t.v === '||'))) return l;
      p++;
      l = { t: 'or', l, r: andExpr(), pos: t.pos };
    }
  }
  function andExpr(): Node {
    let l = unary();
    for (;;) {
      const t = peek();
      if (!(isWord(t, 'and') || (t.k === 'punct' && t.v === '&&'))) return l;
      p++;
      l = { t: 'and', l, r: unary(), pos: t.pos };
    }
  }
  function unary(): Node {
    const t = peek();
    if (isWord(t, 'not') || (t.k === 'punct' && t.v === '!')) {
      p++;
      enter(t.pos);
      const e = unary();
      depth--;
      return { t: 'not', e, pos: t.pos };
    }
    return comparison();
  }
  function comparison(): Node {
    const l = operand();
    const t = peek();
    const op = (CMP_OPS as readonly string[]).includes(t.v) && (t.k === 'punct' || t.k === 'ident') ? (t.v as CmpOp) : undefined;
    if (!op) return l;
    p++;
    return { t: 'cmp', op, l, r: operand(), pos: t.pos };
  }
  function operand(): Node {
    const t = peek();
    if (t.k === 'punct' && t.v === '(') {
      p++;
      enter(t.pos);
      const e = orExpr();
      depth--;
      expect(')');
      return e;
    }
    if (t.k === 'punct' && t.v === '[') {
      p++;
      const items: string[] = [];
      if (!(peek().k === 'punct' && peek().v === ']')) {
        for (;;) {
          const it = peek();
          if (it.k !== 'string') throw new ParseError(`a list holds strings only; found ${describe(it)}`, it.pos);
          items.push(it.v);
          p++;
          if (peek().k === 'punct' && peek().v === ',') {
            p++;
            continue;
          }
          break;
        }
      }
      expect(']');
      return { t: 'list', items, pos: t.pos };
    }
    if (t.k === 'string') {
      p++;
      return { t: 'lit', value: t.v, pos: t.pos };
    }
    if (t.k === 'number') {
      p++;
      const n = Number(t.v);
      if (!Number.isFinite(n)) throw new ParseError(`'${t.v}' is not a number`, t.pos);
      return { t: 'lit', value: n, pos: t.pos };
    }
    if (t.k === 'ident') {
      if (['and', 'or', 'not', ...CMP_OPS].includes(t.v)) throw new ParseError(`expected an attribute or a value but found ${describe(t)}`, t.pos);
      p++;
      if (t.v === 'true' || t.v === 'false') return { t: 'lit', value: t.v === 'true', pos: t.pos };
      if (t.v === 'null') return { t: 'lit', value: null, pos: t.pos };
      return { t: 'attr', name: t.v, pos: t.pos };
    }
    throw new ParseError(`expected an attribute or a value but found ${describe(t)}`, t.pos);
  }

  const root = orExpr();
  const rest = peek();
  if (rest.k !== 'end') throw new ParseError(`expected 'and', 'or' or the end of the condition but found ${describe(rest)}`, rest.pos);
  return root;
}

type TypeOf = ValueType | 'number' | 'null';

function typeCheck(n: Node, attrs: Set<string>, errors: { message: string; pos: number }[]): TypeOf | undefined {
  switch (n.t) {
    case 'lit':
      return n.value === null ? 'null' : typeof n.value === 'string' ? 'string' : typeof n.value === 'number' ? 'number' : 'boolean';
    case 'list':
      return 'list';
    case 'attr': {
      const a = CONDITION_ATTRIBUTES[n.name];
      if (!a) {
        errors.push({ message: `unknown attribute '${n.name}' (known: ${Object.keys(CONDITION_ATTRIBUTES).join(', ')})`, pos: n.pos });
        return undefined;
      }
      attrs.add(n.name);
      return a.type;
    }
    case 'not': {
      const t = typeCheck(n.e, attrs, errors);
      if (t !== undefined && t !== 'boolean') errors.push({ message: `'not' needs a boolean, not a ${t}`, pos: n.pos });
      return 'boolean';
    }
    case 'and':
    case 'or': {
      for (const side of [n.l, n.r]) {
        const t = typeCheck(side, attrs, errors);
        if (t !== undefined && t !== 'boolean') errors.push({ message: `'${n.t}' needs a boolean on each side, not a ${t}`, pos: side.pos });
      }
      return 'boolean';
    }
    case 'cmp': {
      const l = typeCheck(n.l, attrs, errors);
      const r = typeCheck(n.r, attrs, errors);
      if (l === undefined || r === undefined) return 'boolean';
      const bad = (why: string) => errors.push({ message: `'${n.op}' ${why} (found ${l} ${n.op} ${r})`, pos: n.pos });
      if (l === 'number' || r === 'number') {
        bad('compares strings and booleans: attributes hold text, so quote the number');
        return 'boolean';
      }
      switch (n.op) {
        case '==':
        case '!=':
          if (!(l === r && (l === 'string' || l === 'boolean')) && !(l === 'null' && r !== 'list') && !(r === 'null' && l !== 'list')) bad('needs two strings, two booleans, or null on one side');
          break;
        case '<':
        case '<=':
        case '>':
        case '>=':
          if (l !== 'string' || r !== 'string') bad('needs two strings');
          break;
        case 'in':
          if (l !== 'string' || r !== 'list') bad('needs a string on the left and a list on the right');
          break;
        case 'contains':
          if (!((l === 'string' || l === 'list') && r === 'string')) bad('needs a string or a list on the left and a string on the right');
          break;
        case 'startsWith':
        case 'endsWith':
          if (l !== 'string' || r !== 'string') bad('needs two strings');
          break;
        default: {
          const never: never = n.op;
          throw new Error(`unknown operator ${String(never)}`);
        }
      }
      return 'boolean';
    }
    default: {
      const never: never = n;
      throw new Error(`unknown node ${JSON.stringify(never)}`);
    }
  }
}

type Val = string | boolean | null | readonly string[] | number;
type Fn = (f: Facts) => Val;

function compile(n: Node): Fn {
  switch (n.t) {
    case 'lit': {
      const v = n.value;
      return () => v;
    }
    case 'list': {
      const v = n.items;
      return () => v;
    }
    case 'attr': {
      const name = n.name;
      return (f) => f[name] ?? null;
    }
    case 'not': {
      const e = compile(n.e);
      return (f) => e(f) !== true;
    }
    case 'and': {
      const l = compile(n.l);
      const r = compile(n.r);
      return (f) => l(f) === true && r(f) === true;
    }
    case 'or': {
      const l = compile(n.l);
      const r = compile(n.r);
      return (f) => l(f) === true || r(f) === true;
    }
    case 'cmp': {
      const l = compile(n.l);
      const r = compile(n.r);
      const str = (v: Val): v is string => typeof v === 'string';
      switch (n.op) {
        case '==':
          return (f) => l(f) === r(f);
        case '!=':
          return (f) => l(f) !== r(f);
        case '<':
          return (f) => { const a = l(f), b = r(f); return str(a) && str(b) && a < b; };
        case '<=':
          return (f) => { const a = l(f), b = r(f); return str(a) && str(b) && a <= b; };
        case '>':
          return (f) => { const a = l(f), b = r(f); return str(a) && str(b) && a > b; };
        case '>=':
          return (f) => { const a = l(f), b = r(f); return str(a) && str(b) && a >= b; };
        case 'in': {
          // A literal list is a set, looked up in constant time.
          if (n.r.t === 'list') {
            const set = new Set(n.r.items);
            return (f) => { const a = l(f); return str(a) && set.has(a); };
          }
          return (f) => { const a = l(f), b = r(f); return str(a) && Array.isArray(b) && (b as readonly string[]).includes(a); };
        }
        case 'contains':
          return (f) => {
            const a = l(f), b = r(f);
            if (!str(b)) return false;
            return Array.isArray(a) ? (a as readonly string[]).includes(b) : str(a) && a.includes(b);
          };
        case 'startsWith':
          return (f) => { const a = l(f), b = r(f); return str(a) && str(b) && a.startsWith(b); };
        case 'endsWith':
          return (f) => { const a = l(f), b = r(f); return str(a) && str(b) && a.endsWith(b); };
        default: {
          const never: never = n.op;
          throw new Error(`unknown operator ${String(never)}`);
        }
      }
    }
    default: {
      const never: never = n;
      throw new Error(`unknown node ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Parses and checks a condition: syntax, attribute names and operand types. Each problem
 * carries `field`, `line` and `column` (1-based) and says what was expected.
 */
export function parseCondition(source: unknown, field = 'condition'): Result<Condition> {
  const problem = (message: string, pos: number): Problem => ({ code: 'rule.invalid_condition', field, message, ...(typeof source === 'string' ? lineCol(source, pos) : {}) });
  if (typeof source !== 'string') return fail(problem('must be a string', 0));
  if (source.trim() === '') return fail(problem('is empty: write a condition such as department == "Sales", or true for everyone', 0));
  if (source.length > MAX_CONDITION_LENGTH) return fail(problem(`is longer than ${MAX_CONDITION_LENGTH} characters`, 0));
  let root: Node;
  try {
    root = parse(source);
  } catch (e) {
    if (e instanceof ParseError) return fail(problem(e.message, e.pos));
    throw e;
  }
  const attrs = new Set<string>();
  const errors: { message: string; pos: number }[] = [];
  const t = typeCheck(root, attrs, errors);
  if (errors.length === 0 && t !== undefined && t !== 'boolean') errors.push({ message: `a condition must be true or false, but this is a ${t}`, pos: root.pos });
  if (errors.length > 0) return fail(...errors.sort((a, b) => a.pos - b.pos).map((e) => problem(e.message, e.pos)));
  const fn = compile(root);
  return ok({ source, attributes: attrs, test: (f) => fn(f) === true });
}
