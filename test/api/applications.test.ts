import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { SCIM_CAPABILITIES } from '../../src/connectors/scim/index.ts';
import { uniqueName, createTestApp, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { collectPages, makeIdentity, scimApp } from './app-fixtures.ts';

interface Problem {
  code: string;
  field?: string;
  message: string;
}

describe.each(testDbKinds())('applications on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t?.close());

  const post = (body: unknown) => t.call(t.admin, 'POST', '/v1.0/applications', body);
  const rawRow = (id: string) => t.db.k.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const auditOf = (id: string) => t.db.k.selectFrom('audit_events').selectAll().where('object_type', '=', 'application').where('object_id', '=', id).orderBy('seq').execute();
  const countApps = async () => Number((await t.db.k.selectFrom('applications').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const problemsOf = (res: { json(): unknown }) => (res.json() as { error: { problems: Problem[] } }).error.problems;

  it('creates an application with the defaults of its connector kind and policies, and reads it back', async () => {
    const owner = await makeIdentity(t.db);
    const res = await post(scimApp('Salesforce', { description: 'CRM', ownerId: owner }));
    expect(res.statusCode).toBe(201);
    const app = res.json();
    expect(app).toMatchObject({
      name: 'Salesforce',
      description: 'CRM',
      ownerId: owner,
      connectorKind: 'scim',
      settings: { baseUrl: 'https://scim.example.com/v2' },
      secrets: { token: '********' },
      accountSchema: { attributes: [] },
      capabilities: [...SCIM_CAPABILITIES.operations],
      deprovisioningPolicy: { action: 'Suspend', gracePeriod: 'P0D' },
      adoptionPolicy: { match: [] },
      remediationPolicy: {
        accountAppeared: 'letMeDecide',
        accountChanged: 'letMeDecide',
        entitlementAddedOutOfBand: 'letMeDecide',
        entitlementRemovedOutOfBand: 'letMeDecide',
        accountRemoved: 'letMeDecide',
      },
      version: 1,
    });
    const got = await t.call(t.admin, 'GET', `/v1.0/applications/${app.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(app);
  });

  it('keeps the whole definition it is given: schema, capabilities and all three policies', async () => {
    const body = scimApp(uniqueName('full'), {
      accountSchema: {
        attributes: [
          { name: 'userName', type: 'string', multiValued: false, required: true },
          { name: 'mail', type: 'string', multiValued: false },
          { name: 'employeeId', type: 'integer', multiValued: false },
          { name: 'groups', type: 'string', multiValued: true, entitlementKind: 'group' },
        ],
      },
      capabilities: ['create_user', 'disable_user'],
      deprovisioningPolicy: { action: 'Delete', gracePeriod: 'P1DT12H' },
      adoptionPolicy: { match: [{ identityAttribute: 'email', accountAttribute: 'mail' }, { identityAttribute: 'employeeNumber', accountAttribute: 'employeeId' }] },
      remediationPolicy: { entitlementAddedOutOfBand: 'revoke', accountChanged: 'accept' },
    });
    const res = await post(body);
    expect(res.statusCode).toBe(201);
    const app = res.json();
    expect(app.accountSchema).toEqual(body.accountSchema);
    expect(app.capabilities).toEqual(['create_user', 'disable_user']);
    expect(app.deprovisioningPolicy).toEqual({ action: 'Delete', gracePeriod: 'P1DT12H' });
    expect(app.adoptionPolicy).toEqual(body.adoptionPolicy);
    expect(app.remediationPolicy).toMatchObject({ entitlementAddedOutOfBand: 'revoke', accountChanged: 'accept', accountAppeared: 'letMeDecide' });
  });

  it('stores secrets encrypted, never answers them, and audits only the masked form', async () => {
    const body = scimApp(uniqueName('secret'));
    const plaintext = body.secrets.token;
    const app = (await post(body)).json();
    const row = await rawRow(app.id);
    expect(JSON.stringify(row)).not.toContain(plaintext);
    expect(row.secrets.token).toMatch(/^v1:/);
    const list = await t.call(t.admin, 'GET', `/v1.0/applications?namePrefix=${encodeURIComponent(body.name)}`);
    expect(JSON.stringify(list.json())).not.toContain(plaintext);
    expect(JSON.stringify(list.json())).not.toContain(row.secrets.token);
    const audit = await auditOf(app.id);
    expect(audit.map((e) => e.action)).toEqual(['application.create']);
    const text = JSON.stringify(audit);
    expect(text).not.toContain(plaintext);
    expect(text).not.toContain(row.secrets.token!.slice(3, 30));
    expect((audit[0]!.after as { secrets: unknown }).secrets).toEqual({ token: '********' });
  });

  it('keeps a secret sent as the mask or left out, replaces one sent anew, and removes one sent as null', async () => {
    const name = uniqueName('rotate');
    const app = (await post(scimApp(name))).json();
    const sealed = (await rawRow(app.id)).secrets.token;

    const masked = await t.call(t.admin, 'PUT', `/v1.0/applications/${app.id}`, { ...scimApp(name), secrets: { token: '********' }, description: 'masked', version: 1 });
    expect(masked.statusCode).toBe(200);
    expect(masked.json().version).toBe(2);
    expect((await rawRow(app.id)).secrets.token).toBe(sealed);

    const omitted = await t.call(t.admin, 'PUT', `/v1.0/applications/${app.id}`, { name, connectorKind: 'scim', settings: { baseUrl: 'https://scim.example.com/v2' }, version: 2 });
    expect(omitted.statusCode).toBe(200);
    expect(omitted.json().secrets).toEqual({ token: '********' });
    expect((await rawRow(app.id)).secrets.token).toBe(sealed);

    const rotated = await t.call(t.admin, 'PUT', `/v1.0/applications/${app.id}`, { ...scimApp(name), secrets: { token: 'the-new-token' }, version: 3 });
    expect(rotated.statusCode).toBe(200);
    const resealed = (await rawRow(app.id)).secrets.token;
    expect(resealed).not.toBe(sealed);
    expect(JSON.stringify(await rawRow(app.id))).not.toContain('the-new-token');

    // Switching to OAuth client credentials: the bearer token is no longer needed and is removed.
    const oauth = await t.call(t.admin, 'PUT', `/v1.0/applications/${app.id}`, {
      name,
      connectorKind: 'scim',
      settings: { baseUrl: 'https://scim.example.com/v2', auth: 'oauth2_client_credentials', tokenUrl: 'https://idp.example.com/token', clientId: 'steward' },
      secrets: { token: null, clientSecret: 'client-secret-PLAIN' },
      version: 4,
    });
    expect(oauth.statusCode).toBe(200);
    expect(oauth.json().secrets).toEqual({ clientSecret: '********' });
    expect(Object.keys((await rawRow(app.id)).secrets)).toEqual(['clientSecret']);

    const audit = await auditOf(app.id);
    expect(audit.map((e) => e.action)).toEqual(['application.create', 'application.update', 'application.update', 'application.update', 'application.update']);
    expect(audit.map((e) => (e.after as { secretsChanged?: string[] }).secretsChanged)).toEqual([undefined, undefined, undefined, ['token'], ['clientSecret', 'token']]);
    const text = JSON.stringify(audit);
    for (const secret of ['the-new-token', 'client-secret-PLAIN', 'PLAINTEXT']) expect(text).not.toContain(secret);
  });

  it('refuses removing a secret the connector needs, naming it, and changes nothing', async () => {
    const name = uniqueName('needs');
    const app = (await post(scimApp(name))).json();
    const res = await t.call(t.admin, 'PUT', `/v1.0/applications/${app.id}`, { ...scimApp(name), secrets: { token: null }, version: 1 });
    expect(res.statusCode).toBe(400);
    expect(problemsOf(res)).toContainEqual(expect.objectContaining({ field: 'secrets.token', message: 'is required' }));
    const row = await rawRow(app.id);
    expect(row.version).toBe(1);
    expect(Object.keys(row.secrets)).toEqual(['token']);
  });

  it('refuses a stale version with 409 store.conflict', async () => {
    const name = uniqueName('stale');
    const app = (await post(scimApp(name))).json();
    expect((await t.call(t.admin, 'PUT', `/v1.0/applications/${app.id}`, { ...scimApp(name), description: 'first', version: 1 })).statusCode).toBe(200);
    const stale = await t.call(t.admin, 'PUT', `/v1.0/applications/${app.id}`, { ...scimApp(name), description: 'second', version: 1 });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('store.conflict');
    expect((await rawRow(app.id)).description).toBe('first');
  });

  it.each([
    ['an unknown field', { extra: 1 }, 'body.extra', 'request.invalid'],
    ['an unknown connector kind', { connectorKind: 'mainframe' }, 'connectorKind', 'application.invalid'],
    ['a missing required setting', { settings: {} }, 'settings.baseUrl', 'application.invalid'],
    ['an unknown setting', { settings: { baseUrl: 'https://x.example.com', colour: 'red' } }, 'settings.colour', 'application.invalid'],
    ['a secret among the plain settings', { settings: { baseUrl: 'https://x.example.com', token: 'oops' }, secrets: {} }, 'settings.token', 'application.invalid'],
    ['a plain setting among the secrets', { secrets: { token: 't', baseUrl: 'https://x.example.com' } }, 'secrets.baseUrl', 'application.invalid'],
    ['the mask with no stored secret', { secrets: { token: '********' } }, 'secrets.token', 'application.invalid'],
    ['an empty secret', { secrets: { token: '' } }, 'secrets.token', 'application.invalid'],
    ['a secret that is not a string', { secrets: { token: { value: 'x' } } }, 'body.secrets.token', 'request.invalid'],
    ['a grace period that is not a duration', { deprovisioningPolicy: { gracePeriod: '7 days' } }, 'deprovisioningPolicy.gracePeriod', 'application.invalid'],
    ['a grace period over a year', { deprovisioningPolicy: { gracePeriod: 'P400D' } }, 'deprovisioningPolicy.gracePeriod', 'application.invalid'],
    ['an action that is not a de-provisioning action', { deprovisioningPolicy: { action: 'Shred' } }, 'body.deprovisioningPolicy.action', 'request.invalid'],
    ['an action the connector cannot perform', { deprovisioningPolicy: { action: 'Archive' } }, 'deprovisioningPolicy.action', 'application.invalid'],
    ['an operation the connector does not offer', { capabilities: ['create_user', 'create_entity'] }, 'capabilities[1]', 'application.invalid'],
    ['an operation that does not exist', { capabilities: ['launch_missiles'] }, 'body.capabilities.0', 'request.invalid'],
    ['a capability twice', { capabilities: ['create_user', 'create_user'] }, 'capabilities', 'application.invalid'],
    ['an unknown identity attribute in adoption', { adoptionPolicy: { match: [{ identityAttribute: 'shoeSize', accountAttribute: 'mail' }] } }, 'body.adoptionPolicy.match.0.identityAttribute', 'request.invalid'],
    [
      'an adoption attribute not in the account schema',
      { accountSchema: { attributes: [{ name: 'mail', type: 'string', multiValued: false }] }, adoptionPolicy: { match: [{ identityAttribute: 'email', accountAttribute: 'email' }] } },
      'adoptionPolicy.match[0].accountAttribute',
      'application.invalid',
    ],
    ['an unknown remediation', { remediationPolicy: { accountAppeared: 'ignore' } }, 'body.remediationPolicy.accountAppeared', 'request.invalid'],
    ['an unknown account change', { remediationPolicy: { accountExploded: 'revoke' } }, 'body.remediationPolicy.accountExploded', 'request.invalid'],
    [
      'an attribute defined twice',
      { accountSchema: { attributes: [{ name: 'mail', type: 'string', multiValued: false }, { name: 'Mail', type: 'string', multiValued: false }] } },
      'accountSchema.attributes[1].name',
      'application.invalid',
    ],
    ['an attribute of an unknown type', { accountSchema: { attributes: [{ name: 'x', type: 'float', multiValued: false }] } }, 'body.accountSchema.attributes.0.type', 'request.invalid'],
    ['an entitlement attribute that is not a string', { accountSchema: { attributes: [{ name: 'lic', type: 'integer', multiValued: true, entitlementKind: 'license' }] } }, 'accountSchema.attributes[0].type', 'application.invalid'],
    ['a name with surrounding spaces', { name: ' padded ' }, 'name', 'application.invalid'],
    ['an owner id that is not a uuid', { ownerId: 'bob' }, 'body.ownerId', 'request.invalid'],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_what, change, field, code) => {
    const before = await countApps();
    const res = await post({ ...scimApp(uniqueName('bad')), ...change });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe(code);
    expect(problemsOf(res).map((p) => p.field)).toContain(field);
    expect(await countApps()).toBe(before);
  });

  it('reports every problem at once', async () => {
    const bad = await post({ ...scimApp(uniqueName('many')), settings: {}, deprovisioningPolicy: { gracePeriod: 'soon' }, secrets: { token: 't', colour: 'red' } });
    expect(bad.statusCode).toBe(400);
    expect(problemsOf(bad).map((p) => p.field).sort()).toEqual(['deprovisioningPolicy.gracePeriod', 'secrets.colour', 'settings.baseUrl']);
    // With settings the connector accepts, what it can do is checked too.
    const res = await post({ ...scimApp(uniqueName('many')), deprovisioningPolicy: { action: 'Archive', gracePeriod: 'soon' }, capabilities: ['create_entity'] });
    expect(problemsOf(res).map((p) => p.field).sort()).toEqual(['capabilities[0]', 'deprovisioningPolicy.action', 'deprovisioningPolicy.gracePeriod']);
  });

  it('refuses an owner that is not an identity with 400 application.owner_not_found', async () => {
    const before = await countApps();
    const res = await post(scimApp(uniqueName('owner'), { ownerId: '00000000-0000-4000-8000-000000000001' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('application.owner_not_found');
    expect(problemsOf(res)[0]!.field).toBe('ownerId');
    expect(await countApps()).toBe(before);
  });

  it('refuses a second application with the same name, ignoring case, with 409', async () => {
    const name = uniqueName('Dup');
    expect((await post(scimApp(name))).statusCode).toBe(201);
    const dup = await post(scimApp(name.toUpperCase()));
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('application.duplicate_name');
    const other = (await post(scimApp(uniqueName('Other')))).json();
    const rename = await t.call(t.admin, 'PUT', `/v1.0/applications/${other.id}`, { ...scimApp(name.toLowerCase()), version: 1 });
    expect(rename.statusCode).toBe(409);
    expect(rename.json().error.code).toBe('application.duplicate_name');
  });

  it('answers 404 for an unknown application and 400 for an id that is not one', async () => {
    const missing = '00000000-0000-4000-8000-00000000abcd';
    for (const [method, body] of [['GET', undefined], ['PUT', { ...scimApp('x'), version: 1 }], ['DELETE', undefined]] as const) {
      const res = await t.call(t.admin, method, `/v1.0/applications/${missing}`, body);
      expect(res.statusCode, method).toBe(404);
      expect(res.json().error.code).toBe('application.not_found');
    }
    const bad = await t.call(t.admin, 'GET', '/v1.0/applications/not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(problemsOf(bad)[0]!.field).toBe('params.applicationId');
  });

  it('deletes an unused application, and one in use only with force, taking its accounts along', async () => {
    const unused = (await post(scimApp(uniqueName('unused')))).json();
    expect((await t.call(t.admin, 'DELETE', `/v1.0/applications/${unused.id}`)).statusCode).toBe(204);
    expect((await t.call(t.admin, 'GET', `/v1.0/applications/${unused.id}`)).statusCode).toBe(404);

    const used = (await post(scimApp(uniqueName('used')))).json();
    await t.db.k.insertInto('accounts').values({ application_id: used.id, native_identity: 'u1', attributes: '{}' }).execute();
    const refused = await t.call(t.admin, 'DELETE', `/v1.0/applications/${used.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('application.in_use');
    expect((await t.call(t.admin, 'GET', `/v1.0/applications/${used.id}`)).statusCode).toBe(200);

    const forced = await t.call(t.admin, 'DELETE', `/v1.0/applications/${used.id}?force=true`);
    expect(forced.statusCode).toBe(204);
    const left = await t.db.k.selectFrom('accounts').select('id').where('application_id', '=', used.id).execute();
    expect(left).toHaveLength(0);
    const audit = await auditOf(used.id);
    expect(audit.map((e) => e.action)).toEqual(['application.create', 'application.delete']);
    expect(audit[1]!.after).toEqual({ deleted: true, cascaded: { accounts: 1, liveAssignments: 0, entitlements: 0 } });
    expect((audit[1]!.before as { secrets: unknown }).secrets).toEqual({ token: '********' });
  });

  it('refuses to delete an application with a live assignment', async () => {
    const app = (await post(scimApp(uniqueName('assigned')))).json();
    const who = await makeIdentity(t.db);
    expect((await t.call(t.admin, 'POST', `/v1.0/applications/${app.id}/assignments`, { identityId: who })).statusCode).toBe(201);
    const res = await t.call(t.admin, 'DELETE', `/v1.0/applications/${app.id}`);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('application.in_use');
  });

  it('pages the list by name, each application exactly once, and filters by name prefix and connector kind', async () => {
    const prefix = uniqueName('pg');
    const names = ['b', 'A', 'c', 'D', 'e', 'F', 'g'].map((s) => `${prefix}-${s}`);
    for (const n of names) expect((await post(scimApp(n))).statusCode).toBe(201);
    const seen = await collectPages<{ name: string }>(async (cursor) => (await t.call(t.admin, 'GET', `/v1.0/applications?limit=2&namePrefix=${prefix.toUpperCase()}${cursor ? `&cursor=${cursor}` : ''}`)).json(), 2);
    expect(seen.map((a) => a.name)).toEqual([...names].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase())));

    const everything = await collectPages<{ id: string }>(async (cursor) => (await t.call(t.admin, 'GET', `/v1.0/applications?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json(), 3);
    const ids = everything.map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(await countApps());

    const byKind = await t.call(t.admin, 'GET', `/v1.0/applications?connectorKind=ldap&namePrefix=${prefix}`);
    expect(byKind.json().items).toEqual([]);
    const scim = await t.call(t.admin, 'GET', `/v1.0/applications?connectorKind=scim&namePrefix=${prefix}&limit=1000`);
    expect(scim.json().items).toHaveLength(names.length);
  });

  it('treats LIKE wildcards in a name prefix as plain characters', async () => {
    const base = uniqueName('wild');
    await post(scimApp(`${base}_x`));
    await post(scimApp(`${base}ax`));
    const res = await t.call(t.admin, 'GET', `/v1.0/applications?namePrefix=${encodeURIComponent(`${base}_`)}`);
    expect(res.json<{ items: { name: string }[] }>().items.map((a) => a.name)).toEqual([`${base}_x`]);
  });

  it('answers 400 to a cursor it did not give out', async () => {
    for (const cursor of ['garbage', Buffer.from(JSON.stringify([1])).toString('base64url'), Buffer.from(JSON.stringify(['a', 'b'])).toString('base64url')]) {
      const res = await t.call(t.admin, 'GET', `/v1.0/applications?cursor=${cursor}`);
      expect(res.statusCode, cursor).toBe(400);
      expect(problemsOf(res)[0]!.field).toBe('query.cursor');
    }
  });

  it('never writes a secret or its sealed form to the log, even at trace level and on errors', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logged = await buildApp({ services: t.services, logger: { level: 'trace', stream } });
    try {
      const call = (method: 'POST' | 'PUT', url: string, body: unknown) => logged.inject({ method, url, headers: { authorization: `Bearer ${t.admin}` }, payload: body as object });
      const name = uniqueName('logged');
      const created = await call('POST', '/v1.0/applications', scimApp(name, { secrets: { token: 'LOGGED-SECRET-1' } }));
      expect(created.statusCode).toBe(201);
      const id = created.json<{ id: string }>().id;
      const bad = await call('PUT', `/v1.0/applications/${id}`, { ...scimApp(name), secrets: { token: 'LOGGED-SECRET-2', nope: 'LOGGED-SECRET-3' }, version: 1 });
      expect(bad.statusCode).toBe(400);
      expect(JSON.stringify(bad.json())).not.toContain('LOGGED-SECRET');
      const stale = await call('PUT', `/v1.0/applications/${id}`, { ...scimApp(name), secrets: { token: 'LOGGED-SECRET-4' }, version: 9 });
      expect(stale.statusCode).toBe(409);
      const sealed = (await rawRow(id)).secrets.token!;
      expect(lines.length).toBeGreaterThan(0);
      const log = lines.join('');
      expect(log).not.toContain('LOGGED-SECRET');
      expect(log).not.toContain(sealed.slice(3, 40));
    } finally {
      await logged.close();
    }
  });

  it('needs manage-applications', async () => {
    const token = await t.token('manage-entitlements');
    expect((await t.call(token, 'GET', '/v1.0/applications')).statusCode).toBe(403);
    const allowed = await t.token('manage-applications');
    expect((await t.call(allowed, 'GET', '/v1.0/applications')).statusCode).toBe(200);
  });
});
