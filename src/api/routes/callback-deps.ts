import type { Db } from '../../store/db.ts';
import type { DecisionSink } from '../../workflows/decisions.ts';

/** What the decision page and the Slack interaction route are built from. */
export interface CallbackRouteDeps {
  db: Db;
  /** Where decisions go (approval tasks and waiting scripts). */
  sink: DecisionSink;
  /** Slack's signing secret; without it the interaction route is not registered. */
  slack?: { signingSecret: string };
  now?: () => Date;
  /** For posting the outcome back to Slack's response_url. */
  fetch?: typeof fetch;
  /** Where a failed response_url post is logged; never with a token. */
  log?: { warn(fields: object, msg?: string): void };
}
