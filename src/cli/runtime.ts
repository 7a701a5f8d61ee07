import { SYSTEM_ACTOR } from '../domain/actor.ts';
import { createServices, type Services } from '../services/index.ts';
import { createSecretBox } from '../store/crypto.ts';
import { migrate, openDb } from '../store/db.ts';
import type { Config } from './config.ts';
import { loadSecretKey } from './config.ts';

/** The database, migrated, and the services over it: everything wired in one place. */
export interface Runtime {
  services: Services;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, command: string): Promise<Runtime> {
  const key = loadSecretKey(config);
  const db = await openDb({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir, command });
  try {
    await migrate(db);
    const services = createServices({ db, secrets: createSecretBox(key) });
    return { services, close: () => db.close() };
  } catch (e) {
    await db.close();
    throw e;
  }
}

/** Creates the bootstrap admin client when the database has none; returns whether it did. */
export async function bootstrap(services: Services, token: string | undefined): Promise<boolean> {
  if (!token) return false;
  if ((await services.clients.count()) > 0) return false;
  await services.clients.create(SYSTEM_ACTOR, { name: 'bootstrap', privileges: ['admin'], token });
  return true;
}
