import { describe, expect, it } from 'vitest';
import type { FilterNode } from './filter.ts';
import { COMPARE_OPERATORS, parseAttributePath, parseFilter, parsePatchPath } from './filter.ts';

function parsed(text: string): FilterNode {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(`expected ${text} to parse: ${r.errors[0]!.message}`);
  return r.value;
}

function problem(text: string, options?: Parameters<typeof parseFilter>[1]) {
  const r = parseFilter(text, options);
  if (r.ok) throw new Error(`expected ${text} to fail`);
  expect(r.errors).toHaveLength(1);
  expect(r.errors[0]!.code).toBe('scim.invalid_filter');
  expect(r.errors[0]!.scimType).toBe('invalidFilter');
  return r.errors[0]!;
}

// Strips columns so trees compare by shape.
function shape(n: FilterNode): unknown {
  const p = (x: { uri?: string; attribute: string; subAttribute?: string }) =>
    `${x.uri ? `${x.uri}:` : ''}${x.attribute}${x.subAttribute ? `.${x.subAttribute}` : ''}`;
  switch (n.kind) {
    case 'compare':
      return [p(n.path), n.op, n.value];
    case 'present':
      return [p(n.path), 'pr'];
    case 'and':
    case 'or':
      return { [n.kind]: n.filters.map(shape) };
    case 'not':
      return { not: shape(n.filter) };
    case 'valuePath':
      return { [p(n.path)]: shape(n.filter) };
  }
}

describe('parseFilter: the examples of RFC 7644 §3.4.2.2', () => {
  const cases: [string, unknown][] = [
    ['userName eq "bjensen"', ['userName', 'eq', 'bjensen']],
    ['name.familyName co "O\'Malley"', ['name.familyName', 'co', "O'Malley"]],
    ['userName sw "J"', ['userName', 'sw', 'J']],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', ['urn:ietf:params:scim:schemas:core:2.0:User:userName', 'sw', 'J']],
    ['title pr', ['title', 'pr']],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', ['meta.lastModified', 'gt', '2011-05-13T04:42:34Z']],
    ['meta.lastModified ge "2011-05-13T04:42:34Z"', ['meta.lastModified', 'ge', '2011-05-13T04:42:34Z']],
    ['meta.lastModified lt "2011-05-13T04:42:34Z"', ['meta.lastModified', 'lt', '2011-05-13T04:42:34Z']],
    ['meta.lastModified le "2011-05-13T04:42:34Z"', ['meta.lastModified', 'le', '2011-05-13T04:42:34Z']],
    ['title pr and userType eq "Employee"', { and: [['title', 'pr'], ['userType', 'eq', 'Employee']] }],
    ['title pr or userType eq "Intern"', { or: [['title', 'pr'], ['userType', 'eq', 'Intern']] }],
    [
      'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
      ['schemas', 'eq', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    ],
    [
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      { and: [['userType', 'eq', 'Employee'], { or: [['emails', 'co', 'example.com'], ['emails.value', 'co', 'example.org']] }] },
    ],
    [
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      { and: [['userType', 'ne', 'Employee'], { not: { or: [['emails', 'co', 'example.com'], ['emails.value', 'co', 'example.org']] } }] },
    ],
    ['userType eq "Employee" and (emails.type eq "work")', { and: [['userType', 'eq', 'Employee'], ['emails.type', 'eq', 'work']] }],
    [
      'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      { and: [['userType', 'eq', 'Employee'], { emails: { and: [['type', 'eq', 'work'], ['value', 'co', '@example.com']] } }] },
    ],
    [
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      {
        or: [
          { emails: { and: [['type', 'eq', 'work'], ['value', 'co', '@example.com']] } },
          { ims: { and: [['type', 'eq', 'xmpp'], ['value', 'co', '@foo.com']] } },
        ],
      },
    ],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(shape(parsed(text))).toEqual(expected);
  });

  it('splits a URN prefix at its last colon, keeping the dots of "2.0" in the URN', () => {
    const n = parsed('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"');
    expect(n).toMatchObject({
      kind: 'compare',
      path: { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attribute: 'manager', subAttribute: 'value', column: 1 },
    });
  });
});

