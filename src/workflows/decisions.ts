/**
 * Where a decision taken outside the API lands: a click on an email link or a Slack button
 * decides an approval task (an approver of an access request) or resumes an ActionFlow
 * script waiting on a person (`slack_approval`, `email_approval`). The callback routes
 * verify the link or the signature and consume the single-use token; the sink does the rest.
 */
export type Decision = 'approve' | 'deny';

export const DECISIONS: readonly Decision[] = ['approve', 'deny'];

export interface DecisionSink {
  /** Records an approver's decision on an approval task. `via` says how it came (`email`, `slack:U123`). */
  decideTask(taskId: string, decision: Decision, comment: string | null, via: string): Promise<void>;
  /** Ends a waiting ActionFlowScript: approve continues the flow, deny fails it. */
  resumeScript(scriptId: string, decision: Decision, via: string): Promise<void>;
}
