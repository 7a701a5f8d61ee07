/** Every script runner this installation carries, for wiring a process (serve, worker). */
import { apiRunner } from './api.ts';
import { NOTIFICATION_RUNNERS } from './notification-runners.ts';
import type { ScriptRunner } from './types.ts';

/** The connector operations, then none, sleep, webhooks, Slack, email and GitLab issues. */
export const ALL_RUNNERS: readonly ScriptRunner[] = [apiRunner, ...NOTIFICATION_RUNNERS];