describe('parseFilter: operators and literals', () => {
  it.each(COMPARE_OPERATORS)('parses the operator %s in any case', (op) => {
    expect(shape(parsed(`userName ${op} "x"`))).toEqual(['userName', op, 'x']);
    expect(shape(parsed(`userName ${op.toUpperCase()} "x"`))).toEqual(['userName', op, 'x']);
  });

  it('parses pr, and/or/not in any case', () => {
    expect(shape(parsed('title PR AND NOT (x Eq 1) Or y pR'))).toEqual({ or: [{ and: [['title', 'pr'], { not: ['x', 'eq', 1] }] }, ['y', 'pr']] });
  });

  it('reads JSON literals: true, false, null, numbers, escaped strings', () => {
    expect(shape(parsed('active eq true'))).toEqual(['active', 'eq', true]);
    expect(shape(parsed('active eq False'))).toEqual(['active', 'eq', false]);
    expect(shape(parsed('title eq null'))).toEqual(['title', 'eq', null]);
    expect(shape(parsed('n gt -12.5e2'))).toEqual(['n', 'gt', -1250]);
    expect(shape(parsed('n eq 0'))).toEqual(['n', 'eq', 0]);
    expect(shape(parsed(String.raw`x eq "a\"b\\c\/d\n\t\u00e9\u0041"`))).toEqual(['x', 'eq', 'a"b\\c/d\n\té' + 'A']);
  });

  it('accepts a "not" attribute name when no "(" follows, and keywords as attribute names', () => {
    expect(shape(parsed('not pr'))).toEqual(['not', 'pr']);
    expect(shape(parsed('and eq "x" and or eq "y"'))).toEqual({ and: [['and', 'eq', 'x'], ['or', 'eq', 'y']] });
  });

  it('accepts tabs, newlines and missing spaces around brackets and strings', () => {
    expect(shape(parsed('\tuserName\neq\r\n"x"'))).toEqual(['userName', 'eq', 'x']);
    expect(shape(parsed('(userName eq"x")and(title pr)'))).toEqual({ and: [['userName', 'eq', 'x'], ['title', 'pr']] });
  });

  it('reads emails[type eq "work"].value eq "x" as emails[type eq "work" and value eq "x"]', () => {
    expect(shape(parsed('emails[type eq "work"].value eq "a@b.c"'))).toEqual({ emails: { and: [['type', 'eq', 'work'], ['value', 'eq', 'a@b.c']] } });
    expect(shape(parsed('emails[type eq "work" and primary eq true].value pr'))).toEqual({
      emails: { and: [['type', 'eq', 'work'], ['primary', 'eq', true], ['value', 'pr']] },
    });
  });

  it('records the column of each path', () => {
    const n = parsed('title pr and  userType eq "E"');
    expect(n).toMatchObject({ kind: 'and', filters: [{ path: { column: 1 } }, { path: { column: 15 } }] });
  });
});

describe('parseFilter: precedence', () => {
  it('binds and tighter than or', () => {
    expect(shape(parsed('a pr or b pr and c pr'))).toEqual({ or: [['a', 'pr'], { and: [['b', 'pr'], ['c', 'pr']] }] });
    expect(shape(parsed('a pr and b pr or c pr'))).toEqual({ or: [{ and: [['a', 'pr'], ['b', 'pr']] }, ['c', 'pr']] });
  });

  it('lets parentheses override precedence', () => {
    expect(shape(parsed('(a pr or b pr) and c pr'))).toEqual({ and: [{ or: [['a', 'pr'], ['b', 'pr']] }, ['c', 'pr']] });
  });

  it('applies not to its parenthesised operand only', () => {
    expect(shape(parsed('not (a pr) and b pr'))).toEqual({ and: [{ not: ['a', 'pr'] }, ['b', 'pr']] });
  });

  it('keeps long chains flat rather than nested', () => {
    const text = Array.from({ length: 300 }, (_, i) => `a${i} pr`).join(' and ');
    const n = parsed(text);
    expect(n.kind).toBe('and');
    expect(n.kind === 'and' && n.filters).toHaveLength(300);
  });
});

