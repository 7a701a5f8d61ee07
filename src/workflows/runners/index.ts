/** Script runners, one per family of seed 000's script types. */
export { apiRunner as API_RUNNER, applyErrorToConnectorError, validateApiScript } from './api.ts';
export { noneRunner, sleepRunner } from './basic.ts';
export { slackApprovalRunner, slackNotificationRunner, postApprovalRequestSlack, approvalBlocks, APPROVE_ACTION, DENY_ACTION } from './slack.ts';
export type { SlackApprovalRequest } from './slack.ts';
export { emailApprovalRunner, emailNotificationRunner, sendApprovalRequestEmail, sendMail, decisionLinks } from './email.ts';
export type { EmailApprovalRequest } from './email.ts';
export { gitlabIssueRunner } from './gitlab-issues.ts';
export { webhookRunner } from './webhook.ts';
export { createApplicationConfigLoader } from './application-config.ts';
export { NOTIFICATION_RUNNERS } from './notification-runners.ts';
