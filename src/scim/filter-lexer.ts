import type { Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { ScimProblem, ScimType } from './errors.ts';
import { scimProblem } from './errors.ts';

/** One token of a SCIM filter or attribute path; `column` is 1-based. */
export type Token =
  | { kind: 'word'; text: string; column: number }
  | { kind: 'string'; value: string; column: number }
  | { kind: 'number'; value: number; text: string; column: number }
  | { kind: '(' | ')' | '[' | ']' | '.' | 'end'; column: number };

const WORD_START = /[A-Za-z$_]/;
const WORD_CHAR = /[A-Za-z0-9$_:.-]/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Describes a character for an error message, naming control characters by code point. */
export function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) return `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${ch}'`;
}

/**
 * Splits filter text into tokens. Strings follow JSON (RFC 8259) exactly, since RFC 7644
 * says filter values are JSON literals: raw control characters inside them are refused.
 */
export function tokenize(text: string, scimType: ScimType): Result<Token[], ScimProblem> {
  const tokens: Token[] = [];
  const err = (message: string, index: number) => fail(scimProblem(scimType, `${message} at column ${index + 1}`, { column: index + 1 }));
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === '[' || ch === ']' || ch === '.') {
      tokens.push({ kind: ch, column: i + 1 });
      i++;
      continue;
    }
    if (ch === '"') {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) return err('unterminated string (no closing \'"\') starting', start);
        const c = text[i]!;
        if (c === '"') break;
        if (c.charCodeAt(0) < 0x20) return err(`${describeChar(c)} inside a string; escape it as \\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`, i);
        if (c === '\\') {
          const e = text[i + 1];
          if (e === undefined) return err('unterminated string (no closing \'"\') starting', start);
          if (e === 'u') {
            const hex = text.slice(i + 2, i + 6);
            if (!/^[0-9A-Fa-f]{4}$/.test(hex)) return err('expected four hex digits after \\u', i);
            value += String.fromCharCode(parseInt(hex, 16));
            i += 6;
            continue;
          }
          const decoded = ESCAPES[e];
          if (decoded === undefined || !Object.hasOwn(ESCAPES, e)) return err(`invalid escape \\${e} in string (expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`, i);
          value += decoded;
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      tokens.push({ kind: 'string', value, column: start + 1 });
      i++;
      continue;
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const m = NUMBER.exec(text.slice(i));
      if (!m) return err(`expected a number but found ${describeChar(ch)}`, i);
      const after = text[i + m[0].length];
      if (after !== undefined && WORD_CHAR.test(after)) return err(`malformed number '${text.slice(i, i + m[0].length + 1)}'`, i);
      tokens.push({ kind: 'number', value: Number(m[0]), text: m[0], column: i + 1 });
      i += m[0].length;
      continue;
    }
    if (WORD_START.test(ch)) {
      const start = i;
      while (i < text.length && WORD_CHAR.test(text[i]!)) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), column: start + 1 });
      continue;
    }
    return err(`unexpected ${describeChar(ch)}`, i);
  }
  tokens.push({ kind: 'end', column: text.length + 1 });
  return ok(tokens);
}
