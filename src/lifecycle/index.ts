/** Lifecycle: joiner, mover and leaver; birthright rules, roles and rule-based groups; grace periods. */
export { createLifecycleService } from './service.ts';
export type { Deprovisioning, EventsOutcome, Hold, LifecycleDeps, LifecycleService, Outcome, PreviewChange, Queued, RecomputeRun } from './service.ts';
export { RULE_RECOMPUTE_QUEUE, RULE_RECOMPUTE_SETTINGS } from './rule-recompute.ts';
export type { EnqueueRecompute, Recompute, RecomputeStatus } from './rule-recompute.ts';
export { CONDITION_ATTRIBUTES, parseCondition } from './condition.ts';
export type { Condition, Facts } from './condition.ts';
export { DEFAULT_SAFETY } from './engine.ts';
export type { ApplicationImpact, ExecutePlan, ImpactReport, SafetySettings } from './engine.ts';
export { GRACE_QUEUE, GRACE_SETTINGS } from './grace.ts';
export type { ScheduleGraceEnd } from './grace.ts';
export type { GrantInput, Rule, RuleInput } from './rules.ts';
export type { Role, RoleInput } from './roles.ts';
export type { AccessItem, StoredGrant } from './ruleset.ts';
export { graceScheduler, recomputeSender, startLifecycleWorker, type LifecycleWorker } from './worker.ts';
