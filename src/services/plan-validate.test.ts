import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STORE_PLAN_PROBLEM_CODES } from './plan-validate.ts';

const doc = readFileSync(new URL('../../docs/plans.md', import.meta.url), 'utf8');

describe('store plan problem codes', () => {
  it('are each documented in docs/plans.md', () => {
    expect(Object.keys(STORE_PLAN_PROBLEM_CODES).filter((code) => !doc.includes(`| \`${code}\` |`))).toEqual([]);
  });
});
