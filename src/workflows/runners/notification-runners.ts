/** The runners of every script type that is not a connector operation: none, sleep, webhooks, Slack, email, GitLab issues. */
import { noneRunner, sleepRunner } from './basic.ts';
import { emailApprovalRunner, emailNotificationRunner } from './email.ts';
import { gitlabIssueRunner } from './gitlab-issues.ts';
import { slackApprovalRunner, slackNotificationRunner } from './slack.ts';
import type { ScriptRunner } from './types.ts';
import { webhookRunner } from './webhook.ts';

export const NOTIFICATION_RUNNERS: readonly ScriptRunner[] = [noneRunner, sleepRunner, webhookRunner, slackNotificationRunner, slackApprovalRunner, emailNotificationRunner, emailApprovalRunner, gitlabIssueRunner];
