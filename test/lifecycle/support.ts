// The lifecycle world under test: a database, the services with a controllable clock and
// the real API script runner, a SCIM service provider on loopback as the target, one
// application on it with Sales/Engineering/VPN groups, and helpers that carry out what the
// lifecycle hands to the workflows.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { buildApp, type StewardApp } from '../../src/api/app.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import type { RecomputeRun } from '../../src/lifecycle/index.ts';
import type { Services } from '../../src/services/index.ts';
import { createServices } from '../../src/services/index.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db, DbKind } from '../../src/store/db.ts';
import { API_RUNNER } from '../../src/workflows/runners/index.ts';
import { uniqueName } from '../support/app.ts';
import { createTestDb } from '../support/db.ts';
import { startScimServer, type ScimServer, type ScimUser } from '../support/scim-server.ts';

export interface World {
  db: Db;
  services: Services;
  app: StewardApp;
  admin: string;
  scim: ScimServer;
  clock: { now: Date };
  appId: string;
  appName: string;
  /** Entitlement ids and SCIM group ids by name. */
  ents: Record<'sales' | 'eng' | 'vpn', { id: string; groupId: string }>;
  call(method: string, url: string, body?: unknown): Promise<{ statusCode: number; body: string; json<T = unknown>(): T }>;
  /** Runs the queued rule recomputes (as the worker would), then processes the recorded events, and carries out the flows they made; the flow ids. */
  settle(): Promise<string[]>;
  /** Runs the queued rule recomputes, oldest first, as the worker's job would, and carries out their flows. */
  recomputes(): Promise<RecomputeRun[]>;
  /** Carries out these flows' scripts now, in order. */
  runFlows(ids: readonly string[]): Promise<void>;
  /** The target's user, with the display names of its groups. */
  target(userName: string): (ScimUser & { groupNames: string[] }) | undefined;
  close(): Promise<void>;
}

export async function createWorld(kind: DbKind, options: { gracePeriod?: string; action?: string; safety?: { maxRemovedFraction?: number; minRemovals?: number } } = {}): Promise<World> {
  const db = await createTestDb(kind);
  const scim = await startScimServer();
  const clock = { now: new Date('2026-12-01T09:00:00Z') };
  const services = createServices({
    db,
    secrets: createSecretBox(randomBytes(32)),
    workflows: { runners: [API_RUNNER] },
    // A rule save queues its recompute; the tests run the queued ones (recomputes, settle).
    lifecycle: { now: () => clock.now, enqueueRecompute: async () => undefined, ...(options.safety ? { safety: options.safety } : {}) },
  });
  const app = await buildApp({ services, logger: false });
  const admin = (await services.clients.create(SYSTEM_ACTOR, { name: uniqueName('admin'), privileges: ['admin'] })).token;
  const appName = uniqueName('scim-app');
  const application = await services.applications.create(SYSTEM_ACTOR, {
    name: appName,
    connectorKind: 'scim',
    settings: { baseUrl: scim.url },
    secrets: { token: scim.token },
    accountSchema: {
      attributes: [
        { name: 'userName', type: 'string', multiValued: false },
        { name: 'displayName', type: 'string', multiValued: false },
        { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
      ],
    },
    attributeMappings: [
      { accountAttribute: 'userName', identityAttribute: 'userName' },
      { accountAttribute: 'displayName', identityAttribute: 'displayName' },
    ],
    deprovisioningPolicy: { action: (options.action ?? 'Delete') as 'Delete', gracePeriod: options.gracePeriod ?? 'P7D' },
  });
  const groups = { sales: scim.seedGroup('Sales'), eng: scim.seedGroup('Engineering'), vpn: scim.seedGroup('VPN') };
  const created = await services.entitlements.create(
    SYSTEM_ACTOR,
    application.id,
    Object.values(groups).map((g) => ({ kind: 'group' as const, nativeValue: g.id, name: g.displayName })),
  );
  const byValue = new Map(created.map((e) => [e.nativeValue, e.id]));
  const ents = {
    sales: { id: byValue.get(groups.sales.id)!, groupId: groups.sales.id },
    eng: { id: byValue.get(groups.eng.id)!, groupId: groups.eng.id },
    vpn: { id: byValue.get(groups.vpn.id)!, groupId: groups.vpn.id },
  };
  const call: World['call'] = (method, url, body) =>
    app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${admin}` }, ...(body === undefined ? {} : { payload: body as object }) });

  async function runFlows(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const flow = await services.workflows.flows.get(id);
      for (const s of flow.scripts ?? []) {
        if (s.status === 'pending' || s.status === 'running') await services.workflows.flows.runScript(s.id);
      }
      const after = await services.workflows.flows.get(id);
      expect(after.status, JSON.stringify(after.scripts?.map((s) => s.lastError))).toBe('succeeded');
    }
  }

  async function recomputes(): Promise<RecomputeRun[]> {
    const queued = await db.k.selectFrom('lifecycle_recomputes').select('id').where('status', 'in', ['queued', 'running']).orderBy('created_at').execute();
    const out: RecomputeRun[] = [];
    for (const q of queued) {
      const r = await services.lifecycle.runRecompute(q.id);
      await runFlows(r.flowIds);
      out.push(r);
    }
    return out;
  }

  return {
    db,
    services,
    recomputes,
    app,
    admin,
    scim,
    clock,
    appId: application.id,
    appName,
    ents,
    call,
    runFlows,
    async settle() {
      const all = (await recomputes()).flatMap((r) => r.flowIds);
      for (let i = 0; i < 5; i++) {
        const r = await services.lifecycle.processEvents();
        if (r.held) throw new Error(`held: ${r.held}`);
        await runFlows(r.flowIds);
        all.push(...r.flowIds);
        if (r.events === 0) break;
      }
      return all;
    },
    target(userName) {
      const u = scim.user(userName);
      if (!u) return undefined;
      const groupNames = scim
        .groups()
        .filter((g) => g.members.some((m) => m.value === u.id))
        .map((g) => g.displayName)
        .sort();
      return { ...u, groupNames };
    },
    async close() {
      await app.close();
      await scim.close();
      await db.close();
    },
  };
}

/** A SCIM User body for the HR feed. */
export const hrUser = (userName: string, department: string, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  userName,
  displayName: `${userName} Person`,
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department },
  ...extra,
});

export const patchOp = (...ops: { op: string; path?: string; value: unknown }[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops });
export const STATUS_PATH = 'urn:ietf:params:scim:schemas:extension:steward:2.0:User:lifecycleStatus';