describe('parseFilter: errors name what was expected and where', () => {
  it.each([
    ['', 'expected a filter expression but the filter is empty', 1],
    ['   ', 'expected a filter expression but the filter is empty', 4],
    ['userName', "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName' but found the end of the text", 9],
    ['userName xx "a"', "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName' but found 'xx'", 10],
    ['userName eq', "expected a value after 'eq' (a \"quoted string\", a number, true, false or null) but found the end of the text", 12],
    ['userName eq bjensen', "expected a value after 'eq' (a \"quoted string\", a number, true, false or null) but found 'bjensen'; strings need double quotes", 13],
    ["userName eq 'bjensen'", "unexpected ''' at column 13", 13],
    ['userName eq "x" title pr', "expected 'and', 'or' or the end of the filter but found 'title'", 17],
    ['userName eq "x" and', "expected an attribute name, '(' or 'not' but found the end of the text", 20],
    ['(userName eq "x"', "expected ')' to close the '(' at column 1 but found the end of the text", 17],
    ['userName eq "x")', "unbalanced ')': no '(' is open", 16],
    ['not userName eq "x"', "expected '(' after 'not' but found 'userName'", 5],
    ['emails[type eq "work"', "expected ']' to close the '[' at column 7 but found the end of the text", 22],
    ['emails[]', "expected a filter inside 'emails[…]' but found ']'", 8],
    ['emails[type[value eq "x"] pr]', "a value filter cannot nest inside 'emails[…]'", 12],
    ['emails[name.givenName eq "x"]', "inside 'emails[…]' name a sub-attribute of emails (e.g. 'value' or 'type'), not 'name.givenName'", 8],
    ['name.givenName[x eq "y"]', "'[' must follow the attribute itself, not its sub-attribute 'name.givenName'", 15],
    ['a.b.c eq "x"', "'a.b.c' has more than one sub-attribute; SCIM paths are attribute or attribute.subAttribute", 1],
    ['foo:bar eq "x"', "':' may appear only in a schema URN prefix (urn:…), not in 'foo:bar'", 4],
    ['urn:ietf:params:scim:schemas:core:2.0:User: eq "x"', "expected an attribute name after the schema URN 'urn:ietf:params:scim:schemas:core:2.0:User'", 44],
    ['name. eq "x"', "expected an attribute name (a letter, then letters, digits, '_' or '-') but found an empty name", 6],
    ['_x eq "x"', "expected an attribute name (a letter, then letters, digits, '_' or '-') but found '_x'", 1],
    ['x eq 01', "malformed number '01'", 6],
    ['x eq 1.', "malformed number '1.'", 6],
    ['x eq -', "expected a number but found '-'", 6],
    ['x eq "abc', 'unterminated string (no closing \'"\') starting', 6],
    ['x eq "abc\\', 'unterminated string (no closing \'"\') starting', 6],
    ['x eq "a\\qb"', 'invalid escape \\q in string', 8],
    ['x eq "a\\u12G4"', 'expected four hex digits after \\u', 8],
    ['x eq "a\u0000b"', 'control character U+0000 inside a string; escape it as \\u0000', 8],
    ['x eq "a\nb"', 'control character U+000A inside a string; escape it as \\u000a', 8],
    ['x eq "a" \u0007', 'unexpected control character U+0007', 10],
    ['x eq "a" ; DROP TABLE users', "unexpected ';'", 10],
    ['x eq "a")]', "unbalanced ')': no '(' is open", 9],
  ])('%j', (text, message, column) => {
    const p = problem(text);
    expect(p.message).toContain(message);
    expect(p.message).toContain(`at column ${column}`);
    expect(p.column).toBe(column);
  });
});

