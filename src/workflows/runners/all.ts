/** Every script runner this installation carries, for wiring a process (serve, worker). */
import { apiRunner } from './api.ts';
import { noneRunner, sleepRunner } from './basic.ts';
import { emailApprovalRunner, emailNotificationRunner } from './email.ts';
import { slackApprovalRunner, slackNotificationRunner } from './slack.ts';
import type { ScriptRunner } from './types.ts';

export const ALL_RUNNERS: readonly ScriptRunner[] = [apiRunner, noneRunner, sleepRunner, emailNotificationRunner, emailApprovalRunner, slackNotificationRunner, slackApprovalRunner];
