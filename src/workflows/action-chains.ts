/**
 * ActionChains (seed 000): the one provisioning and one de-provisioning template of each
 * approvable relationship (an application, for its accounts, or an entitlement). Scripts
 * are checked when the chain is saved: the type must be one a runner carries out, its
 * metadata what that runner needs, and every placeholder a known variable. Where no chain
 * is saved, one is derived from the connector's capabilities, so an application works
 * without hand-written chains.
 */
import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import type { Problem } from '../domain/result.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import type { ChainScript, FlowPurpose } from './flows.ts';
import type { ScriptRunner } from './runners/types.ts';
import { parseScriptType } from './script-types.ts';
import { checkTemplate } from './template.ts';

export type ChainPurpose = Exclude<FlowPurpose, 'plan'>;
export const CHAIN_PURPOSES = ['provisioning', 'deprovisioning'] as const;

export interface ActionChain {
  id: string;
  applicationId: string;
  entitlementId: string | null;
  purpose: ChainPurpose;
  scripts: ChainScript[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The application and entitlement facts a default chain is derived from. */
export interface ChainTarget {
  application: { id: string; name: string; connectorKind: string; capabilities: readonly string[]; deprovisioningPolicy: unknown };
  entitlement: { id: string; kind: string; nativeValue: string } | null;
}

export type DefaultChain = (target: ChainTarget, purpose: ChainPurpose) => ChainScript[];

export interface ActionChainDeps {
  db: Db;
  runners: readonly ScriptRunner[];
  defaultChain: DefaultChain;
}

export interface ActionChainService {
  /** Saves the chain of a relationship and purpose, replacing the one there was. */
  put(actor: Actor, input: { applicationId: string; entitlementId: string | null; purpose: ChainPurpose; scripts: unknown }): Promise<ActionChain>;
  get(id: string): Promise<ActionChain>;
  list(f: { applicationId: string; entitlementId?: string | null }): Promise<ActionChain[]>;
  remove(actor: Actor, id: string): Promise<void>;
  /** The scripts a flow for this relationship runs: the saved chain's, or the derived default. */
  resolve(ex: Executor, applicationId: string, entitlementId: string | null, purpose: ChainPurpose): Promise<{ chainId: string | null; scripts: ChainScript[] }>;
  /** The chain Steward would derive, for showing before one is saved. */
  derived(applicationId: string, entitlementId: string | null, purpose: ChainPurpose): Promise<ChainScript[]>;
}

type ChainRow = { id: string; application_id: string; entitlement_id: string | null; purpose: string; scripts: unknown; version: number; created_at: Date; updated_at: Date };

const toChain = (r: ChainRow): ActionChain => ({
  id: r.id,
  applicationId: r.application_id,
  entitlementId: r.entitlement_id,
  purpose: r.purpose as ChainPurpose,
  scripts: r.scripts as ChainScript[],
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every problem with a chain's scripts, each naming its field. */
export function checkScripts(scripts: unknown, runners: readonly ScriptRunner[], application: { id: string; connectorKind: string; capabilities: readonly string[] }): { scripts: ChainScript[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const out: ChainScript[] = [];
  if (!Array.isArray(scripts) || scripts.length === 0) return { scripts: out, problems: [{ code: 'action_chain.invalid', field: 'scripts', message: 'must list at least one script (use type none for no action)' }] };
  if (scripts.length > 50) problems.push({ code: 'action_chain.invalid', field: 'scripts', message: 'may have at most 50 scripts' });
  scripts.forEach((s, i) => {
    const field = `scripts[${i}]`;
    if (!isObject(s) || typeof s.type !== 'string') {
      problems.push({ code: 'action_chain.invalid', field, message: 'must be an object with a type and optional metadata' });
      return;
    }
    const metadata = s.metadata ?? {};
    if (!isObject(metadata)) {
      problems.push({ code: 'action_chain.invalid', field: `${field}.metadata`, message: 'must be an object' });
      return;
    }
    const parsed = parseScriptType(s.type);
    if (!parsed.ok) {
      problems.push({ code: 'action_chain.invalid', field: `${field}.type`, message: parsed.errors.join('; ') });
      return;
    }
    const runner = runners.find((r) => r.handles(parsed.value));
    if (!runner) {
      problems.push({ code: 'action_chain.invalid', field: `${field}.type`, message: `no runner carries out '${s.type}' in this installation` });
      return;
    }
    problems.push(...checkTemplate(metadata, `${field}.metadata`).map((p) => ({ ...p, code: 'action_chain.invalid' })));
    problems.push(...runner.validate(parsed.value, metadata, `${field}.metadata`, application).map((p) => ({ ...p, code: 'action_chain.invalid' })));
    out.push({ type: s.type, metadata });
  });
  return { scripts: out, problems };
}

export function createActionChainService(deps: ActionChainDeps): ActionChainService {
  const { db } = deps;

  async function target(ex: Executor, applicationId: string, entitlementId: string | null): Promise<ChainTarget> {
    const app = await ex.selectFrom('applications').select(['id', 'name', 'connector_kind', 'capabilities', 'deprovisioning_policy']).where('id', '=', applicationId).executeTakeFirst();
    if (!app) throw new StewardError('application.not_found', `no application has id ${applicationId}`);
    let entitlement: ChainTarget['entitlement'] = null;
    if (entitlementId) {
      const e = await ex.selectFrom('entitlements').select(['id', 'kind', 'native_value', 'application_id']).where('id', '=', entitlementId).executeTakeFirst();
      if (!e || e.application_id !== applicationId) throw new StewardError('entitlement.not_found', `application ${applicationId} has no entitlement ${entitlementId}`);
      entitlement = { id: e.id, kind: e.kind, nativeValue: e.native_value };
    }
    const caps = app.capabilities as { operations?: string[] } | string[] | null;
    const operations = Array.isArray(caps) ? caps : (caps?.operations ?? []);
    return { application: { id: app.id, name: app.name, connectorKind: app.connector_kind, capabilities: operations, deprovisioningPolicy: app.deprovisioning_policy }, entitlement };
  }

  const saved = (ex: Executor, applicationId: string, entitlementId: string | null, purpose: string) =>
    ex
      .selectFrom('action_chains')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where((eb) => (entitlementId === null ? eb('entitlement_id', 'is', null) : eb('entitlement_id', '=', entitlementId)))
      .where('purpose', '=', purpose)
      .executeTakeFirst();

  return {
    async put(actor, input) {
      if (!(CHAIN_PURPOSES as readonly string[]).includes(input.purpose)) throw new StewardError('action_chain.invalid', `purpose: must be one of ${CHAIN_PURPOSES.join(', ')}`);
      return db.tx(async (tx) => {
        const t = await target(tx, input.applicationId, input.entitlementId);
        const { scripts, problems } = checkScripts(input.scripts, deps.runners, { id: t.application.id, connectorKind: t.application.connectorKind, capabilities: t.application.capabilities });
        if (problems.length) throw new StewardError('action_chain.invalid', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
        const before = await saved(tx, input.applicationId, input.entitlementId, input.purpose);
        const row = before
          ? await tx
              .updateTable('action_chains')
              .set({ scripts: JSON.stringify(scripts), version: before.version + 1, updated_at: new Date() })
              .where('id', '=', before.id)
              .returningAll()
              .executeTakeFirstOrThrow()
          : await tx
              .insertInto('action_chains')
              .values({ application_id: input.applicationId, entitlement_id: input.entitlementId, purpose: input.purpose, scripts: JSON.stringify(scripts) })
              .returningAll()
              .executeTakeFirstOrThrow();
        await appendAudit(tx, [{ actor: actorLabel(actor), action: before ? 'action_chain.update' : 'action_chain.create', objectType: 'action_chain', objectId: row.id, before: before ? toChain(before) : null, after: toChain(row) }]);
        return toChain(row);
      });
    },
    async get(id) {
      const r = await db.k.selectFrom('action_chains').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw new StewardError('action_chain.not_found', `no ActionChain has id ${id}`);
      return toChain(r);
    },
    async list(f) {
      let q = db.k.selectFrom('action_chains').selectAll().where('application_id', '=', f.applicationId);
      if (f.entitlementId !== undefined) q = q.where((eb) => (f.entitlementId === null ? eb('entitlement_id', 'is', null) : eb('entitlement_id', '=', f.entitlementId!)));
      return (await q.orderBy('entitlement_id').orderBy('purpose').execute()).map(toChain);
    },
    async remove(actor, id) {
      await db.tx(async (tx) => {
        const r = await tx.deleteFrom('action_chains').where('id', '=', id).returningAll().executeTakeFirst();
        if (!r) throw new StewardError('action_chain.not_found', `no ActionChain has id ${id}`);
        await appendAudit(tx, [{ actor: actorLabel(actor), action: 'action_chain.delete', objectType: 'action_chain', objectId: id, before: toChain(r), after: null }]);
      });
    },
    async resolve(ex, applicationId, entitlementId, purpose) {
      const own = await saved(ex, applicationId, entitlementId, purpose);
      if (own) return { chainId: own.id, scripts: own.scripts as ChainScript[] };
      return { chainId: null, scripts: deps.defaultChain(await target(ex, applicationId, entitlementId), purpose) };
    },
    async derived(applicationId, entitlementId, purpose) {
      return deps.defaultChain(await target(db.k, applicationId, entitlementId), purpose);
    },
  };
}