describe('parseFilter: limits on hostile input', () => {
  it('refuses a filter longer than the limit, naming both lengths', () => {
    const text = `userName eq "${'a'.repeat(5000)}"`;
    const p = problem(text);
    expect(p.message).toBe(`the filter is ${text.length} characters long; at most 4096 are accepted`);
    expect(p.column).toBe(4097);
    expect(parseFilter('userName eq "abc"', { maxLength: 10 }).ok).toBe(false);
  });

  it('accepts a filter exactly at the length limit', () => {
    const text = `userName eq "${'a'.repeat(4096 - 14)}"`;
    expect(text).toHaveLength(4096);
    expect(parseFilter(text).ok).toBe(true);
  });

  it('refuses nesting deeper than the limit, at the column of the first excess level', () => {
    const deep = `${'('.repeat(33)}a pr${')'.repeat(33)}`;
    const p = problem(deep);
    expect(p.message).toBe('the filter nests deeper than 32 levels at column 33');
    expect(parseFilter(`${'('.repeat(32)}a pr${')'.repeat(32)}`).ok).toBe(true);
    expect(parseFilter(`${'not ('.repeat(5)}a pr${')'.repeat(5)}`, { maxDepth: 4 }).ok).toBe(false);
  });

  it('refuses ten thousand opening parentheses without exhausting the stack', () => {
    const r = parseFilter('('.repeat(10_000), { maxLength: 20_000 });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]!.message).toContain('nests deeper than 32 levels');
  });

  it('refuses a long alternation of parentheses and nots only by depth, never by crashing', () => {
    const r = parseFilter(`${'not ('.repeat(700)}a pr${')'.repeat(700)}`);
    expect(r.ok).toBe(false);
  });

  it('parses SQL-looking text inside strings as plain string values', () => {
    expect(shape(parsed(`userName eq "x' OR 1=1 --"`))).toEqual(['userName', 'eq', "x' OR 1=1 --"]);
    expect(shape(parsed(`userName eq "'; DROP TABLE scim_users; --"`))).toEqual(['userName', 'eq', "'; DROP TABLE scim_users; --"]);
  });
});

describe('parseAttributePath', () => {
  it('parses attributes, sub-attributes and URN-prefixed paths', () => {
    expect(parseAttributePath('userName')).toEqual({ ok: true, value: { attribute: 'userName', column: 1 } });
    expect(parseAttributePath(' name.familyName ')).toEqual({ ok: true, value: { attribute: 'name', subAttribute: 'familyName', column: 2 } });
    expect(parseAttributePath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department')).toEqual({
      ok: true,
      value: { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attribute: 'department', column: 1 },
    });
    expect(parseAttributePath('members.$ref')).toEqual({ ok: true, value: { attribute: 'members', subAttribute: '$ref', column: 1 } });
  });

  it('refuses filters and trailing text with invalidPath', () => {
    const r = parseAttributePath('emails[type eq "work"]');
    expect(r).toMatchObject({ ok: false, errors: [{ code: 'scim.invalid_path', scimType: 'invalidPath', column: 7 }] });
    expect(parseAttributePath('')).toMatchObject({ ok: false, errors: [{ message: 'expected an attribute name but found the end of the text at column 1' }] });
  });
});

describe('parsePatchPath', () => {
  it('parses a value path with a trailing sub-attribute', () => {
    const r = parsePatchPath('emails[type eq "work"].value');
    expect(r.ok && { ...r.value, filter: shape(r.value.filter!) }).toEqual({ attribute: 'emails', column: 1, filter: ['type', 'eq', 'work'], valueSubAttribute: 'value' });
  });

  it('parses members[value eq "…"] and URN paths', () => {
    const r = parsePatchPath('members[value eq "2819c223-7f76-453a-919d-413861904646"]');
    expect(r.ok && shape(r.value.filter!)).toEqual(['value', 'eq', '2819c223-7f76-453a-919d-413861904646']);
    expect(parsePatchPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager')).toMatchObject({
      ok: true,
      value: { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attribute: 'manager' },
    });
  });

  it('reports path errors as invalidPath with a column', () => {
    expect(parsePatchPath('emails[type eq "work"].')).toMatchObject({
      ok: false,
      errors: [{ scimType: 'invalidPath', message: "expected a sub-attribute name after '.' but found the end of the text at column 24" }],
    });
    expect(parsePatchPath('emails[type eq "work"] x')).toMatchObject({ ok: false, errors: [{ column: 24 }] });
  });
});
