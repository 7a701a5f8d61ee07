import { describe, expect, it } from 'vitest';
import { FIXED_SCRIPT_TYPES, parseScriptType } from '../script-types.ts';
import { NOTIFICATION_RUNNERS } from './notification-runners.ts';

const parsed = (t: string) => {
  const p = parseScriptType(t);
  if (!p.ok) throw new Error(t);
  return p.value;
};

describe('NOTIFICATION_RUNNERS', () => {
  it('carry out every fixed script type of seed 000 and every webhook, each by exactly one runner', () => {
    for (const t of [...FIXED_SCRIPT_TYPES, 'hr_webhook_onboard', 'acme-cloud_webhook_notify_team']) {
      expect(NOTIFICATION_RUNNERS.filter((r) => r.handles(parsed(t))), t).toHaveLength(1);
    }
  });
  it('leave connector operations and named endpoints to the api runner', () => {
    for (const t of ['scim_api_create_user', 'acme_api_sync_badges']) expect(NOTIFICATION_RUNNERS.some((r) => r.handles(parsed(t))), t).toBe(false);
  });
});
