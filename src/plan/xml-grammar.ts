import type { Problem } from '../domain/result.ts';
import type { AccountRequest, AttributeRequest, PermissionRequest, PlanArguments, PlanValue, ProvisioningPlan, Scalar } from './model.ts';
import { dateFromEpochMillis, parseBoolean, parseDateText, parseInteger } from './values.ts';

/**
 * The plan's XML grammar, as SailPoint's DTD has it for the elements Steward reads: which
 * element may hold which, which XML attributes each has, and how the text of `<Integer>`,
 * `<Boolean>`, `<Date>` and `<String>` reads. The reader (xml-parse.ts) walks it.
 */

export type Kind = 'doc' | 'plan' | 'account' | 'attribute' | 'permission' | 'attributes' | 'map' | 'entry' | 'value' | 'list' | 'scalar' | 'skip';

export interface Pos {
  line: number;
  column: number;
}

/** One open element. One shape for all kinds keeps the reader's hot path monomorphic. */
export class Frame {
  kind: Kind;
  name: string;
  line: number;
  column: number;
  /** The model object this element builds (plan, account, attribute or permission request). */
  node: ProvisioningPlan | AccountRequest | AttributeRequest | PermissionRequest | undefined = undefined;
  /** `<Attributes>`/`<Map>`: the arguments being filled; `<entry>`: its key. */
  args: PlanArguments | undefined = undefined;
  key: string | undefined = undefined;
  /** `<value>`/`<entry>`/`<AttributeRequest>`: the value so far and how many were given. */
  value: PlanValue | null | undefined = undefined;
  count = 0;
  list: Scalar[] | undefined = undefined;
  text = '';
  textReported = false;
  /** Problems already reported when this element opened. */
  problemsAtOpen = 0;

  constructor(kind: Kind, name: string, line: number, column: number) {
    this.kind = kind;
    this.name = name;
    this.line = line;
    this.column = column;
  }
}

export const CHILDREN: Record<Kind, Readonly<Record<string, Kind>> | undefined> = {
  doc: { ProvisioningPlan: 'plan' },
  plan: { AccountRequest: 'account', Attributes: 'attributes' },
  account: { AttributeRequest: 'attribute', PermissionRequest: 'permission', Attributes: 'attributes' },
  attribute: { value: 'value', Attributes: 'attributes' },
  permission: { Attributes: 'attributes' },
  attributes: { Map: 'map' },
  map: { entry: 'entry' },
  entry: { value: 'value' },
  value: { String: 'scalar', Integer: 'scalar', Boolean: 'scalar', Date: 'scalar', List: 'list' },
  list: { String: 'scalar', Integer: 'scalar', Boolean: 'scalar', Date: 'scalar' },
  scalar: undefined,
  skip: undefined,
};

export const ATTRIBUTES: Partial<Record<Kind, readonly string[]>> = {
  plan: ['identity', 'trackingId'],
  account: ['application', 'nativeIdentity', 'op', 'trackingId'],
  attribute: ['name', 'op', 'value', 'trackingId'],
  permission: ['op', 'rights', 'target', 'trackingId'],
  entry: ['key', 'value'],
};

const DIGITS = /^[+-]?[0-9]+$/;

/** The value of a scalar element from its text, or why the text is not one. */
export function readScalar(element: string, raw: string): { ok: true; value: Scalar } | { ok: false; why: string } {
  if (element === 'String') return { ok: true, value: raw };
  const t = raw.trim();
  if (element === 'Integer') {
    const n = parseInteger(t);
    if (n !== undefined) return { ok: true, value: n };
    return { ok: false, why: `<Integer> '${t}' ${DIGITS.test(t) ? 'is outside the safe integer range' : 'is not an integer'}` };
  }
  if (element === 'Boolean') {
    const b = parseBoolean(t);
    return b === undefined ? { ok: false, why: `<Boolean> '${t}' is neither true nor false` } : { ok: true, value: b };
  }
  const d = parseDateText(t);
  if (d !== undefined) return { ok: true, value: d };
  const why = DIGITS.test(t) && dateFromEpochMillis(Number(t)) === undefined ? 'is outside the range of dates' : 'is neither epoch milliseconds nor an ISO 8601 date (with an offset when it has a time)';
  return { ok: false, why: `<Date> '${t}' ${why}` };
}

/** Problems in document order; those without a position (the stop notice) stay last. */
export function byPosition(problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map((x) => x.p);
}

/** The one-based line and column of a string index. */
export function positionOf(text: string, index: number): Pos {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: index - lineStart + 1 };
}
