import type { Migration } from 'kysely';
import * as initial from './20261123T180000_initial.ts';
import * as attributeMappings from './20261123T190000_attribute_mappings.ts';
import * as workflows from './20261124T090000_workflows.ts';
import * as reconciliation from './20261124T100000_reconciliation.ts';
import * as lifecycle from './20261124T110000_lifecycle.ts';
import * as lifecycleRecomputes from './20261125T090000_lifecycle_recomputes.ts';
import * as reconciliationCopyLease from './20261125T100000_reconciliation_copy_lease.ts';
import * as reconciliationIncremental from './20261125T110000_reconciliation_incremental.ts';
import * as identityChangeFeed from './20261126T090000_identity_change_feed.ts';
import * as auditJsonText from './20261127T090000_audit_json_text.ts';

/** Every migration, by its immutable timestamped name; applied in name order. */
export const MIGRATIONS: Record<string, Migration> = {
  '20261123T180000_initial': initial,
  '20261123T190000_attribute_mappings': attributeMappings,
  '20261124T090000_workflows': workflows,
  '20261124T100000_reconciliation': reconciliation,
  '20261124T110000_lifecycle': lifecycle,
  '20261125T090000_lifecycle_recomputes': lifecycleRecomputes,
  '20261125T100000_reconciliation_copy_lease': reconciliationCopyLease,
  '20261125T110000_reconciliation_incremental': reconciliationIncremental,
  '20261126T090000_identity_change_feed': identityChangeFeed,
  '20261127T090000_audit_json_text': auditJsonText,
};
