/**
 * Validating connector settings against a kind's JSON Schema, so the application API can
 * refuse bad settings at save time with one problem per setting, and every factory starts
 * from the same checked, defaulted values.
 */
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import type { JsonSchema } from './contract.ts';
import { refused } from './errors.ts';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function validatorFor(schema: JsonSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (v === undefined) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** The names of the settings a schema marks secret (`writeOnly: true`). */
export function secretSettingNames(schema: JsonSchema): string[] {
  const props = (schema.properties ?? {}) as Record<string, { writeOnly?: boolean }>;
  return Object.entries(props)
    .filter(([, p]) => p.writeOnly === true)
    .map(([name]) => name);
}

/** Settings of every kind, each with its check (undefined when good); see docs/connectors.md. */
export const COMMON_SETTINGS: Readonly<Record<string, (value: unknown) => string | undefined>> = {
  maxConcurrency: (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 64 ? undefined : 'must be a whole number from 1 to 64 (connector calls at once to this application)'),
};

function problemOf(e: ErrorObject): Problem {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') {
    const name = String((e.params as { missingProperty: string }).missingProperty);
    return { code: 'connector.invalid_settings', field: path ? `${path}.${name}` : name, message: 'is required' };
  }
  if (e.keyword === 'additionalProperties') {
    const name = String((e.params as { additionalProperty: string }).additionalProperty);
    return { code: 'connector.invalid_settings', field: path ? `${path}.${name}` : name, message: 'is not a setting of this connector kind' };
  }
  return { code: 'connector.invalid_settings', field: path || '(settings)', message: e.message ?? 'is invalid' };
}

/**
 * Checks plain and secret settings together against the schema, applying defaults. A secret
 * setting given among the plain ones is refused so it is never stored unencrypted.
 */
export function validateSettings(
  schema: JsonSchema,
  settings: Record<string, unknown>,
  secrets: Record<string, string> = {},
): Result<Record<string, unknown>> {
  const secretNames = new Set(secretSettingNames(schema));
  const problems: Problem[] = [];
  for (const name of Object.keys(settings)) {
    if (secretNames.has(name)) problems.push({ code: 'connector.secret_in_settings', field: name, message: 'is secret: give it among the secrets, not the plain settings' });
  }
  for (const name of Object.keys(secrets)) {
    if (!secretNames.has(name)) problems.push({ code: 'connector.invalid_settings', field: name, message: 'is not a secret setting of this connector kind' });
  }
  const merged: Record<string, unknown> = structuredClone({ ...settings, ...secrets });
  // Settings every kind has, handled by Steward rather than the connector; not passed to the kind's schema.
  for (const [name, check] of Object.entries(COMMON_SETTINGS)) {
    if (!(name in merged)) continue;
    const message = check(merged[name]);
    if (message !== undefined) problems.push({ code: 'connector.invalid_settings', field: name, message });
    delete merged[name];
  }
  const validate = validatorFor(schema);
  if (!validate(merged)) problems.push(...(validate.errors ?? []).map(problemOf));
  return problems.length > 0 ? fail(...problems) : ok(merged);
}

/** Like validateSettings, for factories: the merged settings, or a permanent ConnectorError naming each bad one. */
export function settingsOrThrow(schema: JsonSchema, settings: Record<string, unknown>, secrets?: Record<string, string>): Record<string, unknown> {
  const r = validateSettings(schema, settings, secrets);
  if (!r.ok) throw refused('invalid_settings', r.errors);
  return r.value;
}
