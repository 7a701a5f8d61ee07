/**
 * Placeholders in ActionChainScript metadata: `{{identity.email}}`, `{{entitlement.nativeValue}}`,
 * `{{request.justification}}`, `{{outputs.2.iid}}`… Checked when a chain is saved (every
 * placeholder must name a known variable) and filled in when the script runs. No expression
 * is evaluated: a placeholder is a dotted path and nothing else.
 */
import { fail, ok, type Problem, type Result } from '../domain/result.ts';

/** The roots a placeholder may start with, and the fields each offers. `*` allows any field. */
export const TEMPLATE_VARIABLES: Record<string, readonly string[]> = {
  identity: ['id', 'userName', 'displayName', 'givenName', 'familyName', 'email', 'department', 'title', 'employeeNumber', 'kind', 'status', 'managerId', 'externalId', 'attributes.*'],
  manager: ['id', 'userName', 'displayName', 'email'],
  application: ['id', 'name', 'connectorKind', 'ownerId'],
  entitlement: ['id', 'kind', 'nativeValue', 'name', 'description'],
  account: ['nativeIdentity', 'attributes.*'],
  request: ['id', 'justification', 'endDate', 'requestedBy', 'url'],
  requester: ['id', 'userName', 'displayName', 'email'],
  flow: ['id', 'purpose', 'url'],
  /** Output of an earlier script of the same flow, by its position: `{{outputs.0.iid}}`. */
  outputs: ['*'],
};

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*$/;

function knownPath(path: string): string | null {
  if (!PATH.test(path)) return `'${path}' is not a dotted name`;
  const [root, ...rest] = path.split('.');
  const fields = TEMPLATE_VARIABLES[root!];
  if (!fields) return `unknown variable '${root}': use one of ${Object.keys(TEMPLATE_VARIABLES).join(', ')}`;
  const field = rest.join('.');
  if (field === '') return `'${root}' needs a field, e.g. '${root}.${fields[0] === '*' ? '0' : fields[0]}'`;
  const allowed = fields.some((f) => f === '*' || f === field || (f.endsWith('.*') && field.startsWith(f.slice(0, -1)) && field.length > f.length - 1));
  return allowed ? null : `'${root}' has no field '${field}': use one of ${fields.join(', ')}`;
}

/** Every problem with the placeholders in `value` (a string, or strings nested in arrays and objects). */
export function checkTemplate(value: unknown, field: string): Problem[] {
  const problems: Problem[] = [];
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(PLACEHOLDER)) {
        const why = knownPath(m[1]!);
        if (why) problems.push({ code: 'unknown_placeholder', field: at, message: `placeholder {{${m[1]}}} at offset ${m.index}: ${why}` });
      }
      const stray = v.replace(PLACEHOLDER, '');
      if (stray.includes('{{') || stray.includes('}}')) problems.push({ code: 'unclosed_placeholder', field: at, message: 'a placeholder is opened with {{ and closed with }}' });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(value, field);
  return problems;
}

function lookup(vars: Record<string, unknown>, path: string): unknown {
  let at: unknown = vars;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/**
 * Fills the placeholders of `value` from `vars`. A string that is exactly one placeholder
 * takes the variable's own value (a list stays a list); elsewhere values are written as text
 * and a missing one as the empty string.
 */
export function render<T>(value: T, vars: Record<string, unknown>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(v);
      if (whole) {
        const got = lookup(vars, whole[1]!);
        return got === undefined || got === null ? '' : got instanceof Date ? got.toISOString() : got;
      }
      return v.replace(PLACEHOLDER, (_, path: string) => text(lookup(vars, path)));
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Checks a template and answers the problems as a Result. */
export function validateTemplate(value: unknown, field: string): Result<true> {
  const problems = checkTemplate(value, field);
  return problems.length ? fail(...problems) : ok(true);
}
