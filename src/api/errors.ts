import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, StewardError, type ErrorCode } from '../domain/errors.ts';
import type { Problem } from '../domain/result.ts';

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** The JSON body of every error on the v1.0 API. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; problems: Problem[] };
  requestId: string;
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns Fastify's schema-validation errors into problems that name the field and the reason. */
function validationProblems(err: FastifyError): Problem[] {
  const context = (err as FastifyError & { validationContext?: string }).validationContext ?? 'body';
  return ((err.validation ?? []) as AjvError[]).map((v) => {
    const path = (v.instancePath ?? '').split('/').filter(Boolean).join('.');
    let field = path ? `${context}.${path}` : context;
    let message = v.message ?? 'is not valid';
    if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') {
      field = `${field}.${v.params.additionalProperty}`;
      message = 'is not a known field';
    } else if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') {
      field = `${field}.${v.params.missingProperty}`;
      message = 'is required';
    }
    return { code: 'request.invalid', field, message };
  });
}

/** Maps any error a route throws to a StewardError with a stable code. */
export function toStewardError(err: unknown): StewardError {
  if (err instanceof StewardError) return err;
  const e = err as FastifyError;
  if (e?.validation) {
    const problems = validationProblems(e);
    return new StewardError('request.invalid', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems, scimType: 'invalidValue' });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new StewardError('request.too_large', 'the request body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new StewardError('request.unsupported_media_type', `content type ${String((e as { message?: string }).message ?? '')}`.trim());
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new StewardError('request.invalid', 'body: a JSON body is required', { problems: [{ code: 'request.invalid', field: 'body', message: 'is empty' }], scimType: 'invalidSyntax' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new StewardError('request.invalid', `body: ${e.message}`, { problems: [{ code: 'request.invalid', field: 'body', message: e.message }], scimType: 'invalidSyntax' });
  }
  if (e instanceof SyntaxError || (e?.statusCode === 400 && typeof e.message === 'string')) {
    return new StewardError('request.invalid', `body: ${e.message}`, { problems: [{ code: 'request.invalid', field: 'body', message: e.message }], scimType: 'invalidSyntax' });
  }
  return new StewardError('internal', 'an unexpected error happened; the server log has details under the request id', { cause: err });
}

/** Sends an error in the route's protocol: SCIM's error format or Steward's JSON body. */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const se = toStewardError(err);
  const status = ERROR_CODES[se.code].status;
  if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code: se.code }, se.message);
  if (req.routeOptions.config?.scim) {
    return reply
      .status(status)
      .type('application/scim+json')
      .send({ schemas: [SCIM_ERROR_SCHEMA], status: String(status), ...(se.scimType ? { scimType: se.scimType } : {}), detail: se.message });
  }
  const body: ErrorBody = { error: { code: se.code, message: se.message, problems: se.problems }, requestId: req.id };
  return reply.status(status).type('application/json').send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, new StewardError('route.not_found', `no route for ${req.method} ${req.url.split('?')[0]}`)),
  );
}
