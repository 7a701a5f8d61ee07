/**
 * `steward plan …`: validate, preview, convert and compile ProvisioningPlans. A plan is
 * read from a file, XML or JSON by its first character; problems go to stderr as
 * `FILE:LINE:COLUMN: code: message` (or `FILE: code: message` where a JSON plan has no
 * line), and an invalid plan exits with status 1.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Problem } from '../domain/result.ts';
import { toJson, toXml } from '../plan/index.ts';
import { readPlan, type PlanSource } from '../services/index.ts';
import { loadConfig } from './config.ts';
import { openPlanBackend, type PlanBackend } from './plan-backend.ts';

const identityOption = () => new Option('--identity <id>', "the target identity (id or userName); overrides the plan's own, as in IdentityIQ's console");
const dataOption = () => new Option('--data <dir>', 'embedded data directory (default ./data, or STEWARD_DATA_DIR)');

/** The plan file as a source: XML when its first non-blank character is `<`. */
export function planSource(file: string): PlanSource {
  const bytes = readFileSync(file);
  const text = new TextDecoder().decode(bytes.subarray(0, 1024)).replace(/^\uFEFF/, '').trimStart();
  return text.startsWith('<') ? { xml: new Uint8Array(bytes) } : { json: bytes.toString('utf8') };
}

/** One problem as a compiler would print it. */
export function formatProblem(file: string, p: Problem): string {
  const where = p.line !== undefined ? `${file}:${p.line}:${p.column ?? 1}` : file;
  return `${where}: ${p.code}: ${p.message}`;
}

const report = (file: string, problems: Problem[]): number => {
  for (const p of problems) process.stderr.write(`${formatProblem(file, p)}\n`);
  return 1;
};

async function withPlanBackend<T>(o: { data?: string }, command: string, fn: (b: PlanBackend) => Promise<T>): Promise<T> {
  const b = await openPlanBackend(loadConfig(o), command);
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

/** Adds `plan validate|preview|convert|compile` to the program; `setStatus` sets the exit status. */
export function registerPlanCommands(program: Command, setStatus: (status: number) => void): void {
  const plan = program.command('plan').description('provisioning plans: validate, preview, convert between XML and JSON, compile');

  plan
    .command('validate')
    .description('check a plan file; by itself with no store, or with --store against the applications, accounts and identities')
    .argument('<file>', 'the plan, XML or JSON')
    .addOption(identityOption())
    .option('--store', 'also check against the store (the database, or the running server holding the data directory)')
    .addOption(dataOption())
    .action(async (file: string, o: { identity?: string; store?: boolean; data?: string }) => {
      const source = planSource(file);
      const read = readPlan(source);
      if (!read.ok) return setStatus(report(file, read.errors));
      if (!o.store) {
        console.log(`${file}: valid (${read.value.accountRequests.length} account requests; not checked against the store)`);
        return;
      }
      await withPlanBackend(o, 'steward plan validate', async (b) => {
        const r = await b.validate(source, o.identity);
        if (!r.ok) return setStatus(report(file, r.errors));
        console.log(`${file}: valid (${read.value.accountRequests.length} account requests)`);
      });
    });

  plan
    .command('preview')
    .description('show, per account, attributes and entitlements before and after the plan, changing nothing')
    .argument('<file>', 'the plan, XML or JSON')
    .addOption(identityOption())
    .addOption(dataOption())
    .action(async (file: string, o: { identity?: string; data?: string }) => {
      const source = planSource(file);
      const read = readPlan(source);
      if (!read.ok) return setStatus(report(file, read.errors));
      await withPlanBackend(o, 'steward plan preview', async (b) => {
        const r = await b.preview(source, o.identity);
        if (!r.ok) return setStatus(report(file, r.errors));
        console.log(JSON.stringify(r.value, null, 2));
      });
    });

  plan
    .command('convert')
    .description('convert a plan between XML and JSON (no store needed)')
    .argument('<file>', 'the plan, XML or JSON')
    .addOption(new Option('--to <format>', 'the form to write').choices(['json', 'xml']).makeOptionMandatory())
    .addOption(identityOption())
    .action((file: string, o: { to: 'json' | 'xml'; identity?: string }) => {
      const read = readPlan(planSource(file));
      if (!read.ok) return setStatus(report(file, read.errors));
      const value = o.identity === undefined ? read.value : { ...read.value, identity: o.identity };
      process.stdout.write(o.to === 'xml' ? toXml(value) : `${toJson(value)}\n`);
    });

  plan
    .command('compile')
    .description("the plan that makes an identity's accounts equal its live assignments and mapped attributes")
    .addOption(new Option('--identity <id>', 'the identity id').makeOptionMandatory())
    .addOption(new Option('--format <format>', 'the form to write').choices(['json', 'xml']).default('json'))
    .addOption(dataOption())
    .action(async (o: { identity: string; format: 'json' | 'xml'; data?: string }) => {
      await withPlanBackend(o, 'steward plan compile', async (b) => {
        process.stdout.write(await b.compile(o.identity, o.format));
      });
    });
}
