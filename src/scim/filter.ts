import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem, ScimType } from './errors.ts';
import { scimProblem } from './errors.ts';
import type { Token } from './filter-lexer.ts';
import { describeChar, tokenize } from './filter-lexer.ts';

/** An attribute reference: `[uri:]attribute[.subAttribute]`, as written (not yet resolved). */
export interface AttributePath {
  /** Schema URN prefix as written, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
  uri?: string;
  attribute: string;
  subAttribute?: string;
  /** 1-based column where the path starts in the text it came from. */
  column: number;
}

export const COMPARE_OPERATORS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const;
export type CompareOperator = (typeof COMPARE_OPERATORS)[number];
export type FilterValue = string | number | boolean | null;

/** A parsed SCIM filter (RFC 7644 §3.4.2.2). `and`/`or` are n-ary so long chains stay shallow. */
export type FilterNode =
  | { kind: 'compare'; path: AttributePath; op: CompareOperator; value: FilterValue }
  | { kind: 'present'; path: AttributePath }
  | { kind: 'and'; filters: FilterNode[] }
  | { kind: 'or'; filters: FilterNode[] }
  | { kind: 'not'; filter: FilterNode }
  /** `emails[type eq "work"]`: some value of the multi-valued `path` satisfies `filter`, whose paths are relative to it. */
  | { kind: 'valuePath'; path: AttributePath; filter: FilterNode };

/** A PATCH target (RFC 7644 §3.5.2): `attrPath`, or `valuePath` optionally followed by `.subAttr`. */
export interface PatchPath extends AttributePath {
  /** The value selection filter of `emails[type eq "work"]`, relative to the attribute. */
  filter?: FilterNode;
  /** For a value path, the sub-attribute after the brackets: `emails[…].value`. */
  valueSubAttribute?: string;
}

export interface FilterOptions {
  /** Longest filter text accepted, in characters. Default 4,096. */
  maxLength?: number;
  /** Deepest nesting of `(`, `not (` and `[` accepted. Default 32. */
  maxDepth?: number;
}

export const DEFAULT_MAX_FILTER_LENGTH = 4096;
export const DEFAULT_MAX_FILTER_DEPTH = 32;

const ATTRNAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

/** Writes a path back as SCIM text, for messages and `field`. */
export function formatPath(p: AttributePath): string {
  return `${p.uri === undefined ? '' : `${p.uri}:`}${p.attribute}${p.subAttribute === undefined ? '' : `.${p.subAttribute}`}`;
}

/** Parses a filter; on failure the one problem names what was expected and the 1-based column. */
export function parseFilter(text: string, options: FilterOptions = {}): Result<FilterNode, ScimProblem> {
  const limit = checkLength(text, options.maxLength ?? DEFAULT_MAX_FILTER_LENGTH, 'invalidFilter', 'filter');
  if (limit) return fail(limit);
  const tokens = tokenize(text, 'invalidFilter');
  if (!tokens.ok) return tokens;
  try {
    const parser = new Parser(tokens.value, options.maxDepth ?? DEFAULT_MAX_FILTER_DEPTH, 'invalidFilter');
    if (parser.peek().kind === 'end') throw parser.error('expected a filter expression but the filter is empty', parser.peek());
    const node = parser.parseOr();
    parser.expectEnd('filter');
    return ok(node);
  } catch (e) {
    if (e instanceof ParseError) return fail(e.problem);
    throw e;
  }
}

/** Parses a plain attribute path (`sortBy`, `attributes`): `[uri:]attr[.sub]`, no filter. */
export function parseAttributePath(text: string): Result<AttributePath, ScimProblem> {
  const limit = checkLength(text, 1024, 'invalidPath', 'attribute path');
  if (limit) return fail(limit);
  const tokens = tokenize(text, 'invalidPath');
  if (!tokens.ok) return tokens;
  try {
    const parser = new Parser(tokens.value, DEFAULT_MAX_FILTER_DEPTH, 'invalidPath');
    const path = parser.parsePath();
    parser.expectEnd('attribute path');
    return ok(path);
  } catch (e) {
    if (e instanceof ParseError) return fail(e.problem);
    throw e;
  }
}

/** Parses a PATCH `path`: `attrPath`, `attr[filter]` or `attr[filter].sub` (RFC 7644 §3.5.2 PATH). */
export function parsePatchPath(text: string, options: FilterOptions = {}): Result<PatchPath, ScimProblem> {
  const limit = checkLength(text, options.maxLength ?? DEFAULT_MAX_FILTER_LENGTH, 'invalidPath', 'path');
  if (limit) return fail(limit);
  const tokens = tokenize(text, 'invalidPath');
  if (!tokens.ok) return tokens;
  try {
    const parser = new Parser(tokens.value, options.maxDepth ?? DEFAULT_MAX_FILTER_DEPTH, 'invalidPath');
    const path: PatchPath = parser.parsePath();
    if (parser.peek().kind === '[') {
      if (path.subAttribute !== undefined) throw parser.error(`'[' must follow the attribute itself, not its sub-attribute '${formatPath(path)}'`, parser.peek());
      const vp = parser.parseValuePathFilter(path);
      path.filter = vp;
      if (parser.peek().kind === '.') {
        parser.next();
        path.valueSubAttribute = parser.parseSubAttributeName();
      }
    }
    parser.expectEnd('path');
    return ok(path);
  } catch (e) {
    if (e instanceof ParseError) return fail(e.problem);
    throw e;
  }
}

