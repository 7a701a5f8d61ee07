// The identity change feed: statement-level triggers announce, on the channel
// `steward_identities`, the ids of identities whose SCIM User may read differently after a
// change (the row itself, its group memberships, the name of a group it is in). The payload
// is a comma-separated list of ids, or `*` for "any identity" when a statement touched more
// than 200 (a notification carries at most 8,000 bytes) or emptied a table. Notifications are
// delivered when the transaction commits, in commit order, and never for a rolled-back one:
// the in-memory cache of Users (src/services/identity-cache.ts) drops what they name.
// Immutable once released: change the schema with a new, later file.
import type { Kysely } from 'kysely';
import { runStatements } from '../migration-util.ts';

const CHANNEL = `'steward_identities'`;
// Announces the ids a query selects (as text), or `*` for more than 200 of them.
const announce = (ids: string) => `
       select case when count(*) > 200 then '*' else string_agg(c.id, ',') end into payload
         from (select distinct x.id::text as id from (${ids}) x limit 201) c;
       if payload is not null then perform pg_notify(${CHANNEL}, payload); end if;
       return null;`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `create function identity_feed_rows() returns trigger language plpgsql as $$
     declare payload text;
     begin ${announce('select id from old_rows')}
     end $$`,
    `create trigger identity_feed_upd after update on identities referencing old table as old_rows for each statement execute function identity_feed_rows()`,
    `create trigger identity_feed_del after delete on identities referencing old table as old_rows for each statement execute function identity_feed_rows()`,

    `create function identity_feed_members_ins() returns trigger language plpgsql as $$
     declare payload text;
     begin ${announce('select identity_id as id from new_rows')}
     end $$`,
    `create function identity_feed_members_del() returns trigger language plpgsql as $$
     declare payload text;
     begin ${announce('select identity_id as id from old_rows')}
     end $$`,
    `create function identity_feed_members_upd() returns trigger language plpgsql as $$
     declare payload text;
     begin ${announce('select identity_id as id from old_rows union all select identity_id from new_rows')}
     end $$`,
    `create trigger identity_feed_members_ins after insert on group_members referencing new table as new_rows for each statement execute function identity_feed_members_ins()`,
    `create trigger identity_feed_members_del after delete on group_members referencing old table as old_rows for each statement execute function identity_feed_members_del()`,
    `create trigger identity_feed_members_upd after update on group_members referencing old table as old_rows new table as new_rows for each statement execute function identity_feed_members_upd()`,

    // A User lists its groups by name: a renamed group changes how each member reads.
    `create function identity_feed_groups_upd() returns trigger language plpgsql as $$
     declare payload text;
     begin ${announce(`select gm.identity_id as id from group_members gm
                         join new_rows n on n.id = gm.group_id join old_rows o on o.id = n.id
                        where n.display_name is distinct from o.display_name`)}
     end $$`,
    `create trigger identity_feed_groups_upd after update on groups referencing old table as old_rows new table as new_rows for each statement execute function identity_feed_groups_upd()`,

    `create function identity_feed_all() returns trigger language plpgsql as $$
     begin
       perform pg_notify(${CHANNEL}, '*');
       return null;
     end $$`,
    `create trigger identity_feed_truncate after truncate on identities for each statement execute function identity_feed_all()`,
    `create trigger identity_feed_members_truncate after truncate on group_members for each statement execute function identity_feed_all()`,
    `create trigger identity_feed_groups_truncate after truncate on groups for each statement execute function identity_feed_all()`,
  ]);
}

export async function down(): Promise<void> {
  throw new Error('the identity change feed migration cannot be reverted');
}
