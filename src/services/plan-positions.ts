/**
 * Where each request of an XML plan starts, so that problems found against the store
 * (which know only `accountRequests[i]…`) can carry the line and column the XML reader
 * would have given. Runs only on a plan that parsed, so the document is well-formed.
 */
import { SaxesParser } from 'saxes';
import type { Problem } from '../domain/result.ts';

interface Pos {
  line: number;
  column: number;
}

interface AccountPositions {
  at: Pos;
  attributes: Pos[];
  permissions: Pos[];
}

/** The positions of every AccountRequest, AttributeRequest and PermissionRequest, in document order. */
export function locateRequests(xml: string): AccountPositions[] {
  const out: AccountPositions[] = [];
  const p = new SaxesParser({ xmlns: false, position: true });
  p.on('opentagstart', (t) => {
    const at = { line: p.line, column: Math.max(1, p.column - t.name.length - 1) };
    if (t.name === 'AccountRequest') out.push({ at, attributes: [], permissions: [] });
    else if (t.name === 'AttributeRequest') out[out.length - 1]?.attributes.push(at);
    else if (t.name === 'PermissionRequest') out[out.length - 1]?.permissions.push(at);
  });
  p.on('error', () => undefined);
  p.write(xml).close();
  return out;
}

const FIELD = /^accountRequests\[(\d+)\](?:\.(attributeRequests|permissionRequests)\[(\d+)\])?/;

/** The problems with the line and column of the request each names, where it has none yet. */
export function withPositions(problems: Problem[], xml: string): Problem[] {
  let positions: AccountPositions[] | undefined;
  return problems.map((problem) => {
    if (problem.line !== undefined || problem.field === undefined) return problem;
    const m = FIELD.exec(problem.field);
    if (!m) return problem;
    positions ??= locateRequests(xml);
    const account = positions[Number(m[1])];
    if (!account) return problem;
    const inner = m[2] === 'attributeRequests' ? account.attributes[Number(m[3])] : m[2] === 'permissionRequests' ? account.permissions[Number(m[3])] : undefined;
    const at = inner ?? account.at;
    return { ...problem, line: at.line, column: at.column };
  });
}
