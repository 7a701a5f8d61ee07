import { SaxesParser } from 'saxes';
import type { SaxesTagPlain } from 'saxes';
import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { planProblem } from './codes.ts';
import type { PlanProblemCode } from './codes.ts';
import { describeLimit, resolveLimits, withinSize } from './limits.ts';
import type { PlanReadLimits } from './limits.ts';
import type { AccountOp, AccountRequest, AttributeOp, AttributeRequest, PermissionRequest, PlanArguments, ProvisioningPlan, Scalar } from './model.ts';
import { checkPlanStructure } from './structure.ts';
import { decodeUtf8 } from './utf8.ts';
import { doctypeRefusal } from './xml-doctype.ts';
import { ATTRIBUTES, CHILDREN, Frame, byPosition, positionOf, readScalar } from './xml-grammar.ts';
import type { Pos } from './xml-grammar.ts';

/**
 * Reads SailPoint-style ProvisioningPlan XML with saxes (strict, positioned, and blind to
 * DTDs), checking structure as the DTD would. Every problem is collected with its line and
 * column; reading stops only at a limit or a refused DOCTYPE.
 */

export type PlanXmlOptions = PlanReadLimits;

const WHITESPACE_ONLY = /^[ \t\r\n]*$/;

/** Thrown from inside saxes' callbacks to end reading at a limit; never leaves this module. */
class Stop extends Error {}

/** Reads a plan from XML text or UTF-8 bytes; the plan, or every problem with its line and column. */
export function parsePlanXml(input: string | Uint8Array, options?: PlanXmlOptions): Result<ProvisioningPlan> {
  const limits = resolveLimits(options);
  if (!withinSize(input, limits.maxBytes)) return fail(planProblem('plan.too_large', describeLimit(input, limits.maxBytes)));
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const decoded = decodeUtf8(input);
    if (!decoded.ok) {
      const { line, column } = decoded;
      return fail(planProblem('plan.xml.encoding', `line ${line}, column ${column}: the document is not valid UTF-8`, { line, column }));
    }
    text = decoded.text;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return new PlanXmlReader(text, limits, typeof input !== 'string').read();
}

class PlanXmlReader {
  private readonly text: string;
  private readonly maxDepth: number;
  private readonly maxProblems: number;
  private readonly fromBytes: boolean;
  private readonly parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  private readonly problems: Problem[] = [];
  private readonly stack: Frame[] = [];
  private top: Frame = new Frame('doc', '#document', 1, 1);
  private plan: ProvisioningPlan | undefined = undefined;
  private startLine = 1;
  private startColumn = 1;
  private syntaxErrorsAtStart = 0;
  private syntaxErrors = 0;
  /** Syntax errors seen when the last text or tag event ended, to tell text an error produced. */
  private syntaxErrorsAtLastEvent = 0;
  private planPos: Pos = { line: 1, column: 1 };
  private readonly accountPos: Pos[] = [];
  private readonly attributePos: Pos[][] = [];
  private readonly permissionPos: Pos[][] = [];
  /** Attribute requests whose value was reported bad: "needs a value" would only repeat that. */
  private readonly badValue = new WeakSet<AttributeRequest>();

  constructor(text: string, limits: Required<PlanReadLimits>, fromBytes: boolean) {
    this.text = text;
    this.maxDepth = limits.maxDepth;
    this.maxProblems = limits.maxProblems;
    this.fromBytes = fromBytes;
  }

