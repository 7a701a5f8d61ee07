import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './errors.ts';

describe('error codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  it('are each documented in docs/errors.md with their status', () => {
    const missing = Object.entries(ERROR_CODES).filter(([code, { status }]) => !doc.includes(`| \`${code}\` | ${status} |`));
    expect(missing.map(([c]) => c)).toEqual([]);
  });
  it('map to HTTP error statuses', () => {
    for (const { status } of Object.values(ERROR_CODES)) expect(status >= 400 && status < 600).toBe(true);
  });
});
