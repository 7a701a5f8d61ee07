import { Type } from 'typebox';
import { invalidPlan, type PlanSource } from '../../services/index.ts';
import { toJsonValue, toXml } from '../../plan/index.ts';
import type { FastifyRequest } from 'fastify';
import type { RouteSpec } from '../route.ts';
import { IdParam, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const PlanQuery = Type.Object(
  { identity: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "The target identity (id or userName); overrides the plan's own identity." })) },
  { additionalProperties: false },
);

const PlanBody = {
  description: 'A ProvisioningPlan: XML (Content-Type application/xml or text/xml, SailPoint IdentityIQ form) or JSON (any other content type; see plan.schema.json).',
};

const isXml = (req: FastifyRequest): boolean => /^(application|text)\/xml\b/i.test(req.headers['content-type'] ?? '');

/** The body as a plan source: the XML parser hands over the raw text; JSON arrives parsed. */
export const sourceOf = (req: FastifyRequest): PlanSource => (isXml(req) ? { xml: typeof req.body === 'string' ? req.body : '' } : { json: req.body ?? null });

/** Provisioning plans: validate and preview against the store; an identity's compiled plan. */
export function planRoutes({ services }: RouteDeps): RouteSpec[] {
  const plans = services.plans;
  return [
    {
      method: 'POST',
      url: '/v1.0/plans/validate',
      privilege: 'manage-applications',
      summary: 'Check a provisioning plan against the store: applications, attributes, connector operations, accounts and the target identity; 422 lists every problem',
      tags: ['plans'],
      schema: { ...PlanBody, querystring: PlanQuery, response: { 200: Type.Object({ valid: Type.Literal(true), plan: Type.Unknown() }), ...errors(400, 413, 415, 422) } },
      handler: async (req) => {
        const r = await plans.validate(sourceOf(req), req.query as { identity?: string });
        if (!r.ok) throw invalidPlan(r.errors);
        return { valid: true, plan: toJsonValue(r.value) };
      },
    },
    {
      method: 'POST',
      url: '/v1.0/plans/preview',
      privilege: 'manage-applications',
      summary: 'Preview a provisioning plan: per account, attributes and entitlements before and after; nothing is changed',
      tags: ['plans'],
      schema: {
        ...PlanBody,
        querystring: PlanQuery,
        response: { 200: Type.Object({ plan: Type.Unknown(), accounts: Type.Array(Type.Unknown()) }), ...errors(400, 413, 415, 422) },
      },
      handler: async (req) => {
        const r = await plans.preview(sourceOf(req), req.query as { identity?: string });
        if (!r.ok) throw invalidPlan(r.errors);
        return { plan: toJsonValue(r.value.plan), accounts: r.value.accounts };
      },
    },
    {
      method: 'GET',
      url: '/v1.0/users/:identityId/plan',
      privilege: 'manage-entitlements',
      summary: "The identity's compiled plan: what must change so that its accounts equal its live assignments and mapped attributes (empty when nothing differs)",
      tags: ['plans'],
      schema: {
        params: IdParam('identityId'),
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('xml')], { default: 'json' })) }, { additionalProperties: false }),
        response: { 200: Type.Unknown({ description: 'The plan as JSON, or as XML with ?format=xml.' }), ...errors(400, 404) },
      },
      handler: async (req, reply) => {
        const plan = await plans.compile((req.params as { identityId: string }).identityId);
        if ((req.query as { format?: string }).format === 'xml') return reply.type('application/xml; charset=utf-8').send(toXml(plan));
        return toJsonValue(plan);
      },
    },
  ];
}
