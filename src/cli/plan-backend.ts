/**
 * Where `steward plan` commands that need the store run: on the database directly, or
 * through the running embedded server that holds the data directory (PGlite allows one
 * process), as the other commands do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Problem, Result } from '../domain/result.ts';
import { fail, ok } from '../domain/result.ts';
import { toJsonValue, toXml, type ProvisioningPlan } from '../plan/index.ts';
import type { PlanSource } from '../services/index.ts';
import { readLock } from '../store/lock.ts';
import type { Config } from './config.ts';
import { openRuntime } from './runtime.ts';
import { CONTROL_TOKEN_FILE } from './serve.ts';

export interface PlanBackend {
  /** The plan as JSON (its identity set), or every problem. */
  validate(source: PlanSource, identity: string | undefined): Promise<Result<unknown>>;
  preview(source: PlanSource, identity: string | undefined): Promise<Result<unknown>>;
  /** The compiled plan of one identity, as JSON or XML text. */
  compile(identityId: string, format: 'json' | 'xml'): Promise<string>;
  close(): Promise<void>;
}

/** Opens the running server's API when one holds the data directory, else the database. */
export async function openPlanBackend(config: Config, command: string): Promise<PlanBackend> {
  if (!config.databaseUrl) {
    const holder = readLock(config.dataDir);
    if (holder?.serverUrl) return remote(holder.serverUrl, readFileSync(join(config.dataDir, CONTROL_TOKEN_FILE), 'utf8').trim(), holder.pid);
  }
  const rt = await openRuntime(config, command);
  const plans = rt.services.plans;
  return {
    async validate(source, identity) {
      const r = await plans.validate(source, identity === undefined ? {} : { identity });
      return r.ok ? ok(toJsonValue(r.value)) : r;
    },
    async preview(source, identity) {
      const r = await plans.preview(source, identity === undefined ? {} : { identity });
      return r.ok ? ok({ plan: toJsonValue(r.value.plan), accounts: r.value.accounts }) : r;
    },
    async compile(identityId, format) {
      const plan: ProvisioningPlan = await plans.compile(identityId);
      return format === 'xml' ? toXml(plan) : `${JSON.stringify(toJsonValue(plan), null, 2)}\n`;
    },
    close: () => rt.close(),
  };
}

function remote(base: string, token: string, pid: number): PlanBackend {
  const call = async (method: string, path: string, source?: PlanSource): Promise<{ status: number; text: string }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let body: string | Uint8Array | undefined;
    if (source && 'xml' in source) {
      headers['content-type'] = 'application/xml';
      body = source.xml;
    } else if (source) {
      headers['content-type'] = 'application/json';
      body = typeof source.json === 'string' ? source.json : JSON.stringify(source.json);
    }
    try {
      const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
      return { status: res.status, text: await res.text() };
    } catch (e) {
      throw new Error(`could not reach the running server (pid ${pid}) at ${base}: ${(e as Error).message}`, { cause: e });
    }
  };
  const answer = (r: { status: number; text: string }, path: string): Result<unknown> => {
    const json = r.text ? (JSON.parse(r.text) as { error?: { code?: string; message?: string; problems?: Problem[] } }) : undefined;
    if (r.status === 422 && json?.error?.problems) return fail(...json.error.problems);
    if (r.status >= 400) throw new Error(json?.error?.message ?? `${path} answered ${r.status}`);
    return ok(json);
  };
  const q = (identity: string | undefined) => (identity === undefined ? '' : `?identity=${encodeURIComponent(identity)}`);
  return {
    async validate(source, identity) {
      const r = answer(await call('POST', `/v1.0/plans/validate${q(identity)}`, source), 'validate');
      return r.ok ? ok((r.value as { plan: unknown }).plan) : r;
    },
    async preview(source, identity) {
      return answer(await call('POST', `/v1.0/plans/preview${q(identity)}`, source), 'preview');
    },
    async compile(identityId, format) {
      const path = `/v1.0/users/${encodeURIComponent(identityId)}/plan${format === 'xml' ? '?format=xml' : ''}`;
      const r = await call('GET', path);
      if (r.status >= 400) answer(r, path);
      return format === 'xml' ? r.text : `${JSON.stringify(JSON.parse(r.text), null, 2)}\n`;
    },
    close: async () => {},
  };
}
