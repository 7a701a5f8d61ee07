/**
 * Telling people: approvers of a new or late approval task (email with single-use links,
 * Slack with buttons, per the step's `notify`), and holders and owners of time-bound access
 * that ends soon. Runs as a queue job, outside any transaction; where a channel is not
 * configured, or the person has no address on it, that channel is skipped and the task
 * still waits in the API.
 *
 * And the DecisionSink: where a decision taken by link or button lands.
 */
import type { Actor } from '../domain/actor.ts';
import type { Db } from '../store/db.ts';
import type { ApprovalNotifier, ApprovalService } from './approvals.ts';
import type { StoredChain } from './approval-chains.ts';
import type { DecisionSink } from './decisions.ts';
import type { FlowEngine } from './flows.ts';
import { sendApprovalRequestEmail, sendMail } from './runners/email.ts';
import { postApprovalRequestSlack } from './runners/slack.ts';
import type { RunnerDeps } from './runners/types.ts';

/** Decisions by link or button are taken for the approver the link or button was sent to. */
const CALLBACK_ACTOR: Actor = { kind: 'system', id: null, name: 'decision-callback', privileges: ['approve'], identityId: null };

export function createDecisionSink(approvals: ApprovalService, flows: FlowEngine): DecisionSink {
  return {
    async decideTask(taskId, decision, comment, via) {
      await approvals.decide(CALLBACK_ACTOR, taskId, { decision, comment }, via);
    },
    async resumeScript(scriptId, decision, via) {
      await flows.resumeScript(scriptId, decision, via);
    },
  };
}

const DAY = 86_400_000;

/** The Slack user id an identity is reached at: `slackUserId` among its attributes. */
const slackIdOf = (data: unknown): string | undefined => {
  const v = (data as Record<string, unknown> | null)?.slackUserId;
  return typeof v === 'string' && v !== '' ? v : undefined;
};

export function createApprovalNotifier(deps: { db: Db; runnerDeps: RunnerDeps; log?: { info(fields: object, msg?: string): void } }): ApprovalNotifier {
  const { db, runnerDeps } = deps;
  const base = runnerDeps.publicUrl.replace(/\/$/, '');
  return {
    async notify(event) {
      if (event.kind === 'access_expiring') {
        if (!runnerDeps.mail) return;
        const a = await db.k
          .selectFrom('assignments as a')
          .innerJoin('applications as app', 'app.id', 'a.application_id')
          .leftJoin('entitlements as e', 'e.id', 'a.entitlement_id')
          .leftJoin('identities as holder', 'holder.id', 'a.identity_id')
          .leftJoin('identities as owner', 'owner.id', 'app.owner_id')
          .select(['a.id', 'a.valid_until', 'a.status', 'app.name as app', 'e.name as ent', 'holder.email as holderEmail', 'holder.display_name as holderName', 'holder.user_name as holderUser', 'owner.email as ownerEmail'])
          .where('a.id', '=', event.assignmentId)
          .executeTakeFirst();
        if (!a || !a.valid_until || !['pending', 'active'].includes(a.status)) return;
        const to = [a.holderEmail, a.ownerEmail].filter((x): x is string => !!x);
        if (to.length === 0) return;
        const what = a.ent ? `${a.ent} in ${a.app}` : `an account in ${a.app}`;
        await sendMail(runnerDeps, {
          to,
          subject: `Access ends on ${a.valid_until.toISOString().slice(0, 10)}: ${what}`,
          text: `${a.holderName ?? a.holderUser ?? 'Someone'}'s access to ${what} ends on ${a.valid_until.toISOString().replace('T', ' ').slice(0, 16)} UTC.\n\nTo keep it, request it again before then: ${base}/v1.0/requests (an approved request extends it).\n`,
          messageKey: `steward-expiry-${a.id}-${a.valid_until.getTime()}`,
        });
        return;
      }
      const t = await db.k
        .selectFrom('approval_tasks as t')
        .innerJoin('approval_flows as f', 'f.id', 't.flow_id')
        .innerJoin('access_requests as r', 'r.id', 'f.request_id')
        .innerJoin('identities as approver', 'approver.id', 't.approver_id')
        .innerJoin('identities as b', 'b.id', 'r.beneficiary_id')
        .innerJoin('applications as app', 'app.id', 'r.application_id')
        .leftJoin('entitlements as e', 'e.id', 'r.entitlement_id')
        .select(['t.id', 't.status', 't.step', 't.due_at', 'f.chain', 'f.status as flowStatus', 'r.id as requestId', 'r.justification', 'approver.email', 'approver.data', 'b.display_name as who', 'b.user_name as whoUser', 'app.name as app', 'e.name as ent'])
        .where('t.id', '=', event.taskId)
        .executeTakeFirst();
      if (!t || t.status !== 'pending' || t.flowStatus !== 'open') return;
      const step = (t.chain as StoredChain).steps[t.step];
      const channels = step?.notify ?? [];
      const what = t.ent ? `${t.ent} in ${t.app}` : `an account in ${t.app}`;
      const reminder = event.kind === 'approval_reminder' ? 'Reminder: ' : '';
      const text = `${reminder}${t.who ?? t.whoUser} needs ${what}.\nReason: ${t.justification}\nDecide by ${t.due_at ? t.due_at.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : 'soon'}.\nDetails: ${base}/v1.0/requests/${t.requestId}`;
      const expiresAt = new Date(Math.max(Date.now() + DAY, (t.due_at?.getTime() ?? 0) + 7 * DAY));
      if (channels.includes('email') && runnerDeps.mail && t.email) {
        await sendApprovalRequestEmail(runnerDeps, { taskId: t.id, to: [t.email], subject: `${reminder}Approval needed: ${what}`, text, expiresAt });
      }
      const slackId = slackIdOf(t.data);
      if (channels.includes('slack') && runnerDeps.slack && slackId) {
        // A retried job finds the first post instead of posting twice; a reminder is a new post.
        await postApprovalRequestSlack(runnerDeps, { taskId: t.id, user: slackId, text, expiresAt, resumed: event.kind === 'approval_requested' });
      }
      deps.log?.info({ taskId: t.id, channels }, 'approver notified');
    },
  };
}
