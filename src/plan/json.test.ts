import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { Problem } from '../domain/result.ts';
import { parsePlanJson } from './json-read.ts';
import type { PlanJsonOptions } from './json-read.ts';
import { PLAN_JSON_SCHEMA } from './json-schema.ts';
import { toJson, toJsonValue } from './json-write.ts';
import type { ProvisioningPlan } from './model.ts';
import { parsePlanXml } from './xml-parse.ts';

function problems(input: unknown, options?: PlanJsonOptions): Problem[] {
  const r = parsePlanJson(input, options);
  if (r.ok) throw new Error('expected problems, got a plan');
  return r.errors;
}

describe('parsePlanJson', () => {
  it('applies the defaults: op Modify and Add, empty lists', () => {
    const r = parsePlanJson('{"accountRequests":[{"application":"HR","nativeIdentity":"jeff","attributeRequests":[{"name":"groups","value":"Illuminati"}],"permissionRequests":[{"target":"t"}]}]}');
    expect(r).toEqual({
      ok: true,
      value: {
        accountRequests: [
          {
            application: 'HR',
            nativeIdentity: 'jeff',
            op: 'Modify',
            attributeRequests: [{ name: 'groups', op: 'Add', value: 'Illuminati' }],
            permissionRequests: [{ target: 't', op: 'Add', rights: [] }],
          },
        ],
      },
    });
  });

  it('reads dates as { "date": ISO } or { "date": epoch ms }, never as strings', () => {
    const r = parsePlanJson({
      accountRequests: [
        {
          application: 'A',
          nativeIdentity: 'x',
          attributeRequests: [
            { name: 'a', op: 'Set', value: { date: '2026-01-02T03:04:05.000Z' } },
            { name: 'b', op: 'Set', value: [{ date: 1767322245000 }, '2026-01-02T03:04:05.000Z'] },
          ],
        },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [a, b] = r.value.accountRequests[0]?.attributeRequests ?? [];
    expect(a?.value).toEqual(new Date('2026-01-02T03:04:05.000Z'));
    expect(b?.value).toEqual([new Date(1767322245000), '2026-01-02T03:04:05.000Z']);
  });

  it('is lossless with XML: the same plan from either form', () => {
    const xml = `<ProvisioningPlan identity="jeff"><AccountRequest application="HR" nativeIdentity="jeff" op="Delete">
<AttributeRequest name="d" op="Set"><value><List><Date>1767322245000</Date><Integer>5</Integer><Boolean>true</Boolean><String>s</String></List></value></AttributeRequest>
<Attributes><Map><entry key="cascade" value="true"/><entry key="none"/></Map></Attributes></AccountRequest></ProvisioningPlan>`;
    const fromXml = parsePlanXml(xml);
    expect(fromXml.ok).toBe(true);
    if (!fromXml.ok) return;
    const json = toJson(fromXml.value);
    expect(JSON.parse(json)).toEqual({
      identity: 'jeff',
      accountRequests: [
        {
          application: 'HR',
          nativeIdentity: 'jeff',
          op: 'Delete',
          attributeRequests: [{ name: 'd', op: 'Set', value: [{ date: '2026-01-02T02:50:45.000Z' }, 5, true, 's'] }],
          permissionRequests: [],
          arguments: { cascade: 'true', none: null },
        },
      ],
    });
    expect(parsePlanJson(json)).toEqual(fromXml);
  });

  it('toJson output conforms to the published schema', () => {
    const plan: ProvisioningPlan = {
      accountRequests: [{ application: 'A', op: 'Create', attributeRequests: [{ name: 'n', op: 'Set', value: [new Date(0), 1] }], permissionRequests: [{ target: 't', op: 'Remove', rights: ['r'] }], arguments: { k: null } }],
    };
    const validate = new Ajv2020({ strict: true }).compile(PLAN_JSON_SCHEMA);
    expect(validate(toJsonValue(plan))).toBe(true);
  });

  it('names the JSON path of every problem', () => {
    const errors = problems({
      accountRequests: [
        { application: '', op: 'Frob', attributeRequests: [{ name: 'a', value: 1.5 }, { value: 'x' }, { name: 'c', value: { date: 'tomorrow' } }, { name: 'd', value: [['nested']] }] },
        { application: 'B', nativeIdentity: 'x', permissionRequests: [{ target: 't', rights: ['a,b'] }], extra: true },
      ],
      identity: 7,
    });
    const byField = Object.fromEntries(errors.map((e) => [e.field, e.message]));
    expect(byField['identity']).toBe('identity: must be a string');
    expect(byField['accountRequests[0].application']).toBe('accountRequests[0].application: must not be empty');
    expect(byField['accountRequests[0].op']).toContain('must be one of Create, Modify, Delete, Disable, Enable, Unlock');
    expect(byField['accountRequests[0].attributeRequests[0].value']).toContain('1.5 is not an integer');
    expect(byField['accountRequests[0].attributeRequests[1]']).toContain("the field 'name' is required");
    expect(byField['accountRequests[0].attributeRequests[2].value.date']).toContain('ISO 8601');
    expect(byField['accountRequests[0].attributeRequests[3].value[0]']).toContain('must be a string, an integer, a boolean or { "date": … }');
    expect(byField['accountRequests[1].permissionRequests[0].rights[0]']).toContain('cannot contain a comma');
    expect(byField['accountRequests[1]']).toContain("has no field 'extra'");
    expect(errors.every((e) => e.code === 'plan.json.schema')).toBe(true);
  });

  it('reports rules beyond the schema with their paths: invalid dates, unsafe integers, missing nativeIdentity, Add without value', () => {
    const errors = problems({
      accountRequests: [
        { application: 'A', attributeRequests: [{ name: 'a', value: { date: '2026-02-30' } }, { name: 'b', value: 2 ** 53 + 2 }, { name: 'c' }] },
        { application: 'A', nativeIdentity: 'x', attributeRequests: [{ name: 'n', value: 'bad \u0000 char' }] },
      ],
    });
    expect(errors.map((e) => [e.code, e.field])).toEqual([
      ['plan.invalid_value', 'accountRequests[0].attributeRequests[0].value.date'],
      ['plan.missing_field', 'accountRequests[0].nativeIdentity'],
      ['plan.invalid_value', 'accountRequests[0].attributeRequests[1].value'],
      ['plan.missing_field', 'accountRequests[0].attributeRequests[2].value'],
      ['plan.invalid_value', 'accountRequests[1].attributeRequests[0].value'],
    ]);
    expect(errors[4]?.message).toContain('U+0000, a character XML cannot carry');
  });

  it('reports a syntax error with its line and column', () => {
    const errors = problems('{\n  "accountRequests": [\n    {"application": "A",}\n  ]\n}');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'plan.json.syntax', line: 3 });
    expect(errors[0]?.column).toBeGreaterThan(1);
  });
});

describe('hostile JSON', () => {
  it('a document over the size limit is refused before parsing', () => {
    const huge = `{"accountRequests":[],"identity":"${'x'.repeat(100 * 1024 * 1024)}"}`;
    const before = process.memoryUsage();
    const errors = problems(huge);
    const after = process.memoryUsage();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('plan.too_large');
    expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * 1024 * 1024);
    expect(problems(new Uint8Array(2048), { maxBytes: 1024 })[0]?.code).toBe('plan.too_large');
  });

  it('10,000-deep nesting stops at the depth limit, naming where', () => {
    const deep = `{"accountRequests":[{"application":"A","nativeIdentity":"x","arguments":{"k":${'['.repeat(10_000)}${']'.repeat(10_000)}}}]}`;
    const errors = problems(deep);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('plan.too_deep');
    expect(errors[0]?.field).toMatch(/^accountRequests\[0\]\.arguments\.k(\[0\])+$/);
  });

  it('__proto__ keys are refused wherever they appear, and nothing is polluted', () => {
    const text = '{"accountRequests":[{"application":"A","nativeIdentity":"x","arguments":{"__proto__":{"polluted":true}},"__proto__":{"op":"Delete"}}],"__proto__":{"identity":"root"}}';
    const errors = problems(text);
    expect(errors.map((e) => e.field).sort()).toEqual(['__proto__', 'accountRequests[0].__proto__', 'accountRequests[0].arguments.__proto__']);
    expect(errors.every((e) => e.code === 'plan.forbidden_key')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('wrong types everywhere are reported, not thrown', () => {
    for (const junk of [null, 42, 'null', '[]', '"plan"', [], { accountRequests: 'x' }, { accountRequests: [null] }, { accountRequests: [{ application: 'A', attributeRequests: {} }] }]) {
      const r = parsePlanJson(junk);
      expect(r.ok).toBe(false);
      if (!r.ok) for (const e of r.errors) expect(e.message.length).toBeGreaterThan(5);
    }
  });

  it('bytes that are not UTF-8 are refused', () => {
    expect(problems(new Uint8Array([0x7b, 0xff, 0x7d]))[0]?.code).toBe('plan.json.syntax');
  });
});
