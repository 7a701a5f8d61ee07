import { describe, expect, it } from 'vitest';
import type { Problem } from '../domain/result.ts';
import type { ProvisioningPlan } from './model.ts';
import { parsePlanXml } from './xml-parse.ts';
import { toXml } from './xml-write.ts';

function read(xml: string | Uint8Array): ProvisioningPlan {
  const r = parsePlanXml(xml);
  if (!r.ok) throw new Error(`expected a plan, got ${JSON.stringify(r.errors, null, 2)}`);
  return r.value;
}

function problems(xml: string | Uint8Array): Problem[] {
  const r = parsePlanXml(xml);
  if (r.ok) throw new Error('expected problems, got a plan');
  return r.errors;
}

describe('parsePlanXml: what plans in the wild contain', () => {
  it('reads comments, CDATA, the five entities and character references', () => {
    const plan = read(`<?xml version="1.0"?>
<!-- written by hand -->
<ProvisioningPlan>
  <!-- one account -->
  <AccountRequest nativeIdentity="cn=Jeff &amp; Co,ou=People" application="LDAP &quot;main&quot;">
    <AttributeRequest name="description"><value><String><![CDATA[a <b> & c]]> &#169; &#x1F600; &lt;&gt;&apos;</String></value></AttributeRequest>
  </AccountRequest>
</ProvisioningPlan>`);
    const ar = plan.accountRequests[0];
    expect(ar?.nativeIdentity).toBe('cn=Jeff & Co,ou=People');
    expect(ar?.application).toBe('LDAP "main"');
    expect(ar?.attributeRequests[0]?.value).toBe("a <b> & c © 😀 <>'");
  });

  it('takes attributes in any order', () => {
    const plan = read(`<ProvisioningPlan><AccountRequest op="Create" nativeIdentity="j" application="HR"><AttributeRequest value="v" op="Set" name="n"/></AccountRequest></ProvisioningPlan>`);
    expect(plan.accountRequests[0]).toMatchObject({ application: 'HR', op: 'Create', nativeIdentity: 'j', attributeRequests: [{ name: 'n', op: 'Set', value: 'v' }] });
  });

  it('maps <Attributes><Map> on the plan and on each request to arguments', () => {
    const plan = read(`<ProvisioningPlan identity="jeff" trackingId="t1">
  <AccountRequest application="HR" nativeIdentity="jeff" op="Delete" trackingId="t2">
    <Attributes><Map>
      <entry key="cascade" value="true"/>
      <entry key="retries"><value><Integer>3</Integer></value></entry>
      <entry key="none"/>
    </Map></Attributes>
  </AccountRequest>
  <AccountRequest application="HR" nativeIdentity="ann">
    <AttributeRequest name="groups" value="a"><Attributes><Map><entry key="assignment" value="x"/></Map></Attributes></AttributeRequest>
    <PermissionRequest target="t" rights="r"><Attributes><Map/></Attributes></PermissionRequest>
  </AccountRequest>
  <Attributes>
    <Map>
      <entry key="requester" value="spadmin"/>
      <entry key="when"><value><Date>1767322245000</Date></value></entry>
    </Map>
  </Attributes>
</ProvisioningPlan>`);
    expect(plan.identity).toBe('jeff');
    expect(plan.trackingId).toBe('t1');
    expect(plan.arguments).toEqual({ requester: 'spadmin', when: new Date(1767322245000) });
    expect(plan.accountRequests[0]?.trackingId).toBe('t2');
    expect(plan.accountRequests[0]?.arguments).toEqual({ cascade: 'true', retries: 3, none: null });
    expect(plan.accountRequests[1]?.attributeRequests[0]?.arguments).toEqual({ assignment: 'x' });
    expect(plan.accountRequests[1]?.permissionRequests[0]?.arguments).toEqual({});
  });

  it('reads a <List> of mixed types, and empty lists and strings', () => {
    const plan = read(`<ProvisioningPlan><AccountRequest application="A" nativeIdentity="x">
  <AttributeRequest name="mixed" op="Set"><value><List>
    <String>s</String><Integer>-42</Integer><Boolean>TRUE</Boolean><Boolean>false</Boolean>
    <Date>2026-01-02T03:04:05.678+02:00</Date><Date>0</Date><String/><String>  spaced  </String>
  </List></value></AttributeRequest>
  <AttributeRequest name="none" op="Set"><value><List/></value></AttributeRequest>
</AccountRequest></ProvisioningPlan>`);
    const [mixed, none] = plan.accountRequests[0]?.attributeRequests ?? [];
    expect(mixed?.value).toEqual(['s', -42, true, false, new Date('2026-01-02T01:04:05.678Z'), new Date(0), '', '  spaced  ']);
    expect(none?.value).toEqual([]);
  });

  it('reads <Date> as epoch milliseconds or ISO 8601 (date-only is midnight UTC)', () => {
    const plan = read(`<ProvisioningPlan><AccountRequest application="A" nativeIdentity="x">
  <AttributeRequest name="a"><value><Date>1767322245000</Date></value></AttributeRequest>
  <AttributeRequest name="b"><value><Date> 2026-01-02 </Date></value></AttributeRequest>
  <AttributeRequest name="c"><value><Date>-86400000</Date></value></AttributeRequest>
</AccountRequest></ProvisioningPlan>`);
    expect(plan.accountRequests[0]?.attributeRequests.map((r) => r.value)).toEqual([
      new Date(1767322245000),
      new Date('2026-01-02T00:00:00.000Z'),
      new Date('1969-12-31T00:00:00.000Z'),
    ]);
  });

  it('accepts a BOM, UTF-8 bytes and the SYSTEM form of the sailpoint DTD', () => {
    const text = '\uFEFF<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE ProvisioningPlan SYSTEM "sailpoint.dtd"><ProvisioningPlan><AccountRequest application="Zürich" nativeIdentity="jö"/></ProvisioningPlan>';
    expect(read(text).accountRequests[0]?.application).toBe('Zürich');
    expect(read(new TextEncoder().encode(text)).accountRequests[0]?.nativeIdentity).toBe('jö');
  });

  it('a Create may leave nativeIdentity to the application', () => {
    expect(read('<ProvisioningPlan><AccountRequest application="A" op="Create"/></ProvisioningPlan>').accountRequests[0]?.nativeIdentity).toBeUndefined();
  });
});

