import fc from 'fast-check';
import type { AccountSchema } from '../domain/schema.ts';
import type { AccountOp, AccountRequest, AttributeOp, AttributeRequest, PermissionRequest, PlanArguments, PlanValue, ProvisioningPlan, Scalar } from './model.ts';
import { ACCOUNT_OPS, ATTRIBUTE_OPS } from './model.ts';
import type { AccountState } from './state.ts';
import { firstNonXmlChar } from './values.ts';

/**
 * fast-check generators for the plan tests (test-only; nothing in production imports this).
 * Codec generators reach every corner the formats must survive (markup characters,
 * whitespace, astral characters, extreme integers and dates); semantics generators draw
 * from small pools so that requests collide on the same accounts, attributes and values.
 */

const SPECIALS = ['&', '<', '>', '"', "'", '\t', '\n', '\r', '\r\n', ' ', ']]>', '&amp;', ',', '\u00e9', '\u{1F600}', '\uFFFD'];

/** Any string XML can carry, biased toward markup and whitespace. */
export const xmlString: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...SPECIALS), fc.string({ maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 5 })
  .map((parts) => parts.join(''))
  .filter((s) => firstNonXmlChar(s) === undefined);

export const nameArb: fc.Arbitrary<string> = xmlString.filter((s) => s !== '' && s !== '__proto__');

const rightArb: fc.Arbitrary<string> = nameArb.filter((s) => !s.includes(',') && s.trim() === s);

export const scalarArb: fc.Arbitrary<Scalar> = fc.oneof(
  xmlString,
  fc.maxSafeInteger().map((n) => (n === 0 ? 0 : n)),
  fc.boolean(),
  fc.date({ noInvalidDate: true, min: new Date(-8.64e15), max: new Date(8.64e15) }),
);

export const valueArb: fc.Arbitrary<PlanValue> = fc.oneof(scalarArb, fc.array(scalarArb, { maxLength: 4 }));

export const argumentsArb: fc.Arbitrary<PlanArguments> = fc
  .uniqueArray(fc.tuple(nameArb, fc.option(valueArb, { nil: null })), { maxLength: 3, selector: ([k]) => k })
  .map((entries) => Object.fromEntries(entries));

const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });

function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out as T;
}

export const attributeRequestArb: fc.Arbitrary<AttributeRequest> = fc
  .record({ name: nameArb, op: fc.constantFrom(...ATTRIBUTE_OPS), value: valueArb, hasValue: fc.boolean(), args: optional(argumentsArb), trackingId: optional(nameArb) })
  .map(({ name, op, value, hasValue, args, trackingId }) =>
    withOptional<AttributeRequest>({ name, op }, { value: hasValue || op !== 'Set' ? value : undefined, arguments: args, trackingId }),
  );

export const permissionRequestArb: fc.Arbitrary<PermissionRequest> = fc
  .record({ target: nameArb, op: fc.constantFrom(...ATTRIBUTE_OPS), rights: fc.array(rightArb, { maxLength: 4 }), args: optional(argumentsArb), trackingId: optional(nameArb) })
  .map(({ target, op, rights, args, trackingId }) => withOptional<PermissionRequest>({ target, op, rights }, { arguments: args, trackingId }));

export const accountRequestArb: fc.Arbitrary<AccountRequest> = fc
  .record({
    application: nameArb,
    op: fc.constantFrom(...ACCOUNT_OPS),
    nativeIdentity: nameArb,
    hasIdentity: fc.boolean(),
    attributeRequests: fc.array(attributeRequestArb, { maxLength: 3 }),
    permissionRequests: fc.array(permissionRequestArb, { maxLength: 2 }),
    args: optional(argumentsArb),
    trackingId: optional(nameArb),
  })
  .map(({ application, op, nativeIdentity, hasIdentity, attributeRequests, permissionRequests, args, trackingId }) =>
    withOptional<AccountRequest>(
      { application, op, attributeRequests, permissionRequests },
      { nativeIdentity: hasIdentity || op !== 'Create' ? nativeIdentity : undefined, arguments: args, trackingId },
    ),
  );

/** Any valid plan. */
export const planArb: fc.Arbitrary<ProvisioningPlan> = fc
  .record({ accountRequests: fc.array(accountRequestArb, { maxLength: 3 }), identity: optional(nameArb), trackingId: optional(nameArb), args: optional(argumentsArb) })
  .map(({ accountRequests, identity, trackingId, args }) => withOptional<ProvisioningPlan>({ accountRequests }, { identity, trackingId, arguments: args }));

// ---- semantics: one application with an attribute of every kind, small value pools ----

export const APP = 'App';

export const APP_SCHEMA: AccountSchema = {
  attributes: [
    { name: 'groups', type: 'string', multiValued: true },
    { name: 'codes', type: 'integer', multiValued: true },
    { name: 'title', type: 'string', multiValued: false },
    { name: 'mailboxSize', type: 'integer', multiValued: false },
    { name: 'active', type: 'boolean', multiValued: false },
    { name: 'hired', type: 'date', multiValued: false },
  ],
};