function checkLength(text: string, max: number, scimType: ScimType, what: string): ScimProblem | undefined {
  if (text.length <= max) return undefined;
  return scimProblem(scimType, `the ${what} is ${text.length} characters long; at most ${max} are accepted`, { column: max + 1 });
}

class ParseError extends Error {
  readonly problem: ScimProblem;
  constructor(problem: ScimProblem) {
    super(problem.message);
    this.problem = problem;
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'word':
      return `'${t.text}'`;
    case 'string':
      return `the string ${JSON.stringify(t.value)}`;
    case 'number':
      return `the number ${t.text}`;
    case 'end':
      return 'the end of the text';
    case '(':
    case ')':
    case '[':
    case ']':
    case '.':
      return describeChar(t.kind);
  }
}

const isKeyword = (t: Token, word: string): boolean => t.kind === 'word' && t.text.toLowerCase() === word;

// Recursive descent over the RFC 7644 grammar; exceptions stay inside this module and
// become one `Result` problem at the public functions.
class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;
  private readonly maxDepth: number;
  private readonly scimType: ScimType;
  private inValuePath: string | undefined;

  constructor(tokens: Token[], maxDepth: number, scimType: ScimType) {
    this.tokens = tokens;
    this.maxDepth = maxDepth;
    this.scimType = scimType;
  }

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.pos++;
    return t;
  }

  error(message: string, at: { column: number }): ParseError {
    return new ParseError(scimProblem(this.scimType, `${message} at column ${at.column}`, { column: at.column }));
  }

  expectEnd(what: string): void {
    const t = this.peek();
    if (t.kind === 'end') return;
    if (t.kind === ')') throw this.error(`unbalanced ')': no '(' is open`, t);
    if (t.kind === ']') throw this.error(`unbalanced ']': no '[' is open`, t);
    throw this.error(`expected 'and', 'or' or the end of the ${what} but found ${describe(t)}`, t);
  }

  private enter(at: Token): void {
    this.depth++;
    if (this.depth > this.maxDepth) throw this.error(`the filter nests deeper than ${this.maxDepth} levels`, at);
  }

  parseOr(): FilterNode {
    const first = this.parseAnd();
    const filters = [first];
    while (isKeyword(this.peek(), 'or')) {
      this.next();
      filters.push(this.parseAnd());
    }
    return filters.length === 1 ? first : { kind: 'or', filters };
  }

  private parseAnd(): FilterNode {
    const first = this.parseUnary();
    const filters = [first];
    while (isKeyword(this.peek(), 'and')) {
      this.next();
      filters.push(this.parseUnary());
    }
    return filters.length === 1 ? first : { kind: 'and', filters };
  }

  private parseUnary(): FilterNode {
    const t = this.peek();
    // `not` is a keyword only before '(' (RFC 7644 ABNF), so an attribute may be named "not".
    if (isKeyword(t, 'not') && this.peek(1).kind === '(') {
      this.next();
      this.enter(t);
      const inner = this.parseGroup();
      this.depth--;
      return { kind: 'not', filter: inner };
    }
    const after = this.peek(1);
    const operatorFollows = after.kind === 'word' && (after.text.toLowerCase() === 'pr' || (COMPARE_OPERATORS as readonly string[]).includes(after.text.toLowerCase()));
    if (isKeyword(t, 'not') && !operatorFollows) throw this.error(`expected '(' after 'not' but found ${describe(after)}`, after);
    if (t.kind === '(') {
      this.enter(t);
      const inner = this.parseGroup();
      this.depth--;
      return inner;
    }
    if (t.kind !== 'word') throw this.error(`expected an attribute name, '(' or 'not' but found ${describe(t)}`, t);
    const path = this.parsePath();
    if (this.peek().kind === '[') {
      if (path.subAttribute !== undefined) throw this.error(`'[' must follow the attribute itself, not its sub-attribute '${formatPath(path)}'`, this.peek());
      const filter = this.parseValuePathFilter(path);
      // `emails[type eq "work"].value eq "x"` is the same as `emails[type eq "work" and value eq "x"]`.
      if (this.peek().kind === '.') {
        this.next();
        const subColumn = this.peek().column;
        const sub = this.parseSubAttributeName();
        const cond = this.parseCondition({ attribute: sub, column: subColumn });
        const filters = filter.kind === 'and' ? [...filter.filters, cond] : [filter, cond];
        return { kind: 'valuePath', path, filter: { kind: 'and', filters } };
      }
      return { kind: 'valuePath', path, filter };
    }
    return this.parseCondition(path);
  }

  private parseGroup(): FilterNode {
    const open = this.next();
    const inner = this.parseOr();
    const close = this.peek();
    if (close.kind !== ')') throw this.error(`expected ')' to close the '(' at column ${open.column} but found ${describe(close)}`, close);
    this.next();
    return inner;
  }

  private parseCondition(path: AttributePath): FilterNode {
    const opTok = this.peek();
    if (opTok.kind !== 'word') {
      throw this.error(`expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '${formatPath(path)}' but found ${describe(opTok)}`, opTok);
    }
    const op = opTok.text.toLowerCase();
    if (op === 'pr') {
      this.next();
      return { kind: 'present', path };
    }
    if (!(COMPARE_OPERATORS as readonly string[]).includes(op)) {
      throw this.error(`expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after '${formatPath(path)}' but found ${describe(opTok)}`, opTok);
    }
    this.next();
    const value = this.parseValue(op);
    return { kind: 'compare', path, op: op as CompareOperator, value };
  }

  private parseValue(op: string): FilterValue {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return t.value;
      case 'number':
        return t.value;
      case 'word': {
        const w = t.text.toLowerCase();
        if (w === 'true') return true;
        if (w === 'false') return false;
        if (w === 'null') return null;
        throw this.error(`expected a value after '${op}' (a "quoted string", a number, true, false or null) but found ${describe(t)}; strings need double quotes`, t);
      }
      case '(':
      case ')':
      case '[':
      case ']':
      case '.':
      case 'end':
        throw this.error(`expected a value after '${op}' (a "quoted string", a number, true, false or null) but found ${describe(t)}`, t);
    }
  }

  /** `[uri:]attr[.sub]` from one word token. */
  parsePath(): AttributePath {
    const t = this.peek();
    if (t.kind !== 'word') throw this.error(`expected an attribute name but found ${describe(t)}`, t);
    this.next();
    const text = t.text;
    let uri: string | undefined;
    let rest = text;
    if (/^urn:/i.test(text)) {
      const last = text.lastIndexOf(':');
      uri = text.slice(0, last);
      rest = text.slice(last + 1);
      if (rest === '') throw this.error(`expected an attribute name after the schema URN '${uri}'`, { column: t.column + text.length });
    } else if (text.includes(':')) {
      throw this.error(`':' may appear only in a schema URN prefix (urn:…), not in '${text}'`, { column: t.column + text.indexOf(':') });
    }
    const parts = rest.split('.');
    const restColumn = t.column + text.length - rest.length;
    if (parts.length > 2) throw this.error(`'${rest}' has more than one sub-attribute; SCIM paths are attribute or attribute.subAttribute`, { column: restColumn });
    let offset = 0;
    for (const part of parts) {
      if (!ATTRNAME.test(part)) {
        const what = part === '' ? 'an empty name' : `'${part}'`;
        throw this.error(`expected an attribute name (a letter, then letters, digits, '_' or '-') but found ${what}`, { column: restColumn + offset });
      }
      offset += part.length + 1;
    }
    const path: AttributePath = { attribute: parts[0]!, column: t.column };
    if (uri !== undefined) path.uri = uri;
    if (parts[1] !== undefined) path.subAttribute = parts[1];
    return path;
  }

  parseSubAttributeName(): string {
    const t = this.peek();
    if (t.kind !== 'word' || !ATTRNAME.test(t.text)) {
      throw this.error(`expected a sub-attribute name after '.' but found ${describe(t)}`, t);
    }
    this.next();
    return t.text;
  }

  /** `[valFilter]` after an attribute; inner paths are single sub-attribute names. */
  parseValuePathFilter(parent: AttributePath): FilterNode {
    const open = this.next();
    if (this.inValuePath) throw this.error(`a value filter cannot nest inside '${this.inValuePath}[…]'`, open);
    this.enter(open);
    if (this.peek().kind === ']') throw this.error(`expected a filter inside '${parent.attribute}[…]' but found ']'`, this.peek());
    this.inValuePath = parent.attribute;
    const filter = this.parseOr();
    this.inValuePath = undefined;
    const close = this.peek();
    if (close.kind !== ']') throw this.error(`expected ']' to close the '[' at column ${open.column} but found ${describe(close)}`, close);
    this.next();
    this.depth--;
    checkRelative(filter, parent, this);
    return filter;
  }
}

// Inside `emails[…]` every path names a sub-attribute of emails, and brackets cannot nest.
function checkRelative(node: FilterNode, parent: AttributePath, parser: Parser): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const f of node.filters) checkRelative(f, parent, parser);
      return;
    case 'not':
      checkRelative(node.filter, parent, parser);
      return;
    case 'valuePath': // refused while parsing
    case 'compare':
    case 'present':
      if (node.path.uri !== undefined || node.path.subAttribute !== undefined) {
        throw parser.error(`inside '${parent.attribute}[…]' name a sub-attribute of ${parent.attribute} (e.g. 'value' or 'type'), not '${formatPath(node.path)}'`, node.path);
      }
      return;
  }
}
