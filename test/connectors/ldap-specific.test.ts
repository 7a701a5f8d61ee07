/** What the `ldap` kind does beyond the contract, on a real slapd: TLS, ppolicy, passwords, groups, cursors. */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountRequest, AttributeRequest } from '../../src/plan/model.ts';
import type { AccountItem, Connector, ConnectorError, Page } from '../../src/connectors/index.ts';
import { ldapKind } from '../../src/connectors/index.ts';
import { GROUPS, PEOPLE, slapdUnavailableReason, startSlapd } from '../support/slapd.ts';
import type { Slapd } from '../support/slapd.ts';

const reason = slapdUnavailableReason();
if (reason !== null) console.warn(`ldap-specific tests skipped: ${reason}`);
const suite = reason === null ? describe : describe.skip;

const op = (o: AccountRequest['op'], dn: string, ...attributeRequests: AttributeRequest[]): AccountRequest => ({ application: 'Dir', op: o, nativeIdentity: dn, attributeRequests, permissionRequests: [] });
const person = (uid: string, ...more: AttributeRequest[]): AccountRequest =>
  op('Create', `uid=${uid},${PEOPLE}`, { name: 'cn', op: 'Set', value: uid }, { name: 'sn', op: 'Set', value: uid }, ...more);

async function canBind(url: string, dn: string, password: string): Promise<boolean> {
  const c = new Client({ url });
  try {
    await c.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

async function read(admin: Client, dn: string, attrs: string[] = ['*']): Promise<Record<string, unknown>> {
  return (await admin.search(dn, { scope: 'base', attributes: attrs })).searchEntries[0]!;
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string]);

suite(`ldap on slapd${reason === null ? '' : ` (skipped: ${reason})`}`, () => {
  let slapd: Slapd;
  let admin: Client;
  let dir: Connector;
  const settings = (extra: Record<string, unknown> = {}): { settings: Record<string, unknown>; secrets: Record<string, string> } => ({
    settings: { url: slapd.url, bindDn: slapd.rootDn, baseDn: PEOPLE, groupBaseDn: GROUPS, ...extra },
    secrets: { bindPassword: slapd.rootPassword },
  });

  beforeAll(async () => {
    slapd = await startSlapd({ ppolicy: true, tls: true });
    admin = await slapd.admin();
    dir = ldapKind.create(settings());
  });
  afterAll(async () => {
    await dir?.close();
    await admin?.unbind();
    await slapd?.stop();
  });

  describe('TLS', () => {
    it('connects with LDAPS and with StartTLS when given the CA', async () => {
      const ldaps = ldapKind.create({ ...settings(), settings: { ...settings().settings, url: slapd.ldapsUrl, tlsCaPem: slapd.caPem } });
      const r1 = await ldaps.test();
      await ldaps.close();
      expect(r1.ok, r1.message).toBe(true);
      expect(r1.message).toContain('(LDAPS)');
      const starttls = ldapKind.create({ ...settings(), settings: { ...settings().settings, startTls: true, tlsCaPem: slapd.caPem } });
      const r2 = await starttls.test();
      expect(r2.ok, r2.message).toBe(true);
      expect(r2.message).toContain('(StartTLS)');
      // And it works beyond the bind.
      expect((await starttls.apply(person('tlsuser'))).status).toBe('committed');
      await starttls.close();
    });

    it('refuses a server certificate from an unknown CA, saying to give the CA', async () => {
      const c = ldapKind.create({ ...settings(), settings: { ...settings().settings, url: slapd.ldapsUrl } });
      const r = await c.test();
      await c.close();
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(/could not connect to ldaps:\/\/127\.0\.0\.1:\d+: \w+ — .*give (that|its) CA in the settings/);
      if (!r.ok) expect(r.errorKind).toBe('permanent');
    });
  });

  describe('binding', () => {
    it('says the credentials were refused, without the password', async () => {
      const c = ldapKind.create({ settings: settings().settings, secrets: { bindPassword: 'wrong-password-123' } });
      const r = await c.test();
      await c.close();
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(/binding as cn=admin,dc=example,dc=org: .*Code: 0x31 — check bindDn and bindPassword/);
      expect(r.message).not.toContain('wrong-password-123');
      if (!r.ok) expect(r.errorKind).toBe('permanent');
    });
  });

  describe('schema', () => {
    it('reads attribute types and cardinality from the subschema', async () => {
      const s = await dir.schema();
      const by = new Map(s.account.attributes.map((a) => [a.name, a]));
      expect(by.get('cn')).toMatchObject({ type: 'string', multiValued: true, required: true });
      expect(by.get('displayName')).toMatchObject({ multiValued: false });
      expect(by.get('employeeNumber')).toMatchObject({ multiValued: false });
      expect(by.get('mail')).toMatchObject({ multiValued: true });
      expect(by.get('groups')).toMatchObject({ entitlementKind: 'group' });
      expect(by.get('password')?.description).toContain('write-only');
      expect(by.has('userPassword')).toBe(false);
      expect(by.has('jpegPhoto')).toBe(false);
    });

    it('refuses unknown attributes, several values for a single-valued one, and renames, before changing anything', async () => {
      const dn = (await dir.apply(person('strict'))).nativeIdentity!;
      const e = (await dir.apply(op('Modify', dn, { name: 'shoeSize', op: 'Set', value: '42' }, { name: 'displayName', op: 'Set', value: ['a', 'b'] })).catch((x: unknown) => x)) as ConnectorError;
      expect(e.code).toBe('invalid_request');
      expect(e.problems.map((p) => p.field)).toEqual(['attributeRequests[0] (shoeSize)', 'attributeRequests[1] (displayName)']);
      const rename = (await dir.apply(op('Modify', dn, { name: 'uid', op: 'Set', value: 'other' })).catch((x: unknown) => x)) as ConnectorError;
      expect(rename.message).toContain('renaming entries is not supported');
      expect(list((await read(admin, dn)).uid)).toEqual(['strict']);
      const notDn = (await dir.apply(op('Modify', 'strict', { name: 'displayName', op: 'Set', value: 'x' })).catch((x: unknown) => x)) as ConnectorError;
      expect(notDn.message).toContain("'strict' is not a DN");
    });
  });

  describe('passwords', () => {
    it('sets passwords with the Password Modify operation, so the server hashes them', async () => {
      const dn = (await dir.apply(person('pw1', { name: 'password', op: 'Set', value: 'First-Passw0rd' }))).nativeIdentity!;
      expect(await canBind(slapd.url, dn, 'First-Passw0rd')).toBe(true);
      expect(list((await read(admin, dn, ['userPassword'])).userPassword)[0]).toMatch(/^\{SSHA\}/);
      const r = await dir.apply(op('Modify', dn, { name: 'password', op: 'Set', value: 'Second-Passw0rd' }));
      expect(r.requests[0]).toMatchObject({ name: 'password', status: 'committed' });
      expect(await canBind(slapd.url, dn, 'Second-Passw0rd')).toBe(true);
      expect(await canBind(slapd.url, dn, 'First-Passw0rd')).toBe(false);
    });

    it('can write userPassword as given instead', async () => {
      const c = ldapKind.create(settings({ passwordMode: 'attribute' }));
      const dn = (await c.apply(person('pw2', { name: 'password', op: 'Set', value: '{CLEARTEXT}x' }))).nativeIdentity!;
      await c.close();
      expect(list((await read(admin, dn, ['userPassword'])).userPassword)).toEqual(['{CLEARTEXT}x']);
    });
  });

  describe('disabling', () => {
    it('adds the marker next to other values of the attribute and takes only it away again', async () => {
      const dn = (await dir.apply(person('mark', { name: 'description', op: 'Set', value: 'Contractor' }))).nativeIdentity!;
      await dir.apply(op('Disable', dn));
      expect(list((await read(admin, dn)).description).sort()).toEqual(['Contractor', 'steward:disabled']);
      const acc = (await dir.getAccount(dn))!;
      expect(acc.enabled).toBe(false);
      expect(acc.attributes.description).toEqual(['Contractor']);
      // A Set of description while disabled keeps the marker.
      await dir.apply(op('Modify', dn, { name: 'description', op: 'Set', value: ['Employee'] }));
      expect(list((await read(admin, dn)).description).sort()).toEqual(['Employee', 'steward:disabled']);
      await dir.apply(op('Enable', dn));
      expect(list((await read(admin, dn)).description)).toEqual(['Employee']);
    });

    it('with ppolicy: disables by pwdAccountLockedTime (binds refused), reports lockouts and unlocks', async () => {
      const pp = ldapKind.create(settings({ disable: 'ppolicy' }));
      expect(pp.capabilities.operations).toContain('unlock_user');
      const dn = (await pp.apply(person('pp', { name: 'password', op: 'Set', value: 'Pp-Passw0rd' }))).nativeIdentity!;
      expect((await pp.apply(op('Disable', dn))).status).toBe('committed');
      expect(list((await read(admin, dn, ['pwdAccountLockedTime'])).pwdAccountLockedTime)).toEqual(['000001010000Z']);
      expect((await pp.getAccount(dn))!).toMatchObject({ enabled: false, locked: false });
      expect(await canBind(slapd.url, dn, 'Pp-Passw0rd')).toBe(false);
      expect((await pp.apply(op('Enable', dn))).status).toBe('committed');
      expect(await canBind(slapd.url, dn, 'Pp-Passw0rd')).toBe(true);
      // A lockout after failed binds, as ppolicy records it.
      await admin.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdAccountLockedTime', values: ['20260101000000Z'] }) })]);
      expect((await pp.getAccount(dn))!).toMatchObject({ enabled: true, locked: true });
      expect((await pp.apply(op('Unlock', dn))).status).toBe('committed');
      expect((await pp.getAccount(dn))!.locked).toBe(false);
      expect((await pp.apply(op('Unlock', dn))).status).toBe('unchanged');
      await pp.close();
    });
  });

  describe('groups', () => {
    it('names a group by cn, keeps a groupOfNames valid when its last member leaves, and drops the placeholder on the next add', async () => {
      await admin.add(`cn=solo,${GROUPS}`, { objectClass: ['groupOfNames'], cn: 'solo', member: `uid=nobody,${PEOPLE}` });
      await admin.modify(`cn=solo,${GROUPS}`, [new Change({ operation: 'replace', modification: new Attribute({ type: 'member', values: [''] }) })]);
      const a = (await dir.apply(person('solo1'))).nativeIdentity!;
      const b = (await dir.apply(person('solo2'))).nativeIdentity!;
      expect((await dir.apply(op('Modify', a, { name: 'groups', op: 'Add', value: 'solo' }))).status).toBe('committed');
      expect(list((await read(admin, `cn=solo,${GROUPS}`)).member)).toEqual([a]);
      expect((await dir.apply(op('Modify', a, { name: 'groups', op: 'Remove', value: 'solo' }))).status).toBe('committed');
      expect(list((await read(admin, `cn=solo,${GROUPS}`)).member)).toEqual(['']);
      await dir.apply(op('Modify', b, { name: 'groups', op: 'Add', value: `cn=solo,${GROUPS}` }));
      expect(list((await read(admin, `cn=solo,${GROUPS}`)).member)).toEqual([b]);
      expect((await dir.getAccount(b))!.entitlements).toEqual([{ kind: 'group', nativeValue: `cn=solo,${GROUPS}` }]);
    });

    it('refuses a group that does not exist before changing anything', async () => {
      const dn = (await dir.apply(person('nogroup'))).nativeIdentity!;
      const e = (await dir.apply(op('Modify', dn, { name: 'displayName', op: 'Set', value: 'X' }, { name: 'groups', op: 'Add', value: 'ghosts' })).catch((x: unknown) => x)) as ConnectorError;
      expect(e.message).toContain(`no group named 'ghosts' under ${GROUPS}`);
      expect((await read(admin, dn)).displayName).toBeUndefined();
    });

    it('works with groupOfUniqueNames (uniqueMember)', async () => {
      await admin.add(`ou=teams,${slapd.suffix}`, { objectClass: ['organizationalUnit'], ou: 'teams' });
      await admin.add(`cn=blue,ou=teams,${slapd.suffix}`, { objectClass: ['groupOfUniqueNames'], cn: 'blue', uniqueMember: '' });
      const u = ldapKind.create(settings({ groupBaseDn: `ou=teams,${slapd.suffix}`, groupObjectClass: 'groupOfUniqueNames' }));
      const dn = (await u.apply({ ...person('unique'), attributeRequests: [...person('unique').attributeRequests, { name: 'groups', op: 'Add', value: 'blue' }] })).nativeIdentity!;
      expect(list((await read(admin, `cn=blue,ou=teams,${slapd.suffix}`)).uniqueMember)).toContain(dn);
      expect((await u.getAccount(dn))!.entitlements.map((e) => e.nativeValue)).toEqual([`cn=blue,ou=teams,${slapd.suffix}`]);
      const names: string[] = [];
      for await (const p of u.listEntitlements()) names.push(...p.items.map((g) => g.name));
      expect(names).toEqual(['blue']);
      await u.close();
    });

    it('makes a groupOfUniqueNames group that keeps the placeholder until its first member and gets it back when the last leaves', async () => {
      await admin.add(`ou=squads,${slapd.suffix}`, { objectClass: ['organizationalUnit'], ou: 'squads' });
      const u = ldapKind.create(settings({ groupBaseDn: `ou=squads,${slapd.suffix}`, groupObjectClass: 'groupOfUniqueNames' }));
      try {
        const g = await u.createEntitlement!('group', { name: 'red', description: 'made here' });
        expect(g.nativeValue).toBe(`cn=red,ou=squads,${slapd.suffix}`);
        expect(list((await read(admin, g.nativeValue)).uniqueMember)).toEqual(['']);
        const dn = (await u.apply(person('squaddie'))).nativeIdentity!;
        expect((await u.apply(op('Modify', dn, { name: 'groups', op: 'Add', value: g.nativeValue }))).status).toBe('committed');
        expect(list((await read(admin, g.nativeValue)).uniqueMember)).toEqual([dn]);
        expect((await u.apply(op('Modify', dn, { name: 'groups', op: 'Remove', value: g.nativeValue }))).status).toBe('committed');
        expect(list((await read(admin, g.nativeValue)).uniqueMember)).toEqual(['']);
        await expect(u.createEntitlement!('group', { name: 'red' })).rejects.toMatchObject({ kind: 'permanent', code: 'conflict' });
      } finally {
        await u.close();
      }
    });

    it('makes a group only under the group base, and deletes only group entries', async () => {
      await expect(dir.createEntitlement!('group', { name: 'stray', nativeValue: `cn=stray,${PEOPLE}` })).rejects.toMatchObject({ kind: 'permanent', code: 'invalid_request' });
      const g = await dir.createEntitlement!('group', { name: 'placed', nativeValue: `cn=placed,${GROUPS}` });
      expect(g.nativeValue).toBe(`cn=placed,${GROUPS}`);
      const dn = (await dir.apply(person('notagroup'))).nativeIdentity!;
      await expect(dir.deleteEntitlement!('group', dn)).resolves.toBe('absent');
      expect(await read(admin, dn)).toBeDefined();
      await expect(dir.deleteEntitlement!('group', 'placed')).resolves.toBe('deleted');
    });

    it('takes a deleted account out of its groups', async () => {
      await admin.add(`cn=leavers,${GROUPS}`, { objectClass: ['groupOfNames'], cn: 'leavers', member: '' });
      const dn = (await dir.apply({ ...person('leaver'), attributeRequests: [...person('leaver').attributeRequests, { name: 'groups', op: 'Add', value: 'leavers' }] })).nativeIdentity!;
      expect((await dir.apply(op('Delete', dn))).status).toBe('committed');
      expect(list((await read(admin, `cn=leavers,${GROUPS}`)).member)).toEqual(['']);
    });
  });

  describe('paged listing', () => {
    const all = async (c: Connector, cursor: string | null, size: number): Promise<Page<AccountItem>[]> => {
      const out: Page<AccountItem>[] = [];
      for await (const p of c.listAccounts(cursor, { pageSize: size })) out.push(p);
      return out;
    };

    it('resumes after the last DN when entries before it were deleted, and says stale when that DN is gone', async () => {
      await admin.add(`ou=pager,${slapd.suffix}`, { objectClass: ['organizationalUnit'], ou: 'pager' });
      const base = `ou=pager,${slapd.suffix}`;
      for (let i = 0; i < 9; i++) await admin.add(`uid=p${i},${base}`, { objectClass: ['inetOrgPerson'], uid: `p${i}`, cn: `p${i}`, sn: `p${i}` });
      const c = ldapKind.create(settings({ baseDn: base }));
      const pages = await all(c, null, 3);
      expect(pages.map((p) => p.items.map((a) => a.nativeIdentity.split(',')[0]))).toEqual([
        ['uid=p0', 'uid=p1', 'uid=p2'],
        ['uid=p3', 'uid=p4', 'uid=p5'],
        ['uid=p6', 'uid=p7', 'uid=p8'],
      ]);
      await admin.del(`uid=p1,${base}`);
      const rest = (await all(c, pages[0]!.nextCursor, 3)).flatMap((p) => p.items.map((a) => a.nativeIdentity.split(',')[0]));
      expect(rest).toEqual(['uid=p3', 'uid=p4', 'uid=p5', 'uid=p6', 'uid=p7', 'uid=p8']);
      await admin.del(`uid=p5,${base}`);
      await expect(all(c, pages[1]!.nextCursor, 3)).rejects.toMatchObject({ code: 'cursor_stale' });
      await c.close();
    });
  });
});
