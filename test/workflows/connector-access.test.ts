import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectorLimiter, createRegistry, type Connector, type ConnectorKind } from '../../src/connectors/index.ts';
import { createConnectorAccess } from '../../src/services/connector-access.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import type { Db } from '../../src/store/db.ts';
import { createTestDb, testDbKinds } from '../support/db.ts';

/** A connector kind that remembers the settings each connector was made with. */
function recordingKind(): { kind: ConnectorKind; made: Record<string, unknown>[] } {
  const made: Record<string, unknown>[] = [];
  const kind = {
    name: 'recording',
    description: 'test',
    settingsSchema: { type: 'object' },
    secretSettings: [],
    create: ({ settings }: { settings: Record<string, unknown> }) => {
      made.push(settings);
      return { close: async () => undefined, settings } as unknown as Connector;
    },
  } as unknown as ConnectorKind;
  return { kind, made };
}

describe.each(testDbKinds())('connector access on %s', (kindName) => {
  let db: Db;
  beforeAll(async () => {
    db = await createTestDb(kindName);
  });
  afterAll(() => db?.close());

  const newApplication = async (settings: Record<string, unknown>) =>
    (
      await db.k
        .insertInto('applications')
        .values({ name: `ca-${randomBytes(4).toString('hex')}`, connector_kind: 'recording', settings: JSON.stringify(settings), secrets: '{}', account_schema: '{}', capabilities: '{}', deprovisioning_policy: '{}', adoption_policy: '{}', remediation_policy: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  it('hands calls made together the application as it is, and a call after a change the changed one', async () => {
    const { kind, made } = recordingKind();
    const access = createConnectorAccess({ db, secrets: createSecretBox(randomBytes(32)), connectors: createRegistry([kind]), limiter: createConnectorLimiter() });
    const id = await newApplication({ baseUrl: 'http://one.example' });
    const seen = await Promise.all(Array.from({ length: 5 }, () => access.withConnector(id, async (_c, app) => app.row.settings)));
    expect(seen).toEqual(Array.from({ length: 5 }, () => ({ baseUrl: 'http://one.example' })));
    expect(made).toEqual([{ baseUrl: 'http://one.example' }]);

    await db.k.updateTable('applications').set({ settings: JSON.stringify({ baseUrl: 'http://two.example' }), version: (eb) => eb('version', '+', 1) }).where('id', '=', id).execute();
    const after = await access.withConnector(id, async (c, app) => ({ settings: app.row.settings, connector: (c as unknown as { settings: unknown }).settings }));
    expect(after).toEqual({ settings: { baseUrl: 'http://two.example' }, connector: { baseUrl: 'http://two.example' } });
    await access.close();
  });

  it('answers application.not_found for an id that is not an application, UUID or not, without failing the others', async () => {
    const { kind } = recordingKind();
    const access = createConnectorAccess({ db, secrets: createSecretBox(randomBytes(32)), connectors: createRegistry([kind]), limiter: createConnectorLimiter() });
    const id = await newApplication({});
    const [ok, missing, junk] = await Promise.allSettled([
      access.withConnector(id, async () => 'ran'),
      access.withConnector('00000000-0000-4000-8000-000000000000', async () => 'ran'),
      access.withConnector('not-a-uuid', async () => 'ran'),
    ]);
    expect(ok).toEqual({ status: 'fulfilled', value: 'ran' });
    expect(missing).toMatchObject({ status: 'rejected', reason: { code: 'application.not_found' } });
    expect(junk).toMatchObject({ status: 'rejected', reason: { code: 'application.not_found' } });
    await access.close();
  });
});
