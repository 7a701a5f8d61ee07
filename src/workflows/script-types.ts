/**
 * The ActionChainScript types of seed 000, parsed. A type is either one of the fixed names
 * (`none`, `slack_notification`, `gitlab_issue_close`, `sleep`…) or a provider form:
 * `{provider}_api_{operation}` (carried out by the application's connector) and
 * `{provider}_webhook_{endpoint}` (an HTTP call to a configured URL).
 */
import { OPERATIONS, type Operation } from '../connectors/index.ts';
import { fail, ok, type Result } from '../domain/result.ts';

/** The seed's named API operations (and the few a plan needs), carried out through a connector. */
export const API_OPERATIONS = OPERATIONS;
export type ApiOperation = Operation;

export const FIXED_SCRIPT_TYPES = [
  'none',
  'slack_notification',
  'slack_approval',
  'email_notification',
  'email_approval',
  'gitlab_issue_create',
  'gitlab_issue_add_comment',
  'gitlab_issue_add_label',
  'gitlab_issue_remove_label',
  'gitlab_issue_close',
  'gitlab_issue_assign_user',
  'gitlab_issue_unassign_user',
  'sleep',
] as const;
export type FixedScriptType = (typeof FIXED_SCRIPT_TYPES)[number];

export type ScriptType =
  | { family: 'fixed'; type: FixedScriptType }
  /** A seed operation through the application's connector. */
  | { family: 'api'; provider: string; operation: ApiOperation }
  /** `{provider}_api_{endpoint}`: a named endpoint of a `rest` application. */
  | { family: 'endpoint'; provider: string; endpoint: string }
  | { family: 'webhook'; provider: string; endpoint: string };

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const ENDPOINT = /^[a-z][a-z0-9_]*$/;

/** Parses a script type; the error says what a valid one looks like. */
export function parseScriptType(type: string): Result<ScriptType, string> {
  if ((FIXED_SCRIPT_TYPES as readonly string[]).includes(type)) return ok({ family: 'fixed', type: type as FixedScriptType });
  for (const [marker, family] of [
    ['_api_', 'api'],
    ['_webhook_', 'webhook'],
  ] as const) {
    const at = type.indexOf(marker);
    if (at <= 0) continue;
    const provider = type.slice(0, at);
    const rest = type.slice(at + marker.length);
    if (!NAME.test(provider)) return fail(`provider '${provider}' must be lower-case letters and digits`);
    if (!ENDPOINT.test(rest)) return fail(`'${rest}' after '${marker}' must be lower-case letters, digits and underscores`);
    if (family === 'webhook') return ok({ family: 'webhook', provider, endpoint: rest });
    if ((API_OPERATIONS as readonly string[]).includes(rest)) return ok({ family: 'api', provider, operation: rest as ApiOperation });
    return ok({ family: 'endpoint', provider, endpoint: rest });
  }
  return fail(`unknown script type '${type}': use one of ${FIXED_SCRIPT_TYPES.join(', ')}, {provider}_api_{operation} or {provider}_webhook_{endpoint}`);
}