describe('parsePlanXml: structure as the DTD would check it', () => {
  it('reports every problem, each with its line and column, in document order', () => {
    const errors = problems(`<ProvisioningPlan foo="1">
  <AccountRequest op="Frob">
    <AttributeRequest op="Put"><value><Integer>1.5</Integer></value></AttributeRequest>
    <Bogus/>
    stray text
    <PermissionRequest target="x" rights="a,,b" op="Add"/>
  </AccountRequest>
</ProvisioningPlan>`);
    const brief = errors.map((e) => [e.code, e.line, e.column]);
    expect(brief).toEqual([
      ['plan.xml.unknown_attribute', 1, 1],
      ['plan.missing_field', 2, 3], // application
      ['plan.invalid_op', 2, 3], // Frob
      ['plan.missing_field', 2, 3], // nativeIdentity
      ['plan.missing_field', 3, 5], // name
      ['plan.invalid_op', 3, 5], // Put
      ['plan.invalid_value', 3, 39], // 1.5
      ['plan.xml.unknown_element', 4, 5],
      ['plan.xml.unexpected_text', 6, 5],
      ['plan.invalid_right', 6, 5],
    ]);
    for (const e of errors) expect(e.message).toMatch(/^line \d+, column \d+: /);
    expect(errors.find((e) => e.code === 'plan.invalid_op')?.message).toContain("'Frob' is not one of Create, Modify, Delete, Disable, Enable, Unlock");
    expect(errors.find((e) => e.code === 'plan.xml.unknown_element')?.message).toContain('<Bogus> is not allowed in <AccountRequest>');
    expect(errors.find((e) => e.code === 'plan.xml.unknown_attribute')?.message).toContain("no attribute 'foo'");
  });

  it('refuses a value attribute together with a <value>, two <value>s, and an empty <value>', () => {
    const errors = problems(`<ProvisioningPlan><AccountRequest application="A" nativeIdentity="x">
<AttributeRequest name="a" value="v"><value><String>w</String></value></AttributeRequest>
<AttributeRequest name="b"><value><String>w</String><String>z</String></value></AttributeRequest>
<AttributeRequest name="c"><value/></AttributeRequest>
</AccountRequest></ProvisioningPlan>`);
    expect(errors.map((e) => [e.code, e.line])).toEqual([
      ['plan.xml.duplicate', 2],
      ['plan.xml.duplicate', 3],
      ['plan.invalid_value', 4],
    ]);
  });

  it('refuses nested lists, elements inside <String>, bad integers, booleans and dates', () => {
    const errors = problems(`<ProvisioningPlan><AccountRequest application="A" nativeIdentity="x">
<AttributeRequest name="a"><value><List><List/></List></value></AttributeRequest>
<AttributeRequest name="b"><value><String><b/></String></value></AttributeRequest>
<AttributeRequest name="c"><value><Integer>9007199254740992</Integer></value></AttributeRequest>
<AttributeRequest name="d"><value><Boolean>yes</Boolean></value></AttributeRequest>
<AttributeRequest name="e"><value><Date>2026-02-30</Date></value></AttributeRequest>
<AttributeRequest name="f"><value><Date>2026-01-02T03:04:05</Date></value></AttributeRequest>
<AttributeRequest name="g"><value><Long>5</Long></value></AttributeRequest>
</AccountRequest></ProvisioningPlan>`);
    const byLine = Object.fromEntries(errors.map((e) => [e.line, e.message]));
    expect(byLine[2]).toContain('lists cannot be nested');
    expect(byLine[3]).toContain('<String> holds text only');
    expect(byLine[4]).toContain("<Integer> '9007199254740992' is outside the safe integer range");
    expect(byLine[5]).toContain("<Boolean> 'yes' is neither true nor false");
    expect(byLine[6]).toContain("<Date> '2026-02-30' is neither epoch milliseconds nor an ISO 8601 date");
    expect(byLine[7]).toContain("<Date> '2026-01-02T03:04:05'");
    expect(byLine[8]).toContain('<Long> is not allowed in <value>');
  });

  it('refuses a duplicate entry key and an entry without a key', () => {
    const errors = problems(`<ProvisioningPlan><Attributes><Map>
<entry key="a" value="1"/>
<entry key="a" value="2"/>
<entry value="3"/>
</Map></Attributes></ProvisioningPlan>`);
    expect(errors.map((e) => [e.code, e.line])).toEqual([
      ['plan.xml.duplicate', 3],
      ['plan.missing_field', 4],
    ]);
  });

  it('reports a missing close tag and text after the root as malformed', () => {
    const errors = problems('<ProvisioningPlan>\n<AccountRequest application="A" nativeIdentity="x">\n</ProvisioningPlan>\ntrailing');
    expect(errors.every((e) => e.code === 'plan.xml.malformed')).toBe(true);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]?.line).toBe(3);
  });

  it('reports an empty document', () => {
    expect(problems('')[0]?.code).toBe('plan.xml.malformed');
    expect(problems('<?xml version="1.0"?>')[0]?.code).toBe('plan.xml.malformed');
  });

  it('refuses bytes that are not UTF-8 or declare another encoding', () => {
    expect(problems(new Uint8Array([0x3c, 0xff, 0xfe]))[0]).toMatchObject({ code: 'plan.xml.encoding', line: 1, column: 2 });
    const bad = new Uint8Array([...new TextEncoder().encode('<ProvisioningPlan>\n  <AccountRequest application="\u00e9\u{1F600}'), 0xed, 0xa0, 0x80]);
    expect(problems(bad)[0]).toMatchObject({ code: 'plan.xml.encoding', line: 2, column: 34 }); // columns count characters: é and 😀 are one each
    const latin = new TextEncoder().encode('<?xml version="1.0" encoding="ISO-8859-1"?><ProvisioningPlan/>');
    expect(problems(latin)[0]).toMatchObject({ code: 'plan.xml.encoding', line: 1 });
  });

  it('stops after maxProblems and says so', () => {
    const many = `<ProvisioningPlan>${'<Bogus/>'.repeat(50)}</ProvisioningPlan>`;
    const r = parsePlanXml(many, { maxProblems: 10 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(11);
    expect(r.errors.at(-1)?.code).toBe('plan.too_many_problems');
  });
});

