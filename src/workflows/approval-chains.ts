/**
 * ApprovalChains (seed 000): the templates of approval. An approvable relationship (an
 * application, for an account, or one of its entitlements) has one or more chains; which
 * one a request runs is chosen by conditions on the request, with a default.
 *
 * A chain is ordered steps. Each step names its approvers (the beneficiary's manager, the
 * application's owner, the entitlement's owner, named identities, a group's members) and
 * its rule: `any` (the first decision decides) or `all` (everyone must approve; one denial
 * denies). Every step has a deadline after which its open tasks escalate, and reminders
 * before it; both are on by default. A chain with no steps approves at once.
 */
import { fail, ok, type Problem, type Result } from '../domain/result.ts';

export const APPROVER_KINDS = ['manager', 'applicationOwner', 'entitlementOwner', 'identity', 'group', 'approverManager'] as const;
export type ApproverKind = (typeof APPROVER_KINDS)[number];

/** Who approves: a role relative to the request, or named identities or a group. */
export type ApproverSpec =
  | { type: 'manager' }
  | { type: 'applicationOwner' }
  | { type: 'entitlementOwner' }
  /** Only as an escalation target: the manager of the approver who did not decide. */
  | { type: 'approverManager' }
  | { type: 'identity'; identityId: string }
  | { type: 'group'; groupId: string };

export const NOTIFY_CHANNELS = ['email', 'slack'] as const;
export type NotifyChannel = (typeof NOTIFY_CHANNELS)[number];

export interface ApprovalStep {
  name: string;
  approvers: ApproverSpec[];
  rule: 'any' | 'all';
  /** Hours an approver has before the task escalates. */
  deadlineHours: number;
  /** Hours between reminders to an approver who has not decided; 0 turns reminders off. */
  remindEveryHours: number;
  /** Who a late task goes to: the first entry that names somebody eligible; the late approver's manager, then the application's owner, when left out. */
  escalateTo: ApproverSpec[];
  /** How approvers are told, besides the API. */
  notify: NotifyChannel[];
}

/** Fields a condition may test, and where their value comes from. */
export const CONDITION_FIELDS = ['beneficiary.kind', 'beneficiary.department', 'beneficiary.title', 'entitlement.kind', 'entitlement.risk', 'requester.isBeneficiary'] as const;
export type ConditionField = (typeof CONDITION_FIELDS)[number];

/** All listed fields must hold one of their listed values. */
export type ChainCondition = Partial<Record<ConditionField, string[]>>;

export interface ApprovalChainInput {
  name: string;
  applicationId: string;
  entitlementId: string | null;
  condition: ChainCondition | null;
  priority: number;
  isDefault: boolean;
  steps: ApprovalStep[];
  expiresAfterDays: number | null;
  auditAfterDays: number | null;
}

export const DEFAULT_DEADLINE_HOURS = 72;
export const DEFAULT_REMIND_EVERY_HOURS = 24;
export const DEFAULT_ESCALATION: ApproverSpec[] = [{ type: 'approverManager' }, { type: 'applicationOwner' }];

/** The chain Steward uses where none is defined: the beneficiary's manager, then the application's owner. */
export const BUILT_IN_CHAIN: Omit<ApprovalChainInput, 'applicationId' | 'entitlementId'> = {
  name: 'Built-in: manager approval',
  condition: null,
  priority: 1_000_000,
  isDefault: true,
  steps: [
    {
      name: 'Manager',
      approvers: [{ type: 'manager' }],
      rule: 'any',
      deadlineHours: DEFAULT_DEADLINE_HOURS,
      remindEveryHours: DEFAULT_REMIND_EVERY_HOURS,
      escalateTo: DEFAULT_ESCALATION,
      notify: ['email'],
    },
  ],
  expiresAfterDays: null,
  auditAfterDays: null,
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function readApprover(v: unknown, field: string, problems: Problem[], escalation: boolean): ApproverSpec | undefined {
  const bad = (message: string, at = field) => problems.push({ code: 'approval_chain.invalid', field: at, message });
  if (!isObject(v)) return void bad('must be an object like {"type": "manager"}');
  const type = v.type;
  if (typeof type !== 'string' || !(APPROVER_KINDS as readonly string[]).includes(type)) return void bad(`type must be one of ${APPROVER_KINDS.join(', ')}`, `${field}.type`);
  if (type === 'approverManager' && !escalation) return void bad('approverManager is only an escalation target', `${field}.type`);
  if (type === 'identity') {
    if (typeof v.identityId !== 'string' || !UUID.test(v.identityId)) return void bad('identityId must be an identity id', `${field}.identityId`);
    return { type, identityId: v.identityId };
  }
  if (type === 'group') {
    if (typeof v.groupId !== 'string' || !UUID.test(v.groupId)) return void bad('groupId must be a group id', `${field}.groupId`);
    return { type, groupId: v.groupId };
  }
  return { type } as ApproverSpec;
}

function readHours(v: unknown, fallback: number, field: string, problems: Problem[], allowZero: boolean): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0) || v > 24 * 365) {
    problems.push({ code: 'approval_chain.invalid', field, message: `must be a number of hours ${allowZero ? 'from 0' : 'above 0'} up to ${24 * 365}` });
    return fallback;
  }
  return v;
}

