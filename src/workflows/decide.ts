/**
 * Takes a decision that arrived with a token (an email link's form, a Slack button): uses
 * the token once, then hands the decision to the sink. A decision the sink refuses (the
 * task was decided in the API meanwhile, the flow was cancelled) leaves the token used and
 * says why; an unexpected failure gives the token back, so the person can try again.
 */
import { StewardError } from '../domain/errors.ts';
import type { Db } from '../store/db.ts';
import { consumeDecisionToken, releaseDecisionToken, type DecisionChannel, type DecisionTokenInfo } from './decision-tokens.ts';
import type { Decision, DecisionSink } from './decisions.ts';

export type DecisionOutcome =
  | { ok: true; token: DecisionTokenInfo }
  /** `not_found`, `used`, `expired`: the token; `refused`: the sink's StewardError. */
  | { ok: false; reason: 'not_found' | 'used' | 'expired' | 'refused'; error?: StewardError; token?: DecisionTokenInfo };

export interface TakeDecision {
  token: string;
  decision: Decision;
  channel: DecisionChannel;
  /** Who or what decided, for the audit (`email`, `slack:U0123`). */
  via: string;
  comment?: string | null;
  now: Date;
}

/** Uses the token and passes the decision on; see the module comment for what happens on failure. */
export async function takeDecision(db: Db, sink: DecisionSink, d: TakeDecision): Promise<DecisionOutcome> {
  const used = await consumeDecisionToken(db, d.token, d.decision, d.now, d.channel);
  if (!used.ok) return used;
  const t = used.token;
  try {
    if (t.taskId !== null) await sink.decideTask(t.taskId, d.decision, d.comment ?? null, d.via);
    else if (t.scriptId !== null) await sink.resumeScript(t.scriptId, d.decision, d.via);
  } catch (e) {
    if (e instanceof StewardError && e.status < 500) return { ok: false, reason: 'refused', error: e, token: t };
    await releaseDecisionToken(db, t.id);
    throw e;
  }
  return { ok: true, token: t };
}
