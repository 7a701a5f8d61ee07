import { Type } from 'typebox';
import { ACCOUNT_STATES, type AccountState } from '../../services/accounts.ts';
import { decodeCursor } from '../cursor.ts';
import type { RouteSpec } from '../route.ts';
import { DateTime, Nullable, Page, PageQuery, Uuid, errors } from '../schemas.ts';
import { wirePage } from './applications.ts';
import type { RouteDeps } from './deps.ts';

const AccountWire = Type.Object({
  id: Uuid,
  applicationId: Uuid,
  nativeIdentity: Type.String(),
  identityId: Nullable(Type.String()),
  state: Type.String(),
  enabled: Type.Boolean(),
  locked: Type.Boolean(),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  createdAt: DateTime,
  updatedAt: DateTime,
});

/** Accounts: what reconciliation found in each application (read-only here). */
export function accountRoutes({ services }: RouteDeps): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/appaccess/v1.0/applications/:applicationId/accounts',
      privilege: 'manage-applications',
      summary: "An application's accounts by native identity, filtered by state, identity or native identity prefix",
      tags: ['accounts'],
      schema: {
        params: Type.Object({ applicationId: Uuid }, { additionalProperties: false }),
        querystring: Type.Object(
          {
            ...PageQuery,
            state: Type.Optional(Type.Enum(ACCOUNT_STATES, { description: ACCOUNT_STATES.join(' | ') })),
            identityId: Type.Optional(Uuid),
            nativeIdentityPrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Native identities starting with this (case-sensitive).' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AccountWire), ...errors(400, 404) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; state?: AccountState; identityId?: string; nativeIdentityPrefix?: string };
        return wirePage(
          await services.accounts.list((req.params as { applicationId: string }).applicationId, {
            state: q.state,
            identityId: q.identityId,
            nativeIdentityPrefix: q.nativeIdentityPrefix,
            after: decodeCursor(q.cursor, 1),
            limit: q.limit,
          }),
        );
      },
    },
    {
      method: 'GET',
      url: '/appaccess/v1.0/applications/:applicationId/accounts/:accountId',
      privilege: 'manage-applications',
      summary: 'One account of an application',
      tags: ['accounts'],
      schema: {
        params: Type.Object({ applicationId: Uuid, accountId: Uuid }, { additionalProperties: false }),
        response: { 200: AccountWire, ...errors(400, 404) },
      },
      handler: async (req) => {
        const p = req.params as { applicationId: string; accountId: string };
        return services.accounts.get(p.applicationId, p.accountId);
      },
    },
  ];
}
