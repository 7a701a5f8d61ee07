import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../store/crypto.ts';
import { maskSecrets, mergeSecrets } from './application-secrets.ts';

const box = createSecretBox(randomBytes(32));

describe('mergeSecrets', () => {
  it('seals new values one by one and reports them changed', () => {
    const m = mergeSecrets(box, {}, { token: 'abc', key: 'def' });
    expect(m.problems).toEqual([]);
    expect(m.changed.sort()).toEqual(['key', 'token']);
    expect(m.plain).toEqual({ token: 'abc', key: 'def' });
    expect(box.open(m.sealed.token!)).toBe('abc');
    expect(JSON.stringify(m.sealed)).not.toContain('abc');
  });

  it('keeps a stored secret sent as the mask or left out, removes one sent as null', () => {
    const stored = mergeSecrets(box, {}, { a: '1', b: '2', c: '3' }).sealed;
    const m = mergeSecrets(box, stored, { a: '********', c: null });
    expect(m.problems).toEqual([]);
    expect(m.sealed).toEqual({ a: stored.a, b: stored.b });
    expect(m.plain).toEqual({ a: '1', b: '2' });
    expect(m.changed).toEqual(['c']);
  });

  it('refuses the mask without a stored secret and an empty value, naming them', () => {
    const m = mergeSecrets(box, {}, { a: '********', b: '' });
    expect(m.problems.map((p) => p.field)).toEqual(['secrets.a', 'secrets.b']);
  });

  it('treats removing a secret that is not stored as no change', () => {
    expect(mergeSecrets(box, {}, { a: null }).changed).toEqual([]);
  });
});

describe('maskSecrets', () => {
  it('shows names only, sorted', () => {
    expect(maskSecrets({ z: 'v1:xxx', a: 'v1:yyy' })).toEqual({ a: '********', z: '********' });
  });
});
