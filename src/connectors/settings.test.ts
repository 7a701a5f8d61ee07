import { describe, expect, it } from 'vitest';
import { validateSettings } from './settings.ts';
import { scimSettingsSchema } from './scim/settings.ts';

describe('validateSettings', () => {
  it('applies defaults', () => {
    const r = validateSettings(scimSettingsSchema, { baseUrl: 'https://x.example/scim/v2' }, { token: 't0ken' });
    expect(r.ok && r.value).toMatchObject({ auth: 'bearer', pageSize: 200, timeoutMs: 30000 });
  });
  it('refuses a secret given among the plain settings, naming it', () => {
    const r = validateSettings(scimSettingsSchema, { baseUrl: 'https://x.example/scim/v2', token: 't0ken' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual(expect.objectContaining({ code: 'connector.secret_in_settings', field: 'token' }));
  });
  it('names a missing setting that the chosen auth needs', () => {
    const r = validateSettings(scimSettingsSchema, { baseUrl: 'https://x.example/scim/v2', auth: 'oauth2_client_credentials', clientId: 'c' }, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.field)).toEqual(expect.arrayContaining(['tokenUrl', 'clientSecret']));
  });
  it('names an unknown setting and a wrong type', () => {
    const r = validateSettings(scimSettingsSchema, { baseUrl: 'https://x.example/scim/v2', pagesize: 5, timeoutMs: 'soon' }, { token: 't0ken' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toContainEqual(expect.objectContaining({ field: 'pagesize', message: expect.stringContaining('not a setting') }));
      expect(r.errors).toContainEqual(expect.objectContaining({ field: 'timeoutMs' }));
    }
  });
});

describe('common settings', () => {
  const schema = { type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } };
  it('accepts maxConcurrency on any kind and keeps it from the kind', () => {
    const r = validateSettings(schema, { a: 'x', maxConcurrency: 3 });
    expect(r).toEqual({ ok: true, value: { a: 'x' } });
  });
  it('refuses a bad maxConcurrency naming it', () => {
    const r = validateSettings(schema, { maxConcurrency: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ field: 'maxConcurrency' });
  });
});
