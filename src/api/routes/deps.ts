import type { Services } from '../../services/index.ts';
import type { Authenticator } from '../auth.ts';
import type { Metrics } from '../metrics.ts';

/** What route modules are built from. */
export interface RouteDeps {
  services: Services;
  metrics: Metrics;
  importLimit: number;
  auth: Authenticator;
}