  read(): Result<ProvisioningPlan> {
    const p = this.parser;
    p.on('error', (e) => this.onSyntaxError(e.message));
    p.on('doctype', (d) => this.onDoctype(d));
    p.on('xmldecl', (d) => this.onXmlDecl(d.encoding));
    p.on('opentagstart', (t) => this.onOpenTagStart(t.name));
    p.on('opentag', (t) => {
      this.onOpenTag(t);
      this.syntaxErrorsAtLastEvent = this.syntaxErrors;
    });
    p.on('closetag', () => {
      this.onCloseTag();
      this.syntaxErrorsAtLastEvent = this.syntaxErrors;
    });
    p.on('text', (t) => {
      this.onText(t);
      this.syntaxErrorsAtLastEvent = this.syntaxErrors;
    });
    p.on('cdata', (t) => this.onText(t));
    try {
      p.write(this.text).close();
      if (this.plan !== undefined) this.checkStructure(this.plan);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    if (this.problems.length > 0 || this.plan === undefined) {
      if (this.problems.length === 0) this.problems.push(planProblem('plan.xml.root', 'the document has no <ProvisioningPlan> element'));
      return fail(...byPosition(this.problems));
    }
    return ok(this.plan);
  }

  private report(code: PlanProblemCode, message: string, line: number, column: number, field?: string): void {
    this.problems.push(planProblem(code, `line ${line}, column ${column}: ${message}`, { line, column, field }));
    if (this.problems.length >= this.maxProblems) {
      this.problems.push(planProblem('plan.too_many_problems', `stopped reading after ${this.maxProblems} problems`));
      throw new Stop();
    }
  }

  private reportAt(frame: Frame, code: PlanProblemCode, message: string): void {
    this.report(code, message, frame.line, frame.column);
  }

  private onSyntaxError(raw: string): void {
    this.syntaxErrors++;
    const message = raw.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
    // saxes' column is zero-based and points after the offending character: as a
    // one-based column it names that character.
    const line = this.parser.line;
    const column = Math.max(1, this.parser.column);
    if (/entity/.test(message) && !/malformed/.test(message)) {
      this.report('plan.xml.entity', `${message}: only &amp; &lt; &gt; &quot; &apos; and numeric character references are allowed; entities are never declared or expanded`, line, column);
    } else {
      this.report('plan.xml.malformed', `not well-formed XML: ${message}`, line, column);
    }
  }

  private onDoctype(body: string): void {
    const refusal = doctypeRefusal(body);
    if (refusal === undefined) return;
    const at = this.text.indexOf('<!DOCTYPE');
    const { line, column } = positionOf(this.text, at < 0 ? 0 : at);
    this.problems.push(planProblem('plan.xml.doctype', `line ${line}, column ${column}: ${refusal}`, { line, column }));
    throw new Stop();
  }

  private onXmlDecl(encoding: string | undefined): void {
    if (encoding === undefined || !this.fromBytes) return; // a string is already decoded
    if (!/^(utf-?8|us-ascii|ascii)$/i.test(encoding)) {
      this.report('plan.xml.encoding', `the document declares encoding '${encoding}'; plans are read as UTF-8 only`, this.parser.line, this.parser.column);
    }
  }

  private onOpenTagStart(name: string): void {
    // saxes is just past the name and the character after it; step back to the '<'.
    this.startLine = this.parser.line;
    this.startColumn = Math.max(1, this.parser.column - name.length - 1);
    this.syntaxErrorsAtStart = this.syntaxErrors;
  }

  private onOpenTag(tag: SaxesTagPlain): void {
    const parent = this.top;
    const name = tag.name;
    const frame = new Frame('skip', name, this.startLine, this.startColumn);
    if (this.stack.length >= this.maxDepth) {
      this.reportAt(frame, 'plan.too_deep', `elements are nested deeper than ${this.maxDepth} levels; reading stopped`);
      throw new Stop();
    }
    this.stack.push(parent);
    this.top = frame;
    if (parent.kind === 'skip') return;
    const kind = CHILDREN[parent.kind]?.[name];
    if (kind === undefined) {
      this.unknownChild(parent, frame);
      return;
    }
    if (parent.kind === 'value' || parent.kind === 'attributes') {
      if (++parent.count > 1) {
        this.reportAt(frame, 'plan.xml.duplicate', `<${parent.name}> holds exactly one element; <${name}> is one too many`);
        return;
      }
    }
    frame.kind = kind;
    // An open tag saxes had to repair has unreliable attributes: its error already stands.
    if (this.syntaxErrors === this.syntaxErrorsAtStart) this.checkAttributes(frame, tag.attributes);
    this.begin(frame, parent, tag.attributes);
  }

  private unknownChild(parent: Frame, frame: Frame): void {
    const allowed = CHILDREN[parent.kind];
    if (parent.kind === 'doc') {
      this.reportAt(frame, 'plan.xml.root', `the root element must be <ProvisioningPlan>, not <${frame.name}>`);
    } else if (parent.kind === 'list' && frame.name === 'List') {
      this.reportAt(frame, 'plan.invalid_value', 'lists cannot be nested: a <List> holds String, Integer, Boolean and Date elements');
    } else if (allowed === undefined) {
      this.reportAt(frame, 'plan.xml.unknown_element', `<${parent.name}> holds text only, not <${frame.name}>`);
    } else {
      const names = Object.keys(allowed).map((n) => `<${n}>`).join(', ');
      this.reportAt(frame, 'plan.xml.unknown_element', `<${frame.name}> is not allowed in <${parent.name}> (allowed: ${names})`);
    }
  }

  private checkAttributes(frame: Frame, attrs: Record<string, string>): void {
    const allowed = ATTRIBUTES[frame.kind];
    for (const a in attrs) {
      if (allowed?.includes(a)) continue;
      const has = allowed === undefined ? 'has no attributes' : `has ${allowed.join(', ')}`;
      this.reportAt(frame, 'plan.xml.unknown_attribute', `<${frame.name}> has no attribute '${a}' (it ${has})`);
    }
  }

  private begin(frame: Frame, parent: Frame, attrs: Record<string, string>): void {
    switch (frame.kind) {
      case 'plan': {
        const plan: ProvisioningPlan = { accountRequests: [] };
        if (attrs.identity !== undefined) plan.identity = attrs.identity;
        if (attrs.trackingId !== undefined) plan.trackingId = attrs.trackingId;
        frame.node = plan;
        this.plan = plan;
        this.planPos = { line: frame.line, column: frame.column };
        return;
      }
      case 'account': {
        const ar: AccountRequest = {
          application: attrs.application as string,
          op: (attrs.op ?? 'Modify') as AccountOp,
          attributeRequests: [],
          permissionRequests: [],
        };
        if (attrs.nativeIdentity !== undefined) ar.nativeIdentity = attrs.nativeIdentity;
        if (attrs.trackingId !== undefined) ar.trackingId = attrs.trackingId;
        frame.node = ar;
        (parent.node as ProvisioningPlan).accountRequests.push(ar);
        this.accountPos.push({ line: frame.line, column: frame.column });
        this.attributePos.push([]);
        this.permissionPos.push([]);
        return;
      }
      case 'attribute': {
        const rq: AttributeRequest = { name: attrs.name as string, op: (attrs.op ?? 'Add') as AttributeOp };
        if (attrs.value !== undefined) {
          rq.value = attrs.value;
          frame.count = 1;
        }
        if (attrs.trackingId !== undefined) rq.trackingId = attrs.trackingId;
        frame.node = rq;
        frame.problemsAtOpen = this.problems.length;
        (parent.node as AccountRequest).attributeRequests.push(rq);
        this.attributePos[this.attributePos.length - 1]?.push({ line: frame.line, column: frame.column });
        return;
      }
      case 'permission': {
        const rights = attrs.rights === undefined || attrs.rights === '' ? [] : attrs.rights.split(',').map((r) => r.trim());
        const pr: PermissionRequest = { target: attrs.target as string, op: (attrs.op ?? 'Add') as AttributeOp, rights };
        if (attrs.trackingId !== undefined) pr.trackingId = attrs.trackingId;
        frame.node = pr;
        (parent.node as AccountRequest).permissionRequests.push(pr);
        this.permissionPos[this.permissionPos.length - 1]?.push({ line: frame.line, column: frame.column });
        return;
      }
      case 'attributes': {
        const owner = parent.node as { arguments?: PlanArguments } | undefined;
        if (owner?.arguments !== undefined) {
          this.reportAt(frame, 'plan.xml.duplicate', `<${parent.name}> has <Attributes> twice`);
          frame.kind = 'skip';
          return;
        }
        const args: PlanArguments = {};
        if (owner !== undefined) owner.arguments = args;
        frame.args = args;
        return;
      }
      case 'map':
        frame.args = parent.args;
        return;
      case 'entry':
        frame.args = parent.args;
        frame.key = attrs.key;
        if (attrs.value !== undefined) {
          frame.value = attrs.value;
          frame.count = 1;
        }
        if (attrs.key === undefined) this.reportAt(frame, 'plan.missing_field', '<entry> needs a key attribute');
        return;
      case 'value':
        if (parent.count > 0) this.reportAt(frame, 'plan.xml.duplicate', `<${parent.name}> has a value twice (a value attribute and a <value>, or two <value>s)`);
        return;
      case 'list':
        frame.list = [];
        return;
      case 'doc':
      case 'scalar':
      case 'skip':
        return;
    }
  }

  private onText(t: string): void {
    const f = this.top;
    if (f.kind === 'scalar') {
      f.text += t;
    } else if (f.kind !== 'skip' && f.kind !== 'doc' && !f.textReported && this.syntaxErrors === this.syntaxErrorsAtLastEvent && !WHITESPACE_ONLY.test(t)) {
      f.textReported = true;
      const shown = t.trim();
      this.report('plan.xml.unexpected_text', `<${f.name}> holds elements, not text ('${shown.length > 40 ? `${shown.slice(0, 37)}...` : shown}')`, this.parser.line, this.parser.column);
    }
  }

  private onCloseTag(): void {
    const f = this.top;
    const parent = this.stack.pop();
    if (parent === undefined) return;
    this.top = parent;
    switch (f.kind) {
      case 'scalar': {
        const v = this.scalar(f);
        if (v === undefined) return;
        if (parent.kind === 'list') parent.list?.push(v);
        else parent.value = v;
        return;
      }
      case 'list':
        parent.value = f.list;
        return;
      case 'value':
        if (f.count === 0) {
          this.reportAt(f, 'plan.invalid_value', '<value> is empty: it holds one of <String>, <Integer>, <Boolean>, <Date> or <List>');
          return;
        }
        parent.count++;
        if (parent.kind === 'attribute' && f.value !== undefined && f.value !== null) (parent.node as AttributeRequest).value = f.value;
        else if (parent.kind === 'entry') parent.value = f.value;
        return;
      case 'entry':
        this.setEntry(f);
        return;
      case 'attribute': {
        const rq = f.node as AttributeRequest;
        if (rq.value === undefined && this.problems.length > f.problemsAtOpen) this.badValue.add(rq);
        return;
      }
      case 'doc':
      case 'plan':
      case 'account':
      case 'permission':
      case 'attributes':
      case 'map':
      case 'skip':
        return;
    }
  }

  private setEntry(f: Frame): void {
    const args = f.args;
    const key = f.key;
    if (args === undefined || key === undefined) return;
    if (key === '__proto__') {
      this.reportAt(f, 'plan.forbidden_key', "<entry key='__proto__'> is not allowed");
    } else if (Object.hasOwn(args, key)) {
      this.reportAt(f, 'plan.xml.duplicate', `<entry key='${key}'> appears twice in one <Map>`);
    } else {
      args[key] = f.value === undefined ? null : f.value;
    }
  }

  private scalar(f: Frame): Scalar | undefined {
    const r = readScalar(f.name, f.text);
    if (!r.ok) this.reportAt(f, 'plan.invalid_value', r.why);
    return r.ok ? r.value : undefined;
  }

  private checkStructure(plan: ProvisioningPlan): void {
    checkPlanStructure(plan, (problem, where) => {
      if (problem.code === 'plan.missing_field' && where.attribute !== undefined && problem.field?.endsWith('.value')) {
        const rq = plan.accountRequests[where.account ?? -1]?.attributeRequests[where.attribute];
        if (rq !== undefined && this.badValue.has(rq)) return;
      }
      const pos = this.positionFor(where);
      this.report(problem.code as PlanProblemCode, problem.message, pos.line, pos.column, problem.field);
    });
  }

  private positionFor(where: { account?: number; attribute?: number; permission?: number }): Pos {
    const root = this.planPos;
    if (where.account === undefined) return root;
    const i = where.account;
    if (where.attribute !== undefined) return this.attributePos[i]?.[where.attribute] ?? root;
    if (where.permission !== undefined) return this.permissionPos[i]?.[where.permission] ?? root;
    return this.accountPos[i] ?? root;
  }
}
