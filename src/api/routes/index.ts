import type { RouteSpec } from '../route.ts';
import { accountRoutes } from './accounts.ts';
import { applicationDiagnosticRoutes } from './application-diagnostics.ts';
import { applicationRoutes } from './applications.ts';
import { assignmentRoutes } from './assignments.ts';
import { auditRoutes } from './audit.ts';
import { clientRoutes } from './clients.ts';
import type { RouteDeps } from './deps.ts';
import { entitlementRoutes } from './entitlements.ts';
import { importRoutes } from './import-users.ts';
import { lifecycleRoutes } from './lifecycle.ts';
import { roleRoutes } from './roles.ts';
import { ruleRoutes } from './rules.ts';
import { planRoutes } from './plans.ts';
import { reconciliationRoutes } from './reconciliation.ts';
import { scimGroupRoutes } from './scim-groups.ts';
import { scimMetaRoutes } from './scim-meta.ts';
import { scimUserRoutes } from './scim-users.ts';
import { systemRoutes } from './system.ts';
import { workflowRoutes } from './workflows.ts';

export type { RouteDeps } from './deps.ts';

/** Every route of the API, declared. */
export function routes(deps: RouteDeps): RouteSpec[] {
  return [...systemRoutes(deps), ...clientRoutes(deps), ...auditRoutes(deps), ...importRoutes(deps), ...applicationRoutes(deps), ...applicationDiagnosticRoutes(deps), ...entitlementRoutes(deps), ...assignmentRoutes(deps), ...accountRoutes(deps), ...planRoutes(deps), ...reconciliationRoutes(deps), ...scimMetaRoutes(deps), ...scimUserRoutes(deps), ...scimGroupRoutes(deps), ...workflowRoutes(deps), ...ruleRoutes(deps), ...roleRoutes(deps), ...lifecycleRoutes(deps)];
}
