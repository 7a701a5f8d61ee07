import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/store/audit.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { testDbKinds } from '../support/db.ts';

const csv = (lines: string[]) => lines.join('\n') + '\n';

describe.each(testDbKinds())('CSV import of users on %s', (kind) => {
  let t: TestApp;
  let hr: string;
  const post = (body: string | Buffer, query = '', type = 'text/csv') => t.call(hr, 'POST', `/v2.0/CSV/importUsers${query}`, body, { 'content-type': type });
  const identity = (userName: string) =>
    t.db.k.selectFrom('identities').selectAll().where((eb) => eb(eb.fn('lower', ['user_name']), '=', userName.toLowerCase())).executeTakeFirst();

  beforeAll(async () => {
    t = await createTestApp(kind);
    hr = await t.token('manage-users-and-groups');
  });
  afterAll(() => t?.close());

  it('creates identities from the usual HR column names and reports them', async () => {
    const res = await post(
      csv([
        'User Name,First Name,Last Name,Email,Department,Employee ID,Job Title,Kind',
        'ann,Ann,Archer,ann@example.com,Sales,E1,Rep,employee',
        'bob,Bob,Baker,bob@example.com,Sales,E2,Lead,contractor',
      ]),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ rows: 2, created: 2, updated: 0, unchanged: 0, rejectedCount: 0 });
    const ann = await identity('ann');
    expect(ann).toMatchObject({ given_name: 'Ann', family_name: 'Archer', email: 'ann@example.com', department: 'Sales', employee_number: 'E1', title: 'Rep', kind: 'employee' });
    expect((await identity('bob'))?.kind).toBe('contractor');
  });

  it('updates on re-import instead of duplicating, and counts unchanged rows', async () => {
    const res = await post(csv(['userName,givenName,department', 'ann,Ann,Marketing', 'bob,Bob,Sales', 'ANN2,Annie,Sales']));
    expect(res.json()).toMatchObject({ rows: 3, created: 1, updated: 1, unchanged: 1 });
    const ann = await identity('ann');
    expect(ann?.department).toBe('Marketing');
    // attributes the file does not name are kept
    expect(ann?.email).toBe('ann@example.com');
    expect(ann?.version).toBe(2);
    const n = await t.db.k.selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).where((eb) => eb(eb.fn('lower', ['user_name']), '=', 'ann')).executeTakeFirst();
    expect(Number(n?.n)).toBe(1);
  });

  it('rejects bad rows with their line and reason and writes every other row', async () => {
    const res = await post(
      csv([
        'userName,email,kind,active',
        'carl,carl@example.com,employee,yes',
        ',nobody@example.com,employee,yes',
        'dora,not-an-email,employee,yes',
        'erin,erin@example.com,robot,yes',
        'fred,fred@example.com,employee,maybe',
        'gina,gina@example.com',
        'hank,hank@example.com,vendor,no',
      ]),
    );
    const body = res.json();
    expect(body).toMatchObject({ rows: 7, created: 2, rejectedCount: 5 });
    expect(body.rejected).toEqual([
      expect.objectContaining({ line: 3, field: 'userName' }),
      expect.objectContaining({ line: 4, field: 'email', reason: expect.stringContaining('not-an-email') }),
      expect.objectContaining({ line: 5, field: 'kind', reason: expect.stringContaining('robot') }),
      expect.objectContaining({ line: 6, field: 'active', reason: expect.stringContaining('maybe') }),
      expect.objectContaining({ line: 7, reason: expect.stringContaining('2 fields') }),
    ]);
    expect(await identity('carl')).toBeDefined();
    expect((await identity('hank'))?.active).toBe(false);
    expect(await identity('dora')).toBeUndefined();
  });

  it('isolates a row that breaks a constraint inside a batch', async () => {
    await post(csv(['userName,externalId', 'ivan,X-1']));
    const res = await post(csv(['userName,externalId', 'jack,J-1', 'kate,X-1', 'liam,L-1']));
    const body = res.json();
    expect(body).toMatchObject({ created: 2, rejectedCount: 1 });
    expect(body.rejected[0]).toMatchObject({ line: 3, reason: expect.stringContaining("externalId 'X-1'") });
    expect(await identity('kate')).toBeUndefined();
    expect(await identity('liam')).toBeDefined();
  });

  it('keys on externalId when asked, with a custom column mapping', async () => {
    const q = `?key=externalId&mapping=${encodeURIComponent(JSON.stringify({ 'Worker ID': 'externalId', Login: 'userName', Dept: 'department', Notes: 'ignore' }))}`;
    const first = await post(csv(['Worker ID,Login,Dept,Notes', 'W-100,mona,Ops,hello']), q);
    expect(first.json()).toMatchObject({ created: 1, ignoredColumns: [] });
    const second = await post(csv(['Worker ID,Login,Dept,Notes', 'W-100,mona.renamed,Finance,x']), q);
    expect(second.json()).toMatchObject({ created: 0, updated: 1 });
    expect((await identity('mona.renamed'))?.department).toBe('Finance');
  });

  it('resolves managers by userName, including ones that come later in the file', async () => {
    const res = await post(csv(['userName,manager', 'nina,olaf', 'olaf,', 'pete,nobody-here']));
    const body = res.json();
    expect(body.warnings).toEqual([expect.objectContaining({ line: 4, field: 'manager', reason: expect.stringContaining('nobody-here') })]);
    const olaf = await identity('olaf');
    const nina = await identity('nina');
    expect(nina?.manager_id).toBe(olaf?.id);
    expect((nina?.data as Record<string, { manager?: { value: string } }>)['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']?.manager?.value).toBe(olaf?.id);
  });

  it('refuses a file whose header lacks the key or names an unknown attribute, writing nothing', async () => {
    const noKey = await post(csv(['givenName,familyName', 'Zed,Zulu']));
    expect(noKey.statusCode).toBe(400);
    expect(noKey.json().error.code).toBe('import.invalid_csv');
    expect(noKey.json().error.message).toContain('userName');
    const badMap = await post(csv(['userName', 'quinn']), `?mapping=${encodeURIComponent('{"userName":"shoeSize"}')}`);
    expect(badMap.statusCode).toBe(400);
    expect(badMap.json().error.message).toContain('shoeSize');
    expect(await identity('quinn')).toBeUndefined();
    const notJson = await post(csv(['userName', 'quinn']), '?mapping=%7Bnope');
    expect(notJson.json().error.problems[0].field).toBe('query.mapping');
    const empty = await post('');
    expect(empty.statusCode).toBe(400);
  });

  it('survives hostile input: a huge record, a NUL byte, a byte-order mark, quotes and formulas', async () => {
    const huge = 'x'.repeat(100_000); // over the 2,048-character value limit, under the 1 MiB record limit
    const res = await post(Buffer.from('\uFEFF' + csv(['userName,displayName', `rita,"Rita ""R"" Ross"`, `sam,${huge}`, 'tom,T\u0000m', 'uma,=cmd|calc!A1', 'vic,Vic'])));
    const body = res.json();
    expect(body.rejectedCount).toBe(2);
    expect((await identity('rita'))?.display_name).toBe('Rita "R" Ross');
    expect((await identity('uma'))?.display_name).toBe('=cmd|calc!A1');
    expect(await identity('vic')).toBeDefined();
    expect(await identity('sam')).toBeUndefined();
    expect(await identity('tom')).toBeUndefined();
  });

  it('stops reading at a record over 1 MiB and says so', async () => {
    const res = await post(csv(['userName,displayName', 'wes,Wes', `xia,"${'y'.repeat(1_100_000)}"`, 'yan,Yan']));
    const body = res.json();
    expect(body.created).toBe(1);
    expect(body.rejected[0]).toMatchObject({ line: 3 });
    expect(body.warnings[0].reason).toContain('reading stopped');
  });

  it('answers 415 to a body that is not CSV and 401 without a token', async () => {
    expect((await post('{"a":1}', '', 'application/json')).statusCode).toBe(415);
    expect((await t.call(undefined, 'POST', '/v2.0/CSV/importUsers', 'userName\nx\n', { 'content-type': 'text/csv' })).statusCode).toBe(401);
  });

  it('audits every created and updated identity, and the chain verifies', async () => {
    const events = await t.db.k.selectFrom('audit_events').select(['action', 'object_id']).where('object_type', '=', 'identity').execute();
    const ann = await identity('ann');
    expect(events.filter((e) => e.object_id === ann?.id).map((e) => e.action)).toEqual(['identity.create', 'identity.update']);
    expect(await verifyAudit(t.db.k)).toMatchObject({ ok: true });
  });
});
