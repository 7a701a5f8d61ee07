import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const base: Options = { removeAdditional: false, useDefaults: true, allErrors: true, strict: false };

function make(options: Options): Ajv {
  const ajv = new Ajv({ ...base, ...options });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

/** Validators per part of a request: coercing for text parts, exact for JSON bodies. */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const exact = make({ coerceTypes: false });
  const coercing = make({ coerceTypes: 'array' });
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? exact : coercing;
    return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}
