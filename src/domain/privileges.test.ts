import { describe, expect, it } from 'vitest';
import { grants } from './privileges.ts';

describe('grants', () => {
  it('admin implies every privilege', () => {
    expect(grants(['admin'], 'read-audit')).toBe(true);
  });
  it('a client without the privilege is refused', () => {
    expect(grants(['manage-applications'], 'read-audit')).toBe(false);
    expect(grants(['read-audit'], 'read-audit')).toBe(true);
  });
});