describe('toXml', () => {
  it('writes the canonical form: prologue, double quotes, alphabetical attributes, every op', () => {
    const xml = toXml({
      identity: 'jeff',
      accountRequests: [
        {
          application: 'HR',
          nativeIdentity: 'jeff',
          op: 'Modify',
          attributeRequests: [
            { name: 'groups', op: 'Add', value: 'Illuminati' },
            { name: 'mailboxSize', op: 'Set', value: 100 },
          ],
          permissionRequests: [{ target: 'HR Employees', op: 'Add', rights: ['read', 'write'] }],
        },
      ],
    });
    expect(xml).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ProvisioningPlan PUBLIC "sailpoint.dtd" "sailpoint.dtd">
<ProvisioningPlan identity="jeff">
  <AccountRequest application="HR" nativeIdentity="jeff" op="Modify">
    <AttributeRequest name="groups" op="Add" value="Illuminati"/>
    <AttributeRequest name="mailboxSize" op="Set">
      <value>
        <Integer>100</Integer>
      </value>
    </AttributeRequest>
    <PermissionRequest op="Add" rights="read,write" target="HR Employees"/>
  </AccountRequest>
</ProvisioningPlan>
`);
  });

  it('escapes so that every character comes back exactly, in attributes and in text', () => {
    const tricky = ' a\tb\nc\r\nd & <e> "f" \'g\' ]]> \u00e9 \u{1F600} ';
    const plan: ProvisioningPlan = {
      accountRequests: [
        {
          application: tricky,
          nativeIdentity: tricky,
          op: 'Modify',
          attributeRequests: [{ name: tricky, op: 'Set', value: [tricky, tricky] }],
          permissionRequests: [],
          arguments: { [tricky]: tricky },
        },
      ],
    };
    const xml = toXml(plan);
    expect(xml).not.toContain(']]>');
    expect(parsePlanXml(xml)).toEqual({ ok: true, value: plan });
  });

  it('writes dates as epoch milliseconds', () => {
    const xml = toXml({ accountRequests: [{ application: 'A', nativeIdentity: 'x', op: 'Modify', attributeRequests: [{ name: 'd', op: 'Set', value: new Date('2026-01-02T03:04:05.678Z') }], permissionRequests: [] }] });
    expect(xml).toContain('<Date>1767323045678</Date>');
  });
});
