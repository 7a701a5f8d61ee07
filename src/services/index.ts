import type { SecretBox } from '../store/crypto.ts';
import type { Db } from '../store/db.ts';
import { createClientService, type ClientService } from './clients.ts';

export type { ApiClient, ClientService } from './clients.ts';
export { newToken } from './clients.ts';

/** Everything the API and CLI call: built once from the database and keys, passed down. */
export interface Services {
  db: Db;
  clients: ClientService;
}

export interface ServiceDeps {
  db: Db;
  secrets: SecretBox;
}

export function createServices(deps: ServiceDeps): Services {
  return {
    db: deps.db,
    clients: createClientService(deps.db),
  };
}
