import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { Problem } from '../domain/result.ts';
import { fieldKey, planProblem } from './codes.ts';
import schema from './plan.schema.json' with { type: 'json' };

/**
 * Checks JSON against the published plan schema with ajv, and turns ajv's errors into one
 * clear problem per fault: ajv reports every failed branch of an `anyOf`, which reads as
 * noise, so those collapse into a single message for the innermost value at fault.
 */

/** The published JSON Schema (draft 2020-12) of the plan's JSON form. */
export const PLAN_JSON_SCHEMA: typeof schema = schema;

let compiled: ValidateFunction | undefined;

// Compiling is the costly part and the schema never changes: compile once, on first use.
function validator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, strict: true, verbose: true }).compile(schema);
  return compiled;
}

/** Every way the JSON value breaks the schema, as problems naming the field; empty when it conforms. */
export function schemaProblems(json: unknown, maxProblems: number): Problem[] {
  const validate = validator();
  if (validate(json)) return [];
  return clarify(validate.errors ?? [])
    .slice(0, maxProblems)
    .map((e) => {
      const field = fieldOf(e.instancePath);
      return planProblem('plan.json.schema', `${field}: ${messageOf(e)}`, { field });
    });
}

/** A JSON pointer as a field path: `/accountRequests/0/op` → `accountRequests[0].op`. */
export function fieldOf(pointer: string): string {
  if (pointer === '') return '(plan)';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out = /^(0|[1-9][0-9]*)$/.test(seg) ? `${out}[${seg}]` : fieldKey(out, seg);
  }
  return out;
}

const ANY_OF_MESSAGES = new Map<unknown, string>([
  [schema.$defs.date.properties.date, 'must be an ISO 8601 date (with an offset when it has a time) or epoch milliseconds'],
  [schema.$defs.scalar, 'must be a string, an integer, a boolean or { "date": … }'],
  [schema.$defs.value, 'must be a string, an integer, a boolean, { "date": … } or a list of those'],
  [schema.$defs.arguments.additionalProperties, 'must be a string, an integer, a boolean, { "date": … }, a list of those, or null'],
]);

const under = (path: string, base: string): boolean => path === base || path.startsWith(`${base}/`);

/**
 * Keeps, of the failed `anyOf`s, the innermost location (and there the outermost schema,
 * which ajv reports last), drops the branch errors beneath them, and drops what concerns a
 * `__proto__` key or an argument name, which are reported once in plainer words.
 */
function clarify(errors: ErrorObject[]): ErrorObject[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  const chosen = new Map<string, ErrorObject>();
  for (const a of anyOfs) {
    const deeper = anyOfs.some((b) => b.instancePath !== a.instancePath && under(b.instancePath, a.instancePath));
    if (!deeper) chosen.set(a.instancePath, a);
  }
  return errors.filter((e) => {
    if (e.instancePath.split('/').includes('__proto__')) return false;
    if (e.keyword === 'anyOf') return chosen.get(e.instancePath) === e;
    if (anyOfs.some((a) => under(e.instancePath, a.instancePath))) return false;
    const params = e.params as { additionalProperty?: string; propertyName?: string };
    if (params.additionalProperty === '__proto__' || params.propertyName === '__proto__') return false;
    return (e as { propertyName?: string }).propertyName === undefined; // the propertyNames error itself says it
  });
}

function messageOf(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'anyOf':
    {
      const why = ANY_OF_MESSAGES.get(e.parentSchema) ?? 'does not match any accepted form';
      return typeof e.data === 'number' && !Number.isInteger(e.data) ? `${e.data} is not an integer; a value ${why}` : why;
    }
    case 'additionalProperty':
    case 'additionalProperties':
      return `has no field '${String(params.additionalProperty)}'`;
    case 'required':
      return `the field '${String(params.missingProperty)}' is required`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'type':
      return `must be ${article(String(params.type))}`;
    case 'minLength':
      return 'must not be empty';
    case 'pattern':
      return /\/rights\/[0-9]+$/.test(e.instancePath) ? 'a right cannot contain a comma (rights are written as CSV in XML)' : `must match ${String(params.pattern)}`;
    case 'propertyNames':
      return params.propertyName === '' ? 'an argument name must not be empty' : `the name '${String(params.propertyName)}' is not allowed`;
    default:
      return e.message ?? 'is not valid';
  }
}

const article = (type: string): string => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
