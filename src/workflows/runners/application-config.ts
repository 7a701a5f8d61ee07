/**
 * `RunnerDeps.applicationConfig`: an application's settings with its secrets opened, by id
 * or by name. GitLab issue scripts take the instance and token from a `gitlab` application;
 * a signed webhook takes its key from an application's secret. Metadata is not encrypted,
 * so it names the application instead of carrying a secret.
 */
import { sql } from 'kysely';
import { ConnectorError } from '../../connectors/index.ts';
import type { SecretBox } from '../../store/crypto.ts';
import type { Db } from '../../store/db.ts';
import type { ApplicationConfig } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The loader to put in RunnerDeps, over the store and the key that sealed the secrets. */
export function createApplicationConfigLoader(deps: { db: Db; secrets: SecretBox }): (idOrName: string) => Promise<ApplicationConfig> {
  return async (idOrName) => {
    let q = deps.db.k.selectFrom('applications').select(['id', 'name', 'connector_kind', 'settings', 'secrets']);
    q = UUID.test(idOrName) ? q.where((eb) => eb.or([eb('id', '=', idOrName), eb(sql<string>`lower(name)`, '=', idOrName.toLowerCase())])) : q.where(sql<string>`lower(name)`, '=', idOrName.toLowerCase());
    const row = await q.executeTakeFirst();
    if (!row) throw new ConnectorError('permanent', 'invalid_settings', `no application has the id or name '${idOrName}'`);
    const secrets = Object.fromEntries(Object.entries(row.secrets).map(([k, v]) => [k, deps.secrets.open(v)]));
    return { id: row.id, name: row.name, connectorKind: row.connector_kind, settings: row.settings, secrets };
  };
}
