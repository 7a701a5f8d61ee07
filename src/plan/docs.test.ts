import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLAN_PROBLEM_CODES } from './codes.ts';
import { parsePlanJson } from './json-read.ts';
import { toJsonValue } from './json-write.ts';
import { parsePlanXml } from './xml-parse.ts';

const doc = readFileSync(new URL('../../docs/plans.md', import.meta.url), 'utf8');
const blocks = (lang: string): string[] => [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '');

describe('docs/plans.md', () => {
  it('documents every plan problem code', () => {
    const missing = Object.keys(PLAN_PROBLEM_CODES).filter((code) => !doc.includes(`| \`${code}\` |`));
    expect(missing).toEqual([]);
  });

  it('shows whole-plan XML examples that read, and element examples that read inside a plan', () => {
    const xml = blocks('xml');
    expect(xml.length).toBeGreaterThanOrEqual(4);
    for (const block of xml) {
      const whole = /^(<\?xml|<ProvisioningPlan)/.test(block.trim());
      const text = whole
        ? block
        : block.trim().startsWith('<AccountRequest')
          ? `<ProvisioningPlan>${block}</ProvisioningPlan>`
          : `<ProvisioningPlan><AccountRequest application="A" nativeIdentity="x">${block}</AccountRequest></ProvisioningPlan>`;
      expect(parsePlanXml(text), block).toMatchObject({ ok: true });
    }
  });

  it('shows JSON examples that read, and that match their XML twins', () => {
    const json = blocks('json');
    const [first, deleteArgs] = json;
    const xml = blocks('xml');
    const fromJson = parsePlanJson(first ?? '');
    const fromXml = parsePlanXml(xml[0] ?? '');
    expect(fromJson.ok && fromXml.ok && toJsonValue(fromJson.value)).toEqual(fromXml.ok && toJsonValue(fromXml.value));
    expect(parsePlanJson(`{"accountRequests":[${deleteArgs ?? ''}]}`)).toMatchObject({ ok: true });
  });
});
