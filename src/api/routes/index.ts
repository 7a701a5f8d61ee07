import type { RouteSpec } from '../route.ts';
import { auditRoutes } from './audit.ts';
import { clientRoutes } from './clients.ts';
import type { RouteDeps } from './deps.ts';
import { importRoutes } from './import-users.ts';
import { systemRoutes } from './system.ts';

export type { RouteDeps } from './deps.ts';

/** Every route of the API, declared. */
export function routes(deps: RouteDeps): RouteSpec[] {
  return [...systemRoutes(deps), ...clientRoutes(deps), ...auditRoutes(deps), ...importRoutes(deps)];
}
