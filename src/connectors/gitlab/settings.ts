/** The settings of the `gitlab` connector kind: JSON Schema, and the typed form the connector uses. */
import type { JsonSchema } from '../contract.ts';

/** GitLab's access levels (Members API). */
export const ACCESS_LEVELS = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 } as const;

export const gitlabSettingsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl', 'token'],
  properties: {
    baseUrl: { type: 'string', pattern: '^https?://', description: 'The GitLab instance, e.g. https://gitlab.example.com (the part before /api/v4).' },
    token: { type: 'string', minLength: 1, writeOnly: true, description: 'A personal, group or project access token with the api scope, of an administrator (sent as PRIVATE-TOKEN).' },
    accessLevel: { enum: Object.values(ACCESS_LEVELS), default: 30, description: 'The access level given when a user is added to a group: 10 Guest, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner.' },
    newPassword: { enum: ['reset', 'random'], default: 'reset', description: 'When a Create gives no password: send a reset link (reset) or set a random one (random).' },
    skipConfirmation: { type: 'boolean', default: true, description: 'Create users with their email confirmed.' },
    memberships: { type: 'boolean', default: true, description: 'Read each listed account’s group memberships (one call per account); off makes listings faster and leaves entitlements empty.' },
    pageSize: { type: 'integer', minimum: 1, maximum: 100, default: 100, description: 'Items per page (GitLab’s maximum is 100).' },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 30000, description: 'Timeout of each HTTP call.' },
    retries: { type: 'integer', minimum: 0, maximum: 5, default: 2, description: 'In-call retries of 429/503/network failures.' },
  },
};

export interface GitlabSettings {
  baseUrl: string;
  token: string;
  accessLevel: number;
  newPassword: 'reset' | 'random';
  skipConfirmation: boolean;
  memberships: boolean;
  pageSize: number;
  timeoutMs: number;
  retries: number;
}

/** The typed settings from settings already checked against gitlabSettingsSchema (defaults applied). */
export function toGitlabSettings(s: Record<string, unknown>): GitlabSettings {
  return {
    baseUrl: (s.baseUrl as string).replace(/\/+$/, ''),
    token: s.token as string,
    accessLevel: s.accessLevel as number,
    newPassword: s.newPassword as 'reset' | 'random',
    skipConfirmation: s.skipConfirmation as boolean,
    memberships: s.memberships as boolean,
    pageSize: s.pageSize as number,
    timeoutMs: s.timeoutMs as number,
    retries: s.retries as number,
  };
}
