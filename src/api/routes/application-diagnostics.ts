import { Type } from 'typebox';
import type { RouteSpec } from '../route.ts';
import { IdParam, errors } from '../schemas.ts';
import { AttributeSchemaWire } from './application-schemas.ts';
import type { RouteDeps } from './deps.ts';

const AppId = IdParam('applicationId');
type AppIdT = { applicationId: string };

const ConnectionTestWire = Type.Object({
  ok: Type.Boolean(),
  message: Type.String({ description: 'What was found, or what to check; never a secret.' }),
  errorKind: Type.Optional(Type.Union([Type.Literal('retryable'), Type.Literal('rate_limited'), Type.Literal('permanent')], { description: 'How a failure classifies: retryable (try again later), rate_limited, permanent (fix the settings).' })),
  durationMs: Type.Integer(),
});

const EntitlementKinds = Type.Array(Type.String());

const MergedSchemaWire = Type.Object({
  connector: Type.Union([Type.Object({ account: Type.Object({ attributes: Type.Array(AttributeSchemaWire) }), entitlementKinds: EntitlementKinds }), Type.Null()], {
    description: 'What the target reported through the connector, or null when it could not be read.',
  }),
  connectorError: Type.Optional(Type.String({ description: 'Why the connector’s schema could not be read.' })),
  application: Type.Object({ attributes: Type.Array(AttributeSchemaWire) }, { description: 'The application’s own account schema, as stored.' }),
  attributes: Type.Array(
    Type.Object({
      ...AttributeSchemaWire.properties,
      source: Type.Union([Type.Literal('connector'), Type.Literal('application'), Type.Literal('both')], { description: 'Where the attribute is defined.' }),
      conflict: Type.Optional(Type.String({ description: 'Where the two disagree; the application’s definition is the one used.' })),
    }),
  ),
  entitlementKinds: EntitlementKinds,
});

/** Interactive diagnostics of an application's connector: a short, read-only call to the target. */
export function applicationDiagnosticRoutes({ services }: RouteDeps): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/v1.0/applications/:applicationId/test',
      privilege: 'manage-applications',
      summary: 'Test the connection to the application with its stored settings and secrets (short timeout; nothing is written)',
      tags: ['applications'],
      schema: { params: AppId, response: { 200: ConnectionTestWire, ...errors(400, 404) } },
      handler: async (req) => services.diagnostics.test((req.params as AppIdT).applicationId),
    },
    {
      method: 'GET',
      url: '/v1.0/applications/:applicationId/schema',
      privilege: 'manage-applications',
      summary: "The connector's discovered account schema merged with the application's own, each attribute saying where it comes from",
      tags: ['applications'],
      schema: { params: AppId, response: { 200: MergedSchemaWire, ...errors(400, 404) } },
      handler: async (req) => services.diagnostics.schema((req.params as AppIdT).applicationId),
    },
  ];
}
