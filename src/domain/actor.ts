import type { Privilege } from './privileges.ts';

/** Who is acting: an API client (by token), the local CLI, or Steward itself. */
export interface Actor {
  kind: 'client' | 'cli' | 'system';
  id: string | null;
  name: string;
  privileges: readonly Privilege[];
  /** The identity an API client acts for (requests, approvals); absent for machine clients. */
  identityId?: string | null;
}

/** How an actor is written in the audit trail. */
export const actorLabel = (a: Actor): string => (a.kind === 'client' ? `client:${a.name}` : a.kind === 'cli' ? `cli:${a.name}` : 'system');

export const SYSTEM_ACTOR: Actor = { kind: 'system', id: null, name: 'steward', privileges: ['admin'] };
