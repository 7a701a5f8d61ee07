import type { SecretBox } from '../store/crypto.ts';
import type { Db } from '../store/db.ts';
import { BUILT_IN_KINDS, createConnectorLimiter, createRegistry, type ConnectorLimiter, type ConnectorRegistry } from '../connectors/index.ts';
import { createApplicationDiagnostics, type ApplicationDiagnostics } from './application-diagnostics.ts';
import { createAccountService, type AccountService } from './accounts.ts';
import { createApplicationService, type ApplicationService } from './applications.ts';
import { createAssignmentService, type AssignmentService } from './assignments.ts';
import { createClientService, type ClientService } from './clients.ts';
import { createGroupService, type GroupService } from './groups.ts';
import { createIdentityService, type IdentityService } from './identities.ts';
import { createEntitlementService, type EntitlementService } from './entitlements.ts';
import { createPlanService, type PlanService } from './plans.ts';
import { createLifecycleService, type LifecycleDeps, type LifecycleService } from '../lifecycle/index.ts';
import { createReconciliation, type Reconciliation } from '../reconcile/index.ts';
import { createConnectorAccess, type ConnectorAccess } from './connector-access.ts';
import type { JobQueue } from '../jobs/index.ts';
import { deriveDefaultChain } from '../workflows/default-chains.ts';
import { createApplicationConfigLoader } from '../workflows/runners/application-config.ts';
import { createWorkflows, type DefaultChain, type MailSettings, type RetryPolicy, type ScriptRunner, type SlackSettings, type Workflows } from '../workflows/index.ts';

export type { ApiClient, ClientService } from './clients.ts';
export { newToken } from './clients.ts';
export type { GroupRecord, GroupService } from './groups.ts';
export type { IdentityRecord, IdentityService } from './identities.ts';
export type { Preconditions } from './preconditions.ts';
export { MAX_PAGE_SIZE, type ListPage, type ListQuery } from './scim-query.ts';
export { scimError } from './scim-resource.ts';
export { GROUP_RESOURCE_TYPE, STEWARD_GROUP_SCHEMA, STEWARD_GROUP_URN, STEWARD_USER_SCHEMA, USER_RESOURCE_TYPE } from './scim-schema.ts';
export type { Application, ApplicationInput, ApplicationService } from './applications.ts';
export type { Entitlement, EntitlementInput, EntitlementService } from './entitlements.ts';
export type { Assignment, AssignmentService, HeldEntitlement } from './assignments.ts';
export type { Account, AccountService } from './accounts.ts';
export type { ApplicationDiagnostics, ConnectionTest, MergedAttribute, MergedSchema, SchemaSource } from './application-diagnostics.ts';
export type { KeyPage } from './paging.ts';
export { invalidPlan, readPlan } from './plans.ts';
export type { PlanOptions, PlanService, PlanSource } from './plans.ts';
export { STORE_PLAN_PROBLEM_CODES } from './plan-validate.ts';
export { accountCreateRequest } from './plan-compile.ts';

/** Everything the API and CLI call: built once from the database and keys, passed down. */
export interface Services {
  db: Db;
  clients: ClientService;
  identities: IdentityService;
  groups: GroupService;
  applications: ApplicationService;
  entitlements: EntitlementService;
  assignments: AssignmentService;
  accounts: AccountService;
  plans: PlanService;
  /** Connection test and schema of an application's connector. */
  diagnostics: ApplicationDiagnostics;
  /** Reconciliation runs, account states and adoption, remediations. */
  reconciliation: Reconciliation;
  /** An application's connector, opened for a change on the target. */
  connectorAccess: ConnectorAccess;
  /** Access requests, approvals, ActionChains and ActionFlows. */
  workflows: Workflows;
  /** Joiner, mover, leaver: rules, roles, rule-based groups, grace periods. */
  lifecycle: LifecycleService;
}

/** What the workflows need beyond the store: the queue, the script runners and where people reach Steward. */
export interface WorkflowOptions {
  queue?: JobQueue;
  runners?: readonly ScriptRunner[];
  defaultChain?: DefaultChain;
  /** Base URL of Steward as people reach it (links in emails, Slack callbacks). */
  publicUrl?: string;
  mail?: MailSettings;
  slack?: SlackSettings;
  retry?: Partial<RetryPolicy>;
  now?: () => Date;
  fetch?: typeof fetch;
  log?: { warn(fields: object, msg?: string): void; error(fields: object, msg?: string): void };
}

export interface ServiceDeps {
  db: Db;
  secrets: SecretBox;
  /** The connector kinds applications may name; the built-in ones by default. */
  connectors?: ConnectorRegistry;
  /** The per-application limit on connector calls; one per process by default. */
  limiter?: ConnectorLimiter;
  /** Timeout of a connection test or schema read, in ms. */
  diagnosticTimeoutMs?: number;
  workflows?: WorkflowOptions;
  /** The lifecycle's clock, grace scheduler, rule recompute sender and safety threshold (plans go to the workflows by default). */
  lifecycle?: Omit<LifecycleDeps, 'db' | 'identities'>;
}


export function createServices(deps: ServiceDeps): Services {
  const connectors = deps.connectors ?? createRegistry(BUILT_IN_KINDS);
  const limiter = deps.limiter ?? createConnectorLimiter();
  const connectorAccess = createConnectorAccess({ db: deps.db, secrets: deps.secrets, connectors, limiter });
  const w = deps.workflows ?? {};
  const workflows = createWorkflows({
    db: deps.db,
    ...(w.queue ? { queue: w.queue } : {}),
    runners: w.runners ?? [],
    defaultChain: w.defaultChain ?? deriveDefaultChain,
    runnerDeps: {
      db: deps.db,
      withConnector: connectorAccess.withConnector,
      connectors,
      limiter,
      publicUrl: w.publicUrl ?? 'http://127.0.0.1:8080',
      applicationConfig: createApplicationConfigLoader({ db: deps.db, secrets: deps.secrets }),
      ...(w.mail ? { mail: w.mail } : {}),
      ...(w.slack ? { slack: w.slack } : {}),
      fetch: w.fetch ?? fetch,
    },
    ...(w.retry ? { retry: w.retry } : {}),
    ...(w.now ? { now: w.now } : {}),
    ...(w.log ? { log: w.log } : {}),
  });
  const identities = createIdentityService(deps.db);
  return {
    db: deps.db,
    clients: createClientService(deps.db),
    identities,
    groups: createGroupService(deps.db),
    applications: createApplicationService({ db: deps.db, secrets: deps.secrets, connectors }),
    entitlements: createEntitlementService(deps.db),
    assignments: createAssignmentService(deps.db),
    accounts: createAccountService(deps.db),
    plans: createPlanService(deps.db),
    connectorAccess,
    workflows,
    reconciliation: createReconciliation({ db: deps.db, secrets: deps.secrets, connectors, limiter, queue: w.queue, executePlan: workflows.createPlanFlows }),
    lifecycle: createLifecycleService({ executePlan: workflows.createPlanFlows, ...deps.lifecycle, db: deps.db, identities }),
    diagnostics: createApplicationDiagnostics({ db: deps.db, secrets: deps.secrets, connectors, limiter, ...(deps.diagnosticTimeoutMs === undefined ? {} : { timeoutMs: deps.diagnosticTimeoutMs }) }),
  };
}