function readStep(v: unknown, field: string, problems: Problem[]): ApprovalStep | undefined {
  if (!isObject(v)) {
    problems.push({ code: 'approval_chain.invalid', field, message: 'must be an object with approvers' });
    return undefined;
  }
  for (const key of Object.keys(v)) {
    if (!['name', 'approvers', 'rule', 'deadlineHours', 'remindEveryHours', 'escalateTo', 'notify'].includes(key)) problems.push({ code: 'approval_chain.invalid', field: `${field}.${key}`, message: 'is not a step field' });
  }
  const approvers: ApproverSpec[] = [];
  if (!Array.isArray(v.approvers) || v.approvers.length === 0) problems.push({ code: 'approval_chain.invalid', field: `${field}.approvers`, message: 'must list at least one approver' });
  else v.approvers.forEach((a, i) => { const s = readApprover(a, `${field}.approvers[${i}]`, problems, false); if (s) approvers.push(s); });
  const rule = v.rule ?? 'any';
  if (rule !== 'any' && rule !== 'all') problems.push({ code: 'approval_chain.invalid', field: `${field}.rule`, message: "must be 'any' (one decision decides) or 'all' (everyone must approve)" });
  let escalateTo = DEFAULT_ESCALATION;
  if (v.escalateTo !== undefined) {
    if (!Array.isArray(v.escalateTo) || v.escalateTo.length === 0) problems.push({ code: 'approval_chain.invalid', field: `${field}.escalateTo`, message: 'must list at least one approver to escalate to' });
    else escalateTo = v.escalateTo.flatMap((a, i) => readApprover(a, `${field}.escalateTo[${i}]`, problems, true) ?? []);
  }
  let notify: NotifyChannel[] = ['email'];
  if (v.notify !== undefined) {
    if (!Array.isArray(v.notify) || v.notify.some((c) => !(NOTIFY_CHANNELS as readonly unknown[]).includes(c))) problems.push({ code: 'approval_chain.invalid', field: `${field}.notify`, message: `must list channels among ${NOTIFY_CHANNELS.join(', ')}` });
    else notify = [...new Set(v.notify as NotifyChannel[])];
  }
  if (v.name !== undefined && (typeof v.name !== 'string' || v.name.length > 200)) problems.push({ code: 'approval_chain.invalid', field: `${field}.name`, message: 'must be text of at most 200 characters' });
  return {
    name: typeof v.name === 'string' ? v.name : '',
    approvers,
    rule: rule === 'all' ? 'all' : 'any',
    deadlineHours: readHours(v.deadlineHours, DEFAULT_DEADLINE_HOURS, `${field}.deadlineHours`, problems, false),
    remindEveryHours: readHours(v.remindEveryHours, DEFAULT_REMIND_EVERY_HOURS, `${field}.remindEveryHours`, problems, true),
    escalateTo,
    notify,
  };
}

function readCondition(v: unknown, problems: Problem[]): ChainCondition | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) {
    problems.push({ code: 'approval_chain.invalid', field: 'condition', message: `must be an object of field → allowed values, fields among ${CONDITION_FIELDS.join(', ')}` });
    return null;
  }
  const out: ChainCondition = {};
  for (const [key, values] of Object.entries(v)) {
    if (!(CONDITION_FIELDS as readonly string[]).includes(key)) {
      problems.push({ code: 'approval_chain.invalid', field: `condition.${key}`, message: `is not a condition field; use one of ${CONDITION_FIELDS.join(', ')}` });
      continue;
    }
    if (!Array.isArray(values) || values.length === 0 || values.some((x) => typeof x !== 'string')) {
      problems.push({ code: 'approval_chain.invalid', field: `condition.${key}`, message: 'must be a non-empty list of strings' });
      continue;
    }
    out[key as ConditionField] = values as string[];
  }
  return out;
}

const optionalDays = (v: unknown, field: string, problems: Problem[]): number | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 36_500) {
    problems.push({ code: 'approval_chain.invalid', field, message: 'must be a whole number of days from 1 to 36500' });
    return null;
  }
  return v;
};

