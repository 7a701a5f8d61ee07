/**
 * `steward app test ID`: the connection test of one application, on the database directly
 * or through the running embedded server that holds the data directory, as the other
 * commands do. Exits 0 when the connection works, 5 when it does not.
 */
import { Option, type Command } from 'commander';
import type { ConnectionTest } from '../services/index.ts';
import { withApi } from './api-call.ts';
import { loadConfig, type Config } from './config.ts';

export const TEST_FAILED_STATUS = 5;

const dataOption = () => new Option('--data <dir>', 'embedded data directory (default ./data, or STEWARD_DATA_DIR)');

/** Runs the test where the data is: through the running server when one holds the directory. */
const runTest = (config: Config, id: string): Promise<ConnectionTest> =>
  withApi(config, 'steward app test', async (call) => (await call('POST', `/v1.0/applications/${encodeURIComponent(id)}/test`)) as ConnectionTest);

/** Registers `steward app …`; `setStatus` receives the exit status. */
export function registerAppCommands(program: Command, setStatus: (status: number) => void): void {
  const app = program.command('app').description('applications (target systems)');
  app
    .command('test')
    .description("test the connection to an application with its stored settings and secrets; exits 5 when it fails")
    .argument('<id>', 'the application id')
    .addOption(dataOption())
    .action(async (id: string, o: { data?: string }) => {
      const r = await runTest(loadConfig(o), id);
      if (r.ok) console.log(`ok (${r.durationMs} ms): ${r.message}`);
      else {
        console.error(`failed (${r.errorKind ?? 'permanent'}, ${r.durationMs} ms): ${r.message}`);
        setStatus(TEST_FAILED_STATUS);
      }
    });
}
