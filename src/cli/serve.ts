import { randomBytes, timingSafeEqual } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../api/app.ts';
import { createAuthenticator } from '../api/auth.ts';
import type { Actor } from '../domain/actor.ts';
import { scheduleMaintenance } from '../store/maintenance.ts';
import type { Config } from './config.ts';
import { bootstrap, openRuntime, startWorkers } from './runtime.ts';

export const CONTROL_TOKEN_FILE = 'control.token';
const CLI_ACTOR: Actor = { kind: 'cli', id: null, name: 'local', privileges: ['admin'] };

/** Runs the server until SIGINT or SIGTERM, then drains requests and closes the database. */
export async function serve(config: Config): Promise<number> {
  const rt = await openRuntime(config, 'steward serve', { queue: true });
  const { services } = rt;
  const lock = services.db.lock;
  // The local CLI reaches a running embedded server with this token, readable only by
  // whoever can read the data directory itself.
  const control = lock ? randomBytes(32).toString('base64url') : undefined;
  const controlBuf = control ? Buffer.from(control) : undefined;
  const controlFile = join(config.dataDir, CONTROL_TOKEN_FILE);
  const local = (token: string): Actor | undefined => {
    if (!controlBuf) return undefined;
    const given = Buffer.from(token);
    return given.length === controlBuf.length && timingSafeEqual(given, controlBuf) ? CLI_ACTOR : undefined;
  };
  const app = await buildApp({
    services,
    logger: { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    importLimit: config.importLimit,
    authenticator: createAuthenticator(services.clients, local),
  });
  try {
    if (await bootstrap(services, config.bootstrapToken)) app.log.info('created the bootstrap admin client from STEWARD_BOOTSTRAP_TOKEN');
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    await app.close();
    await rt.close();
    throw e;
  }
  // The embedded mode runs one worker in this process; with PostgreSQL, `steward worker`
  // processes on other machines share the same queue.
  await startWorkers(rt, config);
  const stopMaintenance = scheduleMaintenance(services.db, (msg, err) => (err ? app.log.warn({ err }, msg) : app.log.info(msg)));
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (control && lock) {
    writeFileSync(controlFile, control, { mode: 0o600 });
    lock.update({ serverUrl: url });
  }
  const where = config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`;
  console.log(`Steward is listening on ${url} with ${where}. API docs: ${url}/docs`);
  if ((await services.clients.count()) === 0) {
    console.log('No API clients yet. Make an admin token with: npx steward client create --name admin --privilege admin');
  }

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.log.info({ signal }, 'shutting down: draining requests');
      void (async () => {
        try {
          stopMaintenance();
          await app.close();
        } finally {
          if (control) {
            try {
              unlinkSync(controlFile);
            } catch {
              // already gone
            }
          }
          await rt.close();
          resolveExit(0);
        }
      })();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
