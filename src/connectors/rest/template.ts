/**
 * `{{…}}` templates of the rest kind. A template is checked once, when the settings are
 * read, against the placeholders its operation offers; rendering then cannot meet an
 * unknown name. Values are placed by position: in a URL each value is percent-encoded
 * (a `/` in a nativeIdentity cannot change the path), in a JSON body a string that is
 * exactly one placeholder takes the value itself (number, list, object) and anything else
 * is text, so a body is always built as JSON, never by joining strings.
 */
import type { Problem } from '../../domain/result.ts';

/** What a placeholder may name: a root (`nativeIdentity`) or a root and a key (`attributes.mail`). */
export interface PlaceholderScope {
  /** Roots that stand alone and hold a value. */
  values: readonly string[];
  /** Roots followed by `.key` (`attributes`, `settings`, `params`); alone they are the whole object. */
  objects: readonly string[];
}

export type TemplateContext = Record<string, unknown>;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The placeholder names used in a text. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

function checkName(name: string, scope: PlaceholderScope): string | undefined {
  if (!/^[A-Za-z_$][\w$-]*(\.[^.\s]+)*$/.test(name)) return `'{{${name}}}' is not a placeholder name`;
  const [root, ...rest] = name.split('.');
  if (scope.values.includes(root!) && rest.length === 0) return undefined;
  if (scope.objects.includes(root!)) return undefined;
  const offered = [...scope.values, ...scope.objects.map((o) => `${o}.NAME`)];
  return `unknown placeholder '{{${name}}}'; this operation offers ${offered.map((o) => `{{${o}}}`).join(', ')}`;
}

/** One problem per unknown placeholder in every string of a template (a text or a JSON value). */
export function checkTemplate(template: unknown, scope: PlaceholderScope, field: string): Problem[] {
  const problems: Problem[] = [];
  const visit = (v: unknown, at: string): void => {
    if (typeof v === 'string') {
      if (/\{\{(?![^{}]*\}\})/.test(v)) problems.push({ code: 'connector.invalid_template', field: at, message: "has an unclosed '{{'" });
      for (const name of placeholders(v)) {
        const m = checkName(name, scope);
        if (m !== undefined) problems.push({ code: 'connector.invalid_template', field: at, message: m });
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${at}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, `${at}.${k}`);
  };
  visit(template, field);
  return problems;
}

/** The value a placeholder names; undefined when the context has none. */
export function lookup(name: string, context: TemplateContext): unknown {
  const [root, ...rest] = name.split('.');
  let cur: unknown = context[root!];
  if (rest.length > 0) {
    // Keys after the root are one name (attribute names may hold dots, e.g. `name.givenName`).
    const key = rest.join('.');
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
  }
  return cur;
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

/** A URL with every placeholder's value percent-encoded as one path segment or query value. */
export function renderUrl(template: string, context: TemplateContext): string {
  return template.replace(PLACEHOLDER, (_, name: string) => encodeURIComponent(asText(lookup(name, context))));
}

/** A header value or other plain text; line breaks are refused so no header can be injected. */
export function renderText(template: string, context: TemplateContext): string {
  const out = template.replace(PLACEHOLDER, (_, name: string) => asText(lookup(name, context)));
  if (/[\r\n]/.test(out)) throw new Error('a rendered header holds a line break');
  return out;
}

/**
 * A JSON body from a JSON template: `"{{x}}"` alone becomes x's value (null when absent),
 * text around placeholders makes a string; keys are not templated.
 */
export function renderJson(template: unknown, context: TemplateContext): unknown {
  if (typeof template === 'string') {
    const only = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(template);
    if (only) {
      const v = lookup(only[1]!, context);
      return v === undefined ? null : v instanceof Date ? v.toISOString() : v;
    }
    return template.replace(PLACEHOLDER, (_, name: string) => asText(lookup(name, context)));
  }
  if (Array.isArray(template)) return template.map((x) => renderJson(x, context));
  if (template !== null && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderJson(v, context)]));
  }
  return template;
}
