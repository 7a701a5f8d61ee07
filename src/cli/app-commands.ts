/**
 * `steward app test ID`: the connection test of one application, on the database directly
 * or through the running embedded server that holds the data directory, as the other
 * commands do. Exits 0 when the connection works, 5 when it does not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import type { ConnectionTest } from '../services/index.ts';
import { readLock } from '../store/lock.ts';
import { loadConfig, type Config } from './config.ts';
import { openRuntime } from './runtime.ts';
import { CONTROL_TOKEN_FILE } from './serve.ts';

export const TEST_FAILED_STATUS = 5;

const dataOption = () => new Option('--data <dir>', 'embedded data directory (default ./data, or STEWARD_DATA_DIR)');

/** Runs the test where the data is: through the running server when one holds the directory. */
async function runTest(config: Config, id: string): Promise<ConnectionTest> {
  if (!config.databaseUrl) {
    const holder = readLock(config.dataDir);
    if (holder?.serverUrl) {
      const token = readFileSync(join(config.dataDir, CONTROL_TOKEN_FILE), 'utf8').trim();
      let res: Response;
      try {
        res = await fetch(`${holder.serverUrl}/v1.0/applications/${encodeURIComponent(id)}/test`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      } catch (e) {
        throw new Error(`could not reach the running server (pid ${holder.pid}) at ${holder.serverUrl}: ${(e as Error).message}`, { cause: e });
      }
      const text = await res.text();
      const json = text ? (JSON.parse(text) as unknown) : undefined;
      if (!res.ok) throw new Error((json as { error?: { message?: string } } | undefined)?.error?.message ?? `the test answered ${res.status}`);
      return json as ConnectionTest;
    }
  }
  const rt = await openRuntime(config, 'steward app test');
  try {
    return await rt.services.diagnostics.test(id);
  } finally {
    await rt.close();
  }
}

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
