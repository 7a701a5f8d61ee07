import { Type } from 'typebox';
import { StewardError } from '../../domain/errors.ts';
import { ACCOUNT_ACTIONS, DECISIONS, REMEDIATION_STATUSES, type AccountAction, type Decision, type RemediationStatus } from '../../reconcile/index.ts';
import { decodeCursor, pageOf } from '../cursor.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { DateTime, Nullable, Page, PageQuery, Uuid, errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const Mode = Type.Union([Type.Literal('full'), Type.Literal('incremental')]);

const RunWire = Type.Object({
  id: Uuid,
  applicationId: Uuid,
  requestedMode: Mode,
  mode: Type.String({ description: 'The mode the run was carried out in: an incremental request runs full when the connector cannot read changes since a cursor or the application has none yet (modeReason says which).' }),
  modeReason: Nullable(Type.String({ description: 'Why mode differs from requestedMode, when it does.' })),
  status: Type.String({ description: 'queued | running | stopping | completed | failed | stopped' }),
  phase: Type.String({ description: 'entitlements | accounts | apply | done' }),
  progress: Type.Object({
    pages: Type.Integer(),
    entitlementsSeen: Type.Integer(),
    accountsSeen: Type.Integer(),
    new: Type.Integer(),
    changed: Type.Integer(),
    removed: Type.Integer(),
    matched: Type.Integer(),
    unmatched: Type.Integer(),
    orphan: Type.Integer(),
  }),
  remediations: Type.Object({ pending: Type.Integer(), held: Type.Integer(), applied: Type.Integer() }),
  baseline: Type.Boolean({ description: 'The first run of an application records what is there; it has no deltas and remediates nothing.' }),
  safetyThreshold: Type.Number(),
  heldReason: Nullable(Type.String()),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  startedBy: Type.String(),
  createdAt: DateTime,
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
});

const Before = Type.Object({ before: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()) });
const Flag = Type.Object({ before: Nullable(Type.Boolean()), after: Nullable(Type.Boolean()) });
const EntitlementRefWire = Type.Object({ kind: Type.String(), nativeValue: Type.String() });

const DeltaWire = Type.Object({
  reconciliationId: Uuid,
  accountId: Uuid,
  kind: Type.String({ description: 'appeared | changed | removed' }),
  attributes: Type.Record(Type.String(), Before, { description: 'Each changed attribute, before and after (a side is absent when the attribute was).' }),
  enabled: Type.Optional(Flag),
  locked: Type.Optional(Flag),
  entitlements: Type.Object({ added: Type.Array(EntitlementRefWire), removed: Type.Array(EntitlementRefWire) }),
});

const SettingsWire = Type.Object({
  applicationId: Uuid,
  schedule: Nullable(Type.String({ description: 'Five-field cron expression, UTC; null: not scheduled.' })),
  scheduleMode: Mode,
  safetyThreshold: Type.Number({ description: 'Share of the accounts a run may revoke, delete or find gone before it holds its remediations (default 0.05).' }),
  pageSize: Nullable(Type.Integer({ description: "Accounts per listing page; null: the connector's own." })),
});

