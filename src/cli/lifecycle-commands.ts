/**
 * `steward rules preview FILE` (who would gain and lose what if the rule in FILE were
 * saved; nothing is written) and `steward identity recompute --all` (every identity's
 * desired access recomputed, with a progress bar; held changes are reported, not applied),
 * on the database directly or through the running embedded server, as the other commands.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { SYSTEM_ACTOR, type Actor } from '../domain/actor.ts';
import type { ImpactReport, Outcome, RuleInput } from '../lifecycle/index.ts';
import { readLock } from '../store/lock.ts';
import { loadConfig, type Config } from './config.ts';
import { openRuntime } from './runtime.ts';
import { CONTROL_TOKEN_FILE } from './serve.ts';

/** Exit status when a recomputation is held by the safety threshold. */
export const HELD_STATUS = 6;

const CLI_ACTOR: Actor = { ...SYSTEM_ACTOR, kind: 'cli', name: process.env.USER ?? 'local' };
const dataOption = () => new Option('--data <dir>', 'embedded data directory (default ./data, or STEWARD_DATA_DIR)');

/** The running server's base URL and control token, when one holds the embedded data directory. */
function runningServer(config: Config): { url: string; token: string; pid: number } | undefined {
  if (config.databaseUrl) return undefined;
  const holder = readLock(config.dataDir);
  if (!holder?.serverUrl) return undefined;
  return { url: holder.serverUrl, token: readFileSync(join(config.dataDir, CONTROL_TOKEN_FILE), 'utf8').trim(), pid: holder.pid };
}

async function remote<T>(server: { url: string; token: string; pid: number }, method: string, path: string, body: unknown): Promise<{ status: number; json: T }> {
  let res: Response;
  try {
    res = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (e) {
    throw new Error(`could not reach the running server (pid ${server.pid}) at ${server.url}: ${(e as Error).message}`, { cause: e });
  }
  const json = (await res.json()) as T & { error?: { message?: string; problems?: { field?: string; line?: number; column?: number; message: string }[] } };
  if (!res.ok) {
    const problems = (json.error?.problems ?? []).map((p) => `  ${p.field ?? ''}${p.line !== undefined ? ` line ${p.line}, column ${p.column}` : ''}: ${p.message}`).join('\n');
    throw new Error(`${json.error?.message ?? `the server answered ${res.status}`}${problems ? `\n${problems}` : ''}`);
  }
  return { status: res.status, json };
}

/** The impact as lines a person reads. */
export function formatImpact(i: ImpactReport): string {
  const lines = [`${i.evaluated} identities evaluated, ${i.changed} would change, ${i.plans} plans`];
  const access = (c: { applicationId: string; entitlementId: string | null; count: number; sample: string[] }) =>
    `  ${c.entitlementId ? `entitlement ${c.entitlementId}` : `application ${c.applicationId}`}: ${c.count} (${c.sample.join(', ')}${c.count > c.sample.length ? ', …' : ''})`;
  if (i.gains.length) lines.push('gain:', ...i.gains.map(access));
  if (i.losses.length) lines.push('lose:', ...i.losses.map(access));
  for (const g of i.groups) lines.push(`group ${g.groupId}: +${g.added} -${g.removed}`);
  for (const a of i.applications) lines.push(`${a.name}: ${a.accounts} accounts, ${a.accountsToCreate} to create, ${a.accountsToRemove} to remove${a.overThreshold ? '  ** over the safety threshold: held for confirmation **' : ''}`);
  return lines.join('\n');
}

/** Registers `steward rules …` and `steward identity …`; `setStatus` receives the exit status. */
export function registerLifecycleCommands(program: Command, setStatus: (status: number) => void): void {
  const rules = program.command('rules').description('birthright rules');
  rules
    .command('preview')
    .description('show who would gain and lose which access if the rule in FILE (JSON: name, condition, grants, optional id to replace) were saved; writes nothing')
    .argument('<file>', 'the rule, as JSON')
    .addOption(dataOption())
    .action(async (file: string, o: { data?: string }) => {
      const rule = JSON.parse(readFileSync(file, 'utf8')) as RuleInput & { id?: string };
      const config = loadConfig(o);
      const server = runningServer(config);
      let impact: ImpactReport;
      if (server) impact = (await remote<ImpactReport>(server, 'POST', '/v1.0/rules/preview', { rule })).json;
      else {
        const rt = await openRuntime(config, 'steward rules preview');
        try {
          impact = await rt.services.lifecycle.preview({ rule });
        } finally {
          await rt.close();
        }
      }
      console.log(formatImpact(impact));
    });

  const identity = program.command('identity').description('identities');
  identity
    .command('recompute')
    .description("recompute every identity's desired access from rules, roles and rule-based groups, and carry out the difference")
    .requiredOption('--all', 'every identity')
    .option('--confirm', 'apply even when the safety threshold would hold it')
    .addOption(dataOption())
    .action(async (o: { data?: string; confirm?: boolean }) => {
      const config = loadConfig(o);
      const server = runningServer(config);
      const bar = new cliProgress.SingleBar({ format: 'recomputing [{bar}] {percentage}% | {value}/{total} identities', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000 }, cliProgress.Presets.shades_classic);
      let out: Outcome<unknown>;
      if (server) {
        bar.start(1, 0);
        out = (await remote<Outcome<unknown>>(server, 'POST', '/v1.0/lifecycle/recompute', { confirm: o.confirm ?? false })).json;
        bar.update(1);
      } else {
        const rt = await openRuntime(config, 'steward identity recompute');
        let started = false;
        try {
          out = await rt.services.lifecycle.recompute(CLI_ACTOR, {
            confirmed: o.confirm ?? false,
            onProgress: (done, total) => {
              if (!started) {
                bar.start(total, 0);
                started = true;
              }
              bar.update(done);
            },
          });
        } finally {
          await rt.close();
        }
      }
      bar.stop();
      console.log(formatImpact(out.impact));
      if (out.status === 'held') {
        console.error(`held by the safety threshold: confirm with POST /v1.0/lifecycle/holds/${out.holdId}/confirm, or run again with --confirm`);
        setStatus(HELD_STATUS);
      } else console.log(`applied: ${out.flowIds.length} ActionFlows`);
    });
}
