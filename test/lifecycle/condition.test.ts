import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCondition, type Facts } from '../../src/lifecycle/index.ts';

const person: Facts = { department: 'Sales', title: 'Engineer', kind: 'employee', status: 'active', active: true, location: 'Paris', groups: ['Admins', 'Everyone'], costCenter: null };

const test = (src: string, facts: Facts = person) => {
  const c = parseCondition(src);
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.value.test(facts);
};
const errors = (src: unknown) => {
  const c = parseCondition(src);
  if (c.ok) throw new Error(`${String(src)} parsed`);
  return c.errors;
};

describe('condition language', () => {
  it('evaluates comparisons, lists, membership, and/or/not with precedence', () => {
    expect(test('department == "Sales"')).toBe(true);
    expect(test("department != 'Sales'")).toBe(false);
    expect(test('location in ["Paris", "Lyon"] and kind == "employee"')).toBe(true);
    expect(test('"Admins" in groups')).toBe(true);
    expect(test('groups contains "Nobody"')).toBe(false);
    expect(test('title startsWith "Eng" && !(department == "HR")')).toBe(true);
    expect(test('department == "HR" or department == "Sales" and kind == "vendor"')).toBe(false);
    expect(test('(department == "HR" or department == "Sales") and active')).toBe(true);
    expect(test('costCenter == null')).toBe(true);
    expect(test('not active')).toBe(false);
    expect(test('title >= "E" and title < "F"')).toBe(true);
    expect(test('true')).toBe(true);
  });

  it('treats a missing attribute as null: it matches nothing but == null', () => {
    expect(test('department == "Sales"', {})).toBe(false);
    expect(test('department in ["Sales"]', {})).toBe(false);
    expect(test('department == null', {})).toBe(true);
  });

  it('names the attributes a condition reads', () => {
    const c = parseCondition('department == "x" and "a" in groups');
    expect(c.ok && [...c.value.attributes].sort()).toEqual(['department', 'groups']);
  });

  it('rejects syntax errors with their line and column', () => {
    expect(errors('department == "Sales" and')).toEqual([expect.objectContaining({ code: 'rule.invalid_condition', field: 'condition', line: 1, column: 26, message: expect.stringContaining('end of the condition') })]);
    expect(errors('department = "Sales"')[0]).toMatchObject({ line: 1, column: 12, message: expect.stringContaining("'=='") });
    expect(errors('kind == "employee"\n  and (title == "x"')[0]).toMatchObject({ line: 2, column: 20, message: expect.stringContaining("expected ')'") });
    expect(errors('department == "Sales')[0]).toMatchObject({ line: 1, column: 15, message: 'unterminated string' });
    expect(errors('department == "a" department')[0]).toMatchObject({ column: 19 });
    expect(errors('department in ["a", 3]')[0]).toMatchObject({ column: 21, message: expect.stringContaining('strings only') });
    expect(errors('department == "a" # comment')[0]).toMatchObject({ column: 19, message: expect.stringContaining('unexpected character') });
  });

  it('rejects unknown attributes where they are written', () => {
    const e = errors('department == "x" and\njobcode == "7"');
    expect(e).toEqual([expect.objectContaining({ line: 2, column: 1, message: expect.stringContaining("unknown attribute 'jobcode'") })]);
  });

  it('rejects wrong types where the operator is', () => {
    expect(errors('department == true')[0]).toMatchObject({ column: 12, message: expect.stringContaining('two strings, two booleans') });
    expect(errors('department == 42')[0]).toMatchObject({ message: expect.stringContaining('quote the number') });
    expect(errors('groups == "Admins"')[0]).toMatchObject({ column: 8 });
    expect(errors('"Admins" in department')[0]).toMatchObject({ column: 10, message: expect.stringContaining('a list on the right') });
    expect(errors('department')[0]).toMatchObject({ message: expect.stringContaining('must be true or false') });
    expect(errors('active and department')[0]).toMatchObject({ column: 12, message: expect.stringContaining("'and' needs a boolean") });
    expect(errors('not department')[0]).toMatchObject({ column: 1 });
  });

  it('refuses what is not a condition at all', () => {
    expect(errors(42)[0]!.message).toBe('must be a string');
    expect(errors('   ')[0]!.message).toContain('is empty');
    expect(errors('x'.repeat(5000))[0]!.message).toContain('longer than');
    expect(errors('('.repeat(200) + 'active' + ')'.repeat(200))[0]!.message).toContain('nested more than');
    expect(errors('!'.repeat(200) + 'active')[0]!.message).toContain('nested more than');
  });

  it('never throws on arbitrary input, and every problem has a position', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const c = parseCondition(s);
        if (!c.ok) for (const p of c.errors) expect(p.line).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
    const tokens = fc.constantFrom('department', 'groups', 'active', '"x"', '["a"]', '==', '!=', 'in', 'and', 'or', 'not', '(', ')', 'contains', '<', 'null', 'true', ',', '[', ']');
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 30 }), (ts) => {
        const c = parseCondition(ts.join(' '));
        if (c.ok) expect(typeof c.value.test(person)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
