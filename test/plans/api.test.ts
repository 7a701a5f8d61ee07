// The plan routes over HTTP (inject), on every test database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlanXml } from '../../src/plan/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';
import { assign, makeAccount, makePerson, makePlanApp, type PlanWorld } from './fixtures.ts';

describe.each(testDbKinds())('plan API on %s', (kind) => {
  let t: TestApp;
  let w: PlanWorld;
  beforeAll(async () => {
    t = await createTestApp(kind);
    w = await makePlanApp(t);
  }, 120_000);
  afterAll(async () => t?.close());

  it('answers 422 plan.invalid with every problem and its line and column for bad XML', async () => {
    const xml = `<ProvisioningPlan>\n  <AccountRequest application='${w.appName}' op='Modify' nativeIdentity='uid=ghost'>\n    <AttributeRequest name='shoeSize' value='1'/>\n  </AccountRequest>\n  <AccountRequest application='Nope' nativeIdentity='x'/>\n</ProvisioningPlan>`;
    const res = await t.call(t.admin, 'POST', '/v1.0/plans/validate', xml, { 'content-type': 'application/xml' });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.error.code).toBe('plan.invalid');
    expect(body.error.problems.map((p: { code: string; line: number; column: number }) => [p.code, p.line, p.column])).toEqual([
      ['plan.unknown_attribute', 3, 5],
      ['plan.account_not_found', 2, 3],
      ['plan.unknown_application', 5, 3],
    ]);
  });

  it('answers 422 with the reader’s positions for XML that is not well-formed', async () => {
    const res = await t.call(t.admin, 'POST', '/v1.0/plans/validate', `<ProvisioningPlan>\n  <AccountRequest application='A' nativeIdentity='x'>\n</ProvisioningPlan>`, { 'content-type': 'text/xml' });
    expect(res.statusCode).toBe(422);
    const [first] = res.json().error.problems;
    expect(first.code).toBe('plan.xml.malformed');
    expect(first.line).toBe(3);
  });

  it('validates a JSON plan, the identity query parameter supplying the target', async () => {
    const p = await makePerson(t.db);
    await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, {});
    const plan = { accountRequests: [{ application: w.appName, nativeIdentity: `uid=${p.userName}`, attributeRequests: [{ name: 'groups', value: 'cn=g1' }] }] };
    const res = await t.call(t.admin, 'POST', `/v1.0/plans/validate?identity=${p.userName}`, plan);
    expect(res.statusCode).toBe(200);
    expect(res.json().plan.identity).toBe(p.userName);
    const bad = await t.call(t.admin, 'POST', '/v1.0/plans/validate?identity=no-such-person', plan);
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.problems).toEqual([expect.objectContaining({ code: 'plan.unknown_identity', field: 'identity' })]);
  });

  it('previews a plan', async () => {
    const p = await makePerson(t.db);
    await makeAccount(t.db, w.appId, `uid=${p.userName}`, p.id, { groups: ['cn=g1'] });
    const xml = `<ProvisioningPlan><AccountRequest application='${w.appName}' op='Disable' nativeIdentity='uid=${p.userName}'><AttributeRequest name='groups' op='Remove' value='cn=g1'/></AccountRequest></ProvisioningPlan>`;
    const res = await t.call(t.admin, 'POST', '/v1.0/plans/preview', xml, { 'content-type': 'application/xml' });
    expect(res.statusCode).toBe(200);
    const [account] = res.json().accounts;
    expect(account.enabled).toEqual({ before: true, after: false });
    expect(account.attributes).toEqual([{ name: 'groups', before: ['cn=g1'], added: [], removed: ['cn=g1'] }]);
  });

  it("serves an identity's compiled plan as JSON and as XML", async () => {
    const p = await makePerson(t.db);
    await assign(t.db, { identityId: p.id }, w.appId, w.groups['cn=g1']!);
    const json = await t.call(t.admin, 'GET', `/v1.0/users/${p.id}/plan`);
    expect(json.statusCode).toBe(200);
    expect(json.json().accountRequests[0]).toMatchObject({ application: w.appName, op: 'Create' });
    const xml = await t.call(t.admin, 'GET', `/v1.0/users/${p.id}/plan?format=xml`);
    expect(xml.headers['content-type']).toMatch(/^application\/xml/);
    const parsed = parsePlanXml(xml.body);
    expect(parsed.ok && parsed.value.accountRequests[0]!.op).toBe('Create');
    const missing = await t.call(t.admin, 'GET', '/v1.0/users/00000000-0000-4000-8000-000000000000/plan');
    expect(missing.statusCode).toBe(404);
  });

  it('needs manage-applications to validate and manage-entitlements for a compiled plan', async () => {
    const ents = await t.token('manage-entitlements');
    expect((await t.call(ents, 'POST', '/v1.0/plans/validate', { accountRequests: [] })).statusCode).toBe(403);
    const apps = await t.token('manage-applications');
    expect((await t.call(apps, 'POST', '/v1.0/plans/validate', { accountRequests: [] })).statusCode).toBe(200);
    const p = await makePerson(t.db);
    expect((await t.call(apps, 'GET', `/v1.0/users/${p.id}/plan`)).statusCode).toBe(403);
    expect((await t.call(ents, 'GET', `/v1.0/users/${p.id}/plan`)).statusCode).toBe(200);
  });
});