export const SCHEMAS: ReadonlyMap<string, AccountSchema> = new Map([[APP, APP_SCHEMA]]);

const D1 = new Date('2026-01-02T00:00:00.000Z');
const D2 = new Date('2027-06-30T12:00:00.000Z');

/** Values each attribute may take in a generated state (already of the schema's type). */
export const POOLS: Record<string, readonly Scalar[]> = {
  groups: ['a', 'b', 'c', '100'],
  codes: [1, 2, 100],
  title: ['a', 'b'],
  mailboxSize: [1, 100],
  active: [true, false],
  hired: [D1, D2],
};

/** What requests may carry for each attribute: typed values and strings that coerce to them. */
const REQUEST_POOLS: Record<string, readonly Scalar[]> = {
  groups: ['a', 'b', 'c', '100', 100],
  codes: [1, 2, 100, '100', ' 2'],
  title: ['a', 'b', 1],
  mailboxSize: [1, 100, '100'],
  active: [true, false, 'true', 'FALSE'],
  hired: [D1, D2, '2026-01-02', '2027-06-30T14:00:00+02:00'],
};

export const NATIVE_IDS = ['u1', 'u2'] as const;
const TARGETS = ['t1', 't2'];
const RIGHTS = ['read', 'write', 'delete'];

const multiValued = (name: string): boolean => APP_SCHEMA.attributes.find((a) => a.name === name)?.multiValued ?? false;

/** A canonical account state: typed values, no empty lists, distinct list members. */
export const stateArb: fc.Arbitrary<AccountState> = fc
  .record({
    exists: fc.boolean(),
    enabled: fc.boolean(),
    locked: fc.boolean(),
    attrs: fc.subarray(Object.keys(POOLS)),
    picks: fc.array(fc.subarray([0, 1, 2, 3], { minLength: 1 }), { minLength: 6, maxLength: 6 }),
    perms: fc.subarray(TARGETS),
    rights: fc.array(fc.subarray(RIGHTS, { minLength: 1 }), { minLength: 2, maxLength: 2 }),
  })
  .map(({ exists, enabled, locked, attrs, picks, perms, rights }) => {
    const attributes: Record<string, PlanValue> = {};
    attrs.forEach((name, k) => {
      const pool = POOLS[name] ?? [];
      const chosen = [...new Set((picks[k] ?? [0]).map((i) => i % pool.length))].map((i) => pool[i] as Scalar);
      attributes[name] = multiValued(name) ? chosen : (chosen[0] as Scalar);
    });
    const permissions: Record<string, string[]> = {};
    perms.forEach((t, k) => {
      permissions[t] = rights[k] ?? ['read'];
    });
    return exists ? { exists, enabled, locked, attributes, permissions } : { exists, enabled: false, locked: false, attributes: {}, permissions: {} };
  });

export const requestValueArb = (name: string): fc.Arbitrary<PlanValue> => {
  const pool = REQUEST_POOLS[name] ?? ['x'];
  return multiValued(name) ? fc.oneof(fc.constantFrom(...pool), fc.subarray([...pool])) : fc.constantFrom(...pool);
};

export const semanticAttributeRequestArb: fc.Arbitrary<AttributeRequest> = fc
  .constantFrom(...Object.keys(POOLS))
  .chain((name) => fc.record({ name: fc.constant(name), op: fc.constantFrom<AttributeOp>('Set', 'Add', 'Remove'), value: requestValueArb(name) }));

export const semanticPermissionRequestArb: fc.Arbitrary<PermissionRequest> = fc.record({
  target: fc.constantFrom(...TARGETS),
  op: fc.constantFrom<AttributeOp>('Set', 'Add', 'Remove'),
  rights: fc.subarray(RIGHTS),
});

const accountOpArb: fc.Arbitrary<AccountOp> = fc.oneof(
  { arbitrary: fc.constant<AccountOp>('Modify'), weight: 3 },
  { arbitrary: fc.constantFrom<AccountOp>('Create', 'Delete', 'Disable', 'Enable', 'Unlock'), weight: 4 },
);

export const semanticAccountRequestArb: fc.Arbitrary<AccountRequest> = fc.record({
  application: fc.constant(APP),
  nativeIdentity: fc.constantFrom(...NATIVE_IDS),
  op: accountOpArb,
  attributeRequests: fc.array(semanticAttributeRequestArb, { maxLength: 3 }),
  permissionRequests: fc.array(semanticPermissionRequestArb, { maxLength: 2 }),
});

export const semanticPlanArb: fc.Arbitrary<ProvisioningPlan> = fc.record({ accountRequests: fc.array(semanticAccountRequestArb, { minLength: 1, maxLength: 4 }) });
