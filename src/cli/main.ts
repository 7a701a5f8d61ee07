import { Command, CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { isStewardError } from '../domain/errors.ts';
import { PRIVILEGES } from '../domain/privileges.ts';
import { IMPORT_TARGETS, type ImportTarget } from '../services/import-mapping.ts';
import { registerAppCommands } from './app-commands.ts';
import { openBackend, type Backend } from './backend.ts';
import { loadConfig } from './config.ts';
import { registerPlanCommands } from './plan-commands.ts';
import { registerReconCommands } from './recon-commands.ts';
import { registerFlowCommands } from './flow-commands.ts';
import { registerLifecycleCommands } from './lifecycle-commands.ts';
import { serve } from './serve.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const dataOption = () => new Option('--data <dir>', 'embedded data directory (default ./data, or STEWARD_DATA_DIR)');

async function withBackend<T>(opts: { data?: string }, command: string, fn: (b: Backend) => Promise<T>): Promise<T> {
  const b = await openBackend(loadConfig(opts), command);
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

/** The `steward` command; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const program = new Command('steward')
    .description('Steward: identity governance and provisioning')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the API server (and its worker), on the embedded database unless STEWARD_DATABASE_URL is set')
    .option('--host <host>', 'address to listen on (default 127.0.0.1, or STEWARD_HOST)')
    .option('--port <port>', 'port to listen on (default 8080, or STEWARD_PORT)')
    .addOption(dataOption())
    .action(async (o: { host?: string; port?: string; data?: string }) => {
      status = await serve(loadConfig(o));
    });

  program
    .command('migrate')
    .description('apply pending database migrations (serve also does this at start)')
    .addOption(dataOption())
    .action(async (o: { data?: string }) => {
      await withBackend(o, 'steward migrate', async (b) => {
        const r = await b.migrate();
        console.log(r === 'server' ? `${b.where} applied the migrations when it started` : `the database is up to date (${b.where})`);
      });
    });

  const client = program.command('client').description('manage API clients (machine callers with a token and privileges)');
  client
    .command('create')
    .description('create an API client and print its token, once, on the last line')
    .requiredOption('--name <name>', 'a unique name')
    .requiredOption('--privilege <privilege>', `a privilege to grant, repeatable: ${PRIVILEGES.join(', ')}`, collect)
    .addOption(dataOption())
    .action(async (o: { name: string; privilege: string[]; data?: string }) => {
      await withBackend(o, 'steward client create', async (b) => {
        const { client: c, token } = await b.createClient(o.name, o.privilege);
        console.log(`Created API client '${c.name}' (${c.id}) with ${c.privileges.join(', ')}. Its token, shown only now:`);
        console.log(token);
      });
    });
  client
    .command('list')
    .description('list API clients')
    .addOption(dataOption())
    .action(async (o: { data?: string }) => {
      await withBackend(o, 'steward client list', async (b) => {
        for await (const c of b.listClients()) {
          console.log([c.id, c.name, c.privileges.join(','), c.revokedAt ? `revoked ${new Date(c.revokedAt).toISOString()}` : 'active'].join('\t'));
        }
      });
    });
  client
    .command('revoke')
    .description('revoke an API client: its token stops working')
    .argument('<id>', 'the client id')
    .addOption(dataOption())
    .action(async (id: string, o: { data?: string }) => {
      await withBackend(o, 'steward client revoke', async (b) => {
        const c = await b.revokeClient(id);
        console.log(`Revoked API client '${c.name}' (${c.id}).`);
      });
    });

  const imp = program.command('import').description('import data');
  imp
    .command('users')
    .description('import identities from an HR CSV file (header row), with a progress bar and a report')
    .argument('<file>', 'the CSV file')
    .addOption(new Option('--key <attribute>', 'which column identifies a person').choices(['userName', 'externalId']).default('userName'))
    .option('--map <header=attribute>', `map a CSV header to an attribute (${IMPORT_TARGETS.join(', ')}, or ignore); repeatable`, collect)
    .addOption(new Option('--manager-key <attribute>', 'what the manager column holds').choices(['userName', 'externalId', 'employeeNumber']))
    .option('--delimiter <char>', 'field delimiter', ',')
    .addOption(dataOption())
    .action(async (file: string, o: { key: 'userName' | 'externalId'; map?: string[]; managerKey?: 'userName' | 'externalId' | 'employeeNumber'; delimiter: string; data?: string }) => {
      const mapping: Record<string, ImportTarget | 'ignore'> = {};
      for (const m of o.map ?? []) {
        const i = m.lastIndexOf('=');
        if (i <= 0) throw new CommanderError(2, 'steward.usage', `--map '${m}': write it as header=attribute`);
        mapping[m.slice(0, i)] = m.slice(i + 1) as ImportTarget;
      }
      await withBackend(o, 'steward import users', async (b) => {
        const bar = new cliProgress.SingleBar({ format: 'importing [{bar}] {percentage}% | {rows} rows', stream: process.stderr }, cliProgress.Presets.shades_classic);
        bar.start(100, 0, { rows: 0 });
        let report;
        try {
          report = await b.importUsers(file, { key: o.key, mapping, delimiter: o.delimiter, ...(o.managerKey ? { managerKey: o.managerKey } : {}) }, (f, rows) =>
            bar.update(Math.round(f * 100), { rows }),
          );
          bar.update(100, { rows: report.rows });
        } finally {
          bar.stop();
        }
        console.log(`${report.rows} rows: ${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${report.rejectedCount} rejected`);
        for (const r of report.rejected) console.log(`line ${r.line}: rejected: ${r.reason}`);
        for (const w of report.warnings) console.log(`line ${w.line}: warning: ${w.reason}`);
        if (report.ignoredColumns.length > 0) console.log(`ignored columns: ${report.ignoredColumns.join(', ')}`);
        if (report.rejectedCount > 0) status = 3;
      });
    });

  registerPlanCommands(program, (s) => (status = s));
  registerAppCommands(program, (s) => (status = s));
  registerReconCommands(program, (s) => (status = s));
  registerFlowCommands(program, (s) => (status = s));
  registerLifecycleCommands(program, (s) => (status = s));

  const audit = program.command('audit').description('the audit trail');
  audit
    .command('verify')
    .description('check the hash chain of the audit trail; exits non-zero at the first broken link')
    .addOption(dataOption())
    .action(async (o: { data?: string }) => {
      await withBackend(o, 'steward audit verify', async (b) => {
        const v = await b.verifyAudit();
        if (v.ok) {
          console.log(`the audit trail is intact: ${v.events} events`);
        } else {
          console.error(`the audit trail is broken at event ${v.brokenAt}: ${v.reason}`);
          status = 4;
        }
      });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    if (isStewardError(e)) {
      console.error(`steward: ${e.message}`);
      return 1;
    }
    console.error(`steward: ${(e as Error).message}`);
    return 1;
  }
}