/** Reads an ApprovalChain from the API's JSON; every problem names its field. */
export function readApprovalChain(body: Record<string, unknown>): Result<ApprovalChainInput> {
  const problems: Problem[] = [];
  if (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 200) problems.push({ code: 'approval_chain.invalid', field: 'name', message: 'must be non-empty text of at most 200 characters' });
  if (typeof body.applicationId !== 'string' || !UUID.test(body.applicationId)) problems.push({ code: 'approval_chain.invalid', field: 'applicationId', message: 'must be an application id' });
  const entitlementId = body.entitlementId ?? null;
  if (entitlementId !== null && (typeof entitlementId !== 'string' || !UUID.test(entitlementId))) problems.push({ code: 'approval_chain.invalid', field: 'entitlementId', message: 'must be an entitlement id or null' });
  const priority = body.priority ?? 100;
  if (typeof priority !== 'number' || !Number.isInteger(priority)) problems.push({ code: 'approval_chain.invalid', field: 'priority', message: 'must be a whole number (lower is tried first)' });
  if (body.default !== undefined && typeof body.default !== 'boolean') problems.push({ code: 'approval_chain.invalid', field: 'default', message: 'must be true or false' });
  const steps: ApprovalStep[] = [];
  if (body.steps !== undefined && !Array.isArray(body.steps)) problems.push({ code: 'approval_chain.invalid', field: 'steps', message: 'must be a list of steps (empty: approved at once)' });
  else if (Array.isArray(body.steps)) {
    if (body.steps.length > 20) problems.push({ code: 'approval_chain.invalid', field: 'steps', message: 'may have at most 20 steps' });
    body.steps.forEach((s, i) => { const step = readStep(s, `steps[${i}]`, problems); if (step) steps.push(step); });
  }
  const condition = readCondition(body.condition, problems);
  const expiresAfterDays = optionalDays(body.expiresAfterDays, 'expiresAfterDays', problems);
  const auditAfterDays = optionalDays(body.auditAfterDays, 'auditAfterDays', problems);
  if (problems.length) return fail(...problems);
  return ok({
    name: (body.name as string).trim(),
    applicationId: body.applicationId as string,
    entitlementId: entitlementId as string | null,
    condition,
    priority: priority as number,
    isDefault: body.default === true,
    steps,
    expiresAfterDays,
    auditAfterDays,
  });
}

/** What a condition is tested against. */
export interface ConditionFacts {
  beneficiary: { kind: string; department: string | null; title: string | null };
  entitlement: { kind: string; risk: string | null } | null;
  requesterIsBeneficiary: boolean;
}

export function conditionHolds(condition: ChainCondition | null, facts: ConditionFacts): boolean {
  if (!condition) return true;
  const value = (field: ConditionField): string | null => {
    switch (field) {
      case 'beneficiary.kind':
        return facts.beneficiary.kind;
      case 'beneficiary.department':
        return facts.beneficiary.department;
      case 'beneficiary.title':
        return facts.beneficiary.title;
      case 'entitlement.kind':
        return facts.entitlement?.kind ?? null;
      case 'entitlement.risk':
        return facts.entitlement?.risk ?? null;
      case 'requester.isBeneficiary':
        return String(facts.requesterIsBeneficiary);
    }
  };
  return Object.entries(condition).every(([field, allowed]) => {
    const v = value(field as ConditionField);
    return v !== null && (allowed ?? []).includes(v);
  });
}

export interface StoredChain extends ApprovalChainInput {
  id: string | null;
}

/**
 * The chain a request runs: among the target's chains (the entitlement's own, else the
 * application's), the first non-default one by priority whose condition holds, else the
 * default, else the built-in one.
 */
export function chooseChain(chains: readonly StoredChain[], facts: ConditionFacts, target: { applicationId: string; entitlementId: string | null }): StoredChain {
  const own = chains.filter((c) => c.entitlementId === target.entitlementId);
  const candidates = own.length > 0 || target.entitlementId === null ? own : chains.filter((c) => c.entitlementId === null);
  const sorted = [...candidates].sort((a, b) => a.priority - b.priority || (a.id ?? '').localeCompare(b.id ?? ''));
  const matching = sorted.find((c) => !c.isDefault && c.condition !== null && conditionHolds(c.condition, facts));
  return (
    matching ??
    sorted.find((c) => c.isDefault) ??
    sorted.find((c) => c.condition === null) ?? { ...BUILT_IN_CHAIN, id: null, applicationId: target.applicationId, entitlementId: target.entitlementId }
  );
}
