import { Type } from 'typebox';
import { listAudit, verifyAudit } from '../../store/audit.ts';
import { decodeCursor, pageOf } from '../cursor.ts';
import type { RouteSpec } from '../route.ts';
import { DateTime, Nullable, Page, PageQuery, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const AuditEvent = Type.Object({
  seq: Type.Integer(),
  id: Type.String(),
  at: DateTime,
  actor: Type.String(),
  action: Type.String(),
  objectType: Type.String(),
  objectId: Nullable(Type.String()),
  before: Type.Unknown(),
  after: Type.Unknown(),
  prevHash: Type.String(),
  hash: Type.String(),
});

/** The audit trail: who changed what, hash-chained. */
export function auditRoutes({ services }: RouteDeps): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1.0/audit',
      privilege: 'read-audit',
      summary: 'Audit events, oldest first, filtered by object, actor and time',
      tags: ['audit'],
      schema: {
        querystring: Type.Object(
          {
            ...PageQuery,
            objectType: Type.Optional(Type.String({ maxLength: 100 })),
            objectId: Type.Optional(Type.String({ maxLength: 200 })),
            actor: Type.Optional(Type.String({ maxLength: 200 })),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEvent), ...errors(400) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; objectType?: string; objectId?: string; actor?: string; from?: string; to?: string };
        const after = decodeCursor(q.cursor, 1);
        const rows = await listAudit(services.db.k, {
          objectType: q.objectType,
          objectId: q.objectId,
          actor: q.actor,
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
          afterSeq: after ? Number(after[0]) : undefined,
          limit: q.limit + 1,
        });
        return pageOf(rows, q.limit, (r) => [r.seq], (r) => ({
          seq: r.seq,
          id: r.id,
          at: r.at,
          actor: r.actor,
          action: r.action,
          objectType: r.object_type,
          objectId: r.object_id,
          before: r.before,
          after: r.after,
          prevHash: r.prev_hash,
          hash: r.hash,
        }));
      },
    },
    {
      method: 'GET',
      url: '/v1.0/audit/verify',
      privilege: 'read-audit',
      summary: 'Check the whole hash chain; reports the first broken link',
      tags: ['audit'],
      schema: {
        response: {
          200: Type.Object({ ok: Type.Boolean(), events: Type.Integer(), brokenAt: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String()), lastHash: Type.Optional(Type.String()) }),
          ...errors(),
        },
      },
      handler: async () => verifyAudit(services.db.k),
    },
  ];
}
