import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Services } from '../services/index.ts';
import { createAuthenticator, registerAuth, type Authenticator } from './auth.ts';
import { registerErrorHandling } from './errors.ts';
import { createMetrics } from './metrics.ts';
import { toRouteOptions, type RouteSpec } from './route.ts';
import { ErrorResponse } from './schemas.ts';
import { routes } from './routes/index.ts';
import { registerDecisionRoutes } from './routes/decisions.ts';
import { REDACT_PATHS } from './redact.ts';
import { validatorCompiler } from './validation.ts';

export interface AppOptions {
  services: Services;
  /** Pino logger options, or false for none (tests). */
  logger?: FastifyServerOptions['logger'];
  /** Largest accepted JSON body, bytes. */
  bodyLimit?: number;
  /** Largest accepted CSV upload, bytes. */
  importLimit?: number;
  /** Extra tokens (the local CLI's) mapped to actors. */
  authenticator?: Authenticator;
}

export interface StewardApp extends FastifyInstance {
  stewardRoutes: RouteSpec[];
}

/** Builds the HTTP application, ready for `inject` or `listen`. */
export async function buildApp(opts: AppOptions): Promise<StewardApp> {
  const logger = opts.logger === undefined ? false : opts.logger;
  const app = Fastify({
    logger: logger === false ? false : { ...(typeof logger === 'object' ? logger : {}), redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
  }) as unknown as StewardApp;

  // Query strings and path parameters arrive as text and are coerced to their declared
  // types; JSON bodies are not: `"active": "yes"` or a number for a name is an error.
  app.setValidatorCompiler(validatorCompiler());

  // SCIM clients send application/scim+json; it is JSON.
  app.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, (req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (e) {
      const err = e as Error & { statusCode?: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  // Provisioning plans in XML go to the plan reader as text (it reports lines and columns); the body limit applies.
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (_req, body, done) => done(null, body));

  // CSV uploads are streamed to the importer, never buffered whole.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_req, payload, done) => done(null, payload));

  app.addSchema(ErrorResponse);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Steward API', version: '0.1.0', description: 'Identity governance and provisioning. Every route but health, metrics and docs needs a bearer token with the privilege the route names.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API client token (stw_…).' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerErrorHandling(app);
  const auth = opts.authenticator ?? createAuthenticator(opts.services.clients);
  registerAuth(app, auth);
  const metrics = createMetrics(app);

  const specs = routes({ services: opts.services, metrics, auth, importLimit: opts.importLimit ?? 512 * 1024 * 1024 });
  for (const r of specs) app.route(toRouteOptions(r));
  // Email decision links and Slack buttons: authenticated by their single-use token or
  // Slack's signature, with their own form parser, in a scope of their own.
  const slack = opts.services.workflows.runnerDeps.slack;
  const callbacks = await registerDecisionRoutes(app, { db: opts.services.db, sink: opts.services.workflows.sink, ...(slack ? { slack: { signingSecret: slack.signingSecret } } : {}) });
  app.stewardRoutes = [...specs, ...callbacks];
  app.get('/openapi.json', { schema: { hide: true }, config: { privilege: 'public' } }, async () => app.swagger());
  await app.ready();
  return app;
}