const ReconciledAccountWire = Type.Object({
  id: Uuid,
  applicationId: Uuid,
  nativeIdentity: Type.String(),
  identityId: Nullable(Type.String()),
  state: Type.String(),
  enabled: Type.Boolean(),
  locked: Type.Boolean(),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  entitlements: Type.Array(EntitlementRefWire),
  removedAt: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const RemediationWire = Type.Object({
  id: Uuid,
  reconciliationId: Nullable(Type.String()),
  applicationId: Uuid,
  accountId: Uuid,
  identityId: Nullable(Type.String()),
  change: Type.String({ description: 'accountAppeared | accountChanged | entitlementAddedOutOfBand | entitlementRemovedOutOfBand | accountRemoved' }),
  entitlement: Nullable(EntitlementRefWire),
  action: Type.String({ description: 'revoke | accept | letMeDecide: what the policy (or the decision) says' }),
  status: Type.String({ description: REMEDIATION_STATUSES.join(' | ') }),
  decision: Nullable(Type.String()),
  decidedBy: Nullable(Type.String()),
  decidedAt: Nullable(DateTime),
  plan: Type.Unknown({ description: 'The ProvisioningPlan (JSON) of a revoke.' }),
  flowIds: Nullable(Type.Array(Type.String())),
  error: Nullable(Type.String()),
  createdAt: DateTime,
});

const badCursor = () => new StewardError('request.invalid', 'cursor: not a cursor this list gave out', { problems: [{ code: 'request.invalid', field: 'query.cursor', message: 'is not a cursor this list gave out' }] });

/** A (createdAt, id) keyset from a cursor, checked so a forged one is a 400 rather than reaching SQL. */
function timeKey(key: unknown[] | undefined): { createdAt: Date; id: string } | undefined {
  if (key === undefined) return undefined;
  const [at, id] = key;
  if (typeof at !== 'string' || typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw badCursor();
  const createdAt = new Date(at);
  if (Number.isNaN(createdAt.getTime())) throw badCursor();
  return { createdAt, id };
}

const AppRun = Type.Object({ applicationId: Uuid, reconciliationId: Uuid }, { additionalProperties: false });
type AppRunT = { applicationId: string; reconciliationId: string };
const AppId = Type.Object({ applicationId: Uuid }, { additionalProperties: false });
type AppIdT = { applicationId: string };

/** Reconciliation runs, deltas, settings, account states and adoption, and the remediation queue. */
export function reconciliationRoutes({ services }: RouteDeps): RouteSpec[] {
  const recon = services.reconciliation;
  return [
    {
      method: 'POST',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliation',
      privilege: 'manage-applications',
      summary: 'Start a reconciliation of the application (one run at a time); answers 202 with the run to poll',
      tags: ['reconciliation'],
      schema: {
        params: AppId,
        body: Type.Optional(Type.Object({ mode: Type.Optional(Mode) }, { additionalProperties: false })),
        response: { 202: RunWire, ...errors(400, 404, 409) },
      },
      handler: async (req, reply) => {
        const body = (req.body ?? {}) as { mode?: 'full' | 'incremental' };
        const run = await recon.start(actorOf(req), (req.params as AppIdT).applicationId, body.mode ? { mode: body.mode } : {});
        return reply.code(202).send(run);
      },
    },
    {
      method: 'GET',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliation',
      privilege: 'manage-applications',
      summary: "The application's reconciliation runs, newest first",
      tags: ['reconciliation'],
      schema: { params: AppId, querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }), response: { 200: Page(RunWire), ...errors(400, 404) } },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string };
        const before = timeKey(decodeCursor(q.cursor, 2));
        const rows = await recon.list((req.params as AppIdT).applicationId, q.limit + 1, before);
        return pageOf(rows, q.limit, (r) => [r.createdAt.toISOString(), r.id], (r) => r);
      },
    },
    {
      method: 'GET',
      url: '/v1.0/reconciliations',
      privilege: 'manage-applications',
      summary: 'Reconciliation runs of every application, newest first',
      tags: ['reconciliation'],
      schema: { querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }), response: { 200: Page(RunWire), ...errors(400) } },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string };
        const rows = await recon.list(undefined, q.limit + 1, timeKey(decodeCursor(q.cursor, 2)));
        return pageOf(rows, q.limit, (r) => [r.createdAt.toISOString(), r.id], (r) => r);
      },
    },
    {
      method: 'GET',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliation/:reconciliationId',
      privilege: 'manage-applications',
      summary: 'Status and progress of a reconciliation run: pages read, accounts seen, new, changed, removed, matched, unmatched',
      tags: ['reconciliation'],
      schema: { params: AppRun, response: { 200: RunWire, ...errors(400, 404) } },
      handler: async (req) => {
        const p = req.params as AppRunT;
        return recon.status(p.applicationId, p.reconciliationId);
      },
    },
    {
      method: 'POST',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliation/:reconciliationId/stop',
      privilege: 'manage-applications',
      summary: 'Stop a reconciliation run after the page it is writing; nothing of it is applied',
      tags: ['reconciliation'],
      schema: { params: AppRun, response: { 200: RunWire, ...errors(400, 404, 409) } },
      handler: async (req) => {
        const p = req.params as AppRunT;
        return recon.stop(actorOf(req), p.applicationId, p.reconciliationId);
      },
    },
    {
      method: 'POST',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliation/:reconciliationId/confirmation',
      privilege: 'admin',
      summary: 'Confirm (carry out) or discard the remediations and removals a run held past its safety threshold',
      tags: ['reconciliation'],
      schema: { params: AppRun, body: Type.Object({ confirm: Type.Boolean() }, { additionalProperties: false }), response: { 200: RunWire, ...errors(400, 404, 409) } },
      handler: async (req) => {
        const p = req.params as AppRunT;
        return recon.remediations.confirmHeld(actorOf(req), p.applicationId, p.reconciliationId, (req.body as { confirm: boolean }).confirm);
      },
    },
    {
      method: 'GET',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliationDelta/:reconciliationId/:accountId',
      privilege: 'manage-applications',
      summary: 'What a run found changed in one account: before and after, attribute by attribute, and entitlements added and removed',
      tags: ['reconciliation'],
      schema: { params: Type.Object({ applicationId: Uuid, reconciliationId: Uuid, accountId: Uuid }, { additionalProperties: false }), response: { 200: DeltaWire, ...errors(400, 404) } },
      handler: async (req) => {
        const p = req.params as AppRunT & { accountId: string };
        return recon.delta(p.applicationId, p.reconciliationId, p.accountId);
      },
    },
    {
      method: 'GET',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliationSettings',
      privilege: 'manage-applications',
      summary: "The application's reconciliation schedule, safety threshold and page size",
      tags: ['reconciliation'],
      schema: { params: AppId, response: { 200: SettingsWire, ...errors(400, 404) } },
      handler: async (req) => recon.getSettings((req.params as AppIdT).applicationId),
    },
    {
      method: 'PUT',
      url: '/appaccess/v1.0/applications/:applicationId/reconciliationSettings',
      privilege: 'manage-applications',
      summary: "Set the application's reconciliation schedule (cron, UTC), safety threshold and page size; fields left out keep their value",
      tags: ['reconciliation'],
      schema: {
        params: AppId,
        body: Type.Object(
          { schedule: Type.Optional(Nullable(Type.String({ maxLength: 200 }))), scheduleMode: Type.Optional(Mode), safetyThreshold: Type.Optional(Type.Number()), pageSize: Type.Optional(Nullable(Type.Integer())) },
          { additionalProperties: false },
        ),
        response: { 200: SettingsWire, ...errors(400, 404) },
      },
      handler: async (req) => recon.putSettings(actorOf(req), (req.params as AppIdT).applicationId, req.body as object),
    },
    {
      method: 'POST',
      url: '/appaccess/v1.0/applications/:applicationId/accounts/:accountId/:action',
      privilege: 'manage-applications',
      summary: 'Move an account to another state: unmanage (→ Unmanaged), orphan (Unmatched → Orphan), manage (→ Unmatched), release (Matched → Unmatched); 409 names the allowed actions',
      tags: ['accounts'],
      schema: {
        params: Type.Object({ applicationId: Uuid, accountId: Uuid, action: Type.Enum(ACCOUNT_ACTIONS, { description: ACCOUNT_ACTIONS.join(' | ') }) }, { additionalProperties: false }),
        response: { 200: ReconciledAccountWire, ...errors(400, 404, 409) },
      },
      handler: async (req) => {
        const p = req.params as { applicationId: string; accountId: string; action: AccountAction };
        return recon.accounts.transition(actorOf(req), p.applicationId, p.accountId, p.action);
      },
    },
    {
      method: 'POST',
      url: '/appaccess/v1.0/accounts/:accountId/adoption/:identityId',
      privilege: 'manage-applications',
      summary: "Adopt an account to an identity by hand (Unmatched, Orphan or Unmanaged → Matched); audited, and the identity's access is recomputed",
      tags: ['accounts'],
      schema: { params: Type.Object({ accountId: Uuid, identityId: Uuid }, { additionalProperties: false }), response: { 200: ReconciledAccountWire, ...errors(400, 404, 409) } },
      handler: async (req) => {
        const p = req.params as { accountId: string; identityId: string };
        return recon.accounts.adopt(actorOf(req), p.accountId, p.identityId);
      },
    },
    {
      method: 'GET',
      url: '/v1.0/remediations',
      privilege: 'manage-applications',
      summary: 'Remediations, oldest first: the "Let me decide" queue (status pending), held ones, and what was done',
      tags: ['remediations'],
      schema: {
        querystring: Type.Object(
          { ...PageQuery, status: Type.Optional(Type.Enum(REMEDIATION_STATUSES)), applicationId: Type.Optional(Uuid), reconciliationId: Type.Optional(Uuid) },
          { additionalProperties: false },
        ),
        response: { 200: Page(RemediationWire), ...errors(400) },
      },
      handler: async (req) => {
        const q = req.query as { limit: number; cursor?: string; status?: RemediationStatus; applicationId?: string; reconciliationId?: string };
        const after = timeKey(decodeCursor(q.cursor, 2));
        const rows = await recon.remediations.list({ status: q.status, applicationId: q.applicationId, runId: q.reconciliationId, after, limit: q.limit + 1 });
        return pageOf(rows, q.limit, (r) => [r.createdAt.toISOString(), r.id], (r) => ({ ...r, reconciliationId: r.runId }));
      },
    },
    {
      method: 'GET',
      url: '/v1.0/remediations/:remediationId',
      privilege: 'manage-applications',
      summary: 'One remediation',
      tags: ['remediations'],
      schema: { params: Type.Object({ remediationId: Uuid }, { additionalProperties: false }), response: { 200: RemediationWire, ...errors(400, 404) } },
      handler: async (req) => {
        const r = await recon.remediations.get((req.params as { remediationId: string }).remediationId);
        return { ...r, reconciliationId: r.runId };
      },
    },
    {
      method: 'POST',
      url: '/v1.0/remediations/:remediationId/decision',
      privilege: 'manage-applications',
      summary: 'Decide a pending remediation: revoke (undo it in the target), accept (take it into Steward) or dismiss; a held one needs admin',
      tags: ['remediations'],
      schema: {
        params: Type.Object({ remediationId: Uuid }, { additionalProperties: false }),
        body: Type.Object({ decision: Type.Enum(DECISIONS, { description: DECISIONS.join(' | ') }) }, { additionalProperties: false }),
        response: { 200: RemediationWire, ...errors(400, 404, 409) },
      },
      handler: async (req) => {
        const r = await recon.remediations.decide(actorOf(req), (req.params as { remediationId: string }).remediationId, (req.body as { decision: Decision }).decision);
        return { ...r, reconciliationId: r.runId };
      },
    },
  ];
}
