import type { AccountRequest, AttributeRequest, PermissionRequest, PlanArguments, PlanValue, ProvisioningPlan, Scalar } from './model.ts';

/**
 * The canonical XML of a plan: the `<?xml?>` and sailpoint.dtd DOCTYPE prologue, two-space
 * indentation, double-quoted attributes in alphabetical order (SailPoint's own order), every
 * `op` written out, a string value as the `value` attribute and anything else as a `<value>`
 * element, dates as epoch milliseconds (SailPoint's form), arguments as `<Attributes><Map>`
 * after the requests. Text is built in one array and joined once.
 */

export const XML_PROLOGUE = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ProvisioningPlan PUBLIC "sailpoint.dtd" "sailpoint.dtd">\n';

const ATTR_SPECIAL = /[&<>"\t\n\r]/;
const ATTR_SPECIAL_G = /[&<>"\t\n\r]/g;
const TEXT_SPECIAL = /[&<>\r]/;
const TEXT_SPECIAL_G = /[&<>\r]/g;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  // Whitespace in an attribute value would be normalised to a space by the reader, and a
  // carriage return in text to a newline; character references keep them exact.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
const escapeChar = (c: string): string => ESCAPES[c] ?? c;

/** Escapes text for a double-quoted attribute value so that a reader gets it back exactly. */
export const escapeAttribute = (s: string): string => (ATTR_SPECIAL.test(s) ? s.replace(ATTR_SPECIAL_G, escapeChar) : s);

/** Escapes element text so that a reader gets it back exactly (`>` too, so `]]>` never appears). */
export const escapeText = (s: string): string => (TEXT_SPECIAL.test(s) ? s.replace(TEXT_SPECIAL_G, escapeChar) : s);

/** Writes a plan as canonical SailPoint-compatible XML; `parsePlanXml` reads it back to an equal plan. */
export function toXml(plan: ProvisioningPlan): string {
  const out: string[] = [XML_PROLOGUE, '<ProvisioningPlan'];
  attr(out, 'identity', plan.identity);
  attr(out, 'trackingId', plan.trackingId);
  const empty = plan.accountRequests.length === 0 && plan.arguments === undefined;
  if (empty) {
    out.push('/>\n');
  } else {
    out.push('>\n');
    for (const ar of plan.accountRequests) accountRequest(out, ar);
    if (plan.arguments !== undefined) argumentsBlock(out, plan.arguments, '  ');
    out.push('</ProvisioningPlan>\n');
  }
  return out.join('');
}

function attr(out: string[], name: string, value: string | undefined): void {
  if (value !== undefined) out.push(' ', name, '="', escapeAttribute(value), '"');
}

function accountRequest(out: string[], ar: AccountRequest): void {
  out.push('  <AccountRequest');
  attr(out, 'application', ar.application);
  attr(out, 'nativeIdentity', ar.nativeIdentity);
  attr(out, 'op', ar.op);
  attr(out, 'trackingId', ar.trackingId);
  if (ar.attributeRequests.length === 0 && ar.permissionRequests.length === 0 && ar.arguments === undefined) {
    out.push('/>\n');
    return;
  }
  out.push('>\n');
  for (const rq of ar.attributeRequests) attributeRequest(out, rq);
  for (const pr of ar.permissionRequests) permissionRequest(out, pr);
  if (ar.arguments !== undefined) argumentsBlock(out, ar.arguments, '    ');
  out.push('  </AccountRequest>\n');
}

function attributeRequest(out: string[], rq: AttributeRequest): void {
  out.push('    <AttributeRequest');
  attr(out, 'name', rq.name);
  attr(out, 'op', rq.op);
  attr(out, 'trackingId', rq.trackingId);
  const inline = typeof rq.value === 'string';
  if (inline) attr(out, 'value', rq.value as string);
  if ((inline || rq.value === undefined) && rq.arguments === undefined) {
    out.push('/>\n');
    return;
  }
  out.push('>\n');
  if (!inline && rq.value !== undefined) valueElement(out, rq.value, '      ');
  if (rq.arguments !== undefined) argumentsBlock(out, rq.arguments, '      ');
  out.push('    </AttributeRequest>\n');
}

function permissionRequest(out: string[], pr: PermissionRequest): void {
  out.push('    <PermissionRequest');
  attr(out, 'op', pr.op);
  attr(out, 'rights', pr.rights.join(','));
  attr(out, 'target', pr.target);
  attr(out, 'trackingId', pr.trackingId);
  if (pr.arguments === undefined) {
    out.push('/>\n');
    return;
  }
  out.push('>\n');
  argumentsBlock(out, pr.arguments, '      ');
  out.push('    </PermissionRequest>\n');
}

function argumentsBlock(out: string[], args: PlanArguments, indent: string): void {
  const keys = Object.keys(args);
  if (keys.length === 0) {
    out.push(indent, '<Attributes>\n', indent, '  <Map/>\n', indent, '</Attributes>\n');
    return;
  }
  out.push(indent, '<Attributes>\n', indent, '  <Map>\n');
  const inner = `${indent}    `;
  for (const key of keys) {
    const v = args[key];
    out.push(inner, '<entry key="', escapeAttribute(key), '"');
    if (v === null || v === undefined) {
      out.push('/>\n');
    } else if (typeof v === 'string') {
      out.push(' value="', escapeAttribute(v), '"/>\n');
    } else {
      out.push('>\n');
      valueElement(out, v, `${inner}  `);
      out.push(inner, '</entry>\n');
    }
  }
  out.push(indent, '  </Map>\n', indent, '</Attributes>\n');
}

function valueElement(out: string[], v: PlanValue, indent: string): void {
  out.push(indent, '<value>\n');
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(inner, '<List/>\n');
    } else {
      out.push(inner, '<List>\n');
      for (const x of v) scalarElement(out, x, `${inner}  `);
      out.push(inner, '</List>\n');
    }
  } else {
    scalarElement(out, v, inner);
  }
  out.push(indent, '</value>\n');
}

function scalarElement(out: string[], v: Scalar, indent: string): void {
  if (typeof v === 'string') out.push(indent, v === '' ? '<String/>\n' : `<String>${escapeText(v)}</String>\n`);
  else if (typeof v === 'number') out.push(indent, '<Integer>', String(v), '</Integer>\n');
  else if (typeof v === 'boolean') out.push(indent, '<Boolean>', v ? 'true' : 'false', '</Boolean>\n');
  else out.push(indent, '<Date>', String(v.getTime()), '</Date>\n');
}
