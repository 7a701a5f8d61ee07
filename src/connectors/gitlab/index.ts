/** The `gitlab` connector kind. */
export { gitlabKind, createGitlabConnector, GITLAB_CAPABILITIES } from './connector.ts';
export type { GitlabConnector } from './connector.ts';
export { gitlabSettingsSchema, ACCESS_LEVELS } from './settings.ts';
