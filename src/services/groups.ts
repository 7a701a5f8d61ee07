import { sql } from 'kysely';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import { StewardError } from '../domain/errors.ts';
import { grants } from '../domain/privileges.ts';
import { compileBound } from '../scim/index.ts';
import { applyPatch } from '../scim/index.ts';
import { appendAudit, type AuditInput } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../store/errors.ts';
import { MEMBER_JSON, addMembers, countGroupRows, lockGroupRow, memberIdsOfGroup, pageGroupRows, removeMembers, removeMembersExcept, removeMembersWhere } from '../store/group-repo.ts';
import { existingIdentityIds, isUuid } from '../store/identity-repo.ts';
import type { GroupRow } from '../store/tables.ts';
import { splitGroupPatch, type MemberOp } from './group-patch.ts';
import { groupFilterMapping, storedGroupResource, toGroupRecords, type GroupReadOptions, type GroupRecord } from './group-records.ts';
import { validateGroup, type ValidGroup } from './group-validate.ts';
import { checkVersion, type Preconditions } from './preconditions.ts';
import { compileListQuery, mentions, type ListPage, type ListQuery } from './scim-query.ts';
import { scimError } from './scim-resource.ts';
import { GROUP_RESOURCE_TYPE } from './scim-schema.ts';

export type { GroupRecord } from './group-records.ts';

/** Groups as SCIM Groups: create, read, replace, patch, delete and list, every change audited. */
export interface GroupService {
  create(actor: Actor, body: unknown): Promise<GroupRecord>;
  get(id: string, opts?: GroupReadOptions): Promise<GroupRecord>;
  replace(actor: Actor, id: string, body: unknown, pre?: Preconditions): Promise<GroupRecord>;
  /** PATCH: member operations become inserts and deletes; the rest applies to the group's attributes. */
  patch(actor: Actor, id: string, body: unknown, pre?: Preconditions): Promise<GroupRecord>;
  delete(actor: Actor, id: string, pre?: Preconditions): Promise<void>;
  list(q: ListQuery, opts?: GroupReadOptions): Promise<ListPage<GroupRecord>>;
}

const notFound = (id: string) => new StewardError('group.not_found', `no group has id ${JSON.stringify(id)}`);

function requireAdminFor(actor: Actor, what: string): void {
  if (!grants(actor.privileges, 'admin')) {
    throw new StewardError('group.reserved', `${what} is a reserved group; only an API client holding admin may create, change or delete reserved groups`);
  }
}

function mapWriteError(e: unknown, g: { displayName?: unknown; externalId?: unknown }): unknown {
  if (isUniqueViolation(e, 'groups_display_name_key')) {
    return new StewardError('group.duplicate_name', `displayName: another group is already named ${JSON.stringify(g.displayName)} (names are compared ignoring case)`, {
      problems: [{ code: 'group.duplicate_name', field: 'displayName', message: 'is taken' }],
      scimType: 'uniqueness',
      cause: e,
    });
  }
  if (isUniqueViolation(e, 'groups_external_id_key')) {
    return new StewardError('group.duplicate_external_id', `externalId: another group already has the externalId ${JSON.stringify(g.externalId)}`, {
      problems: [{ code: 'group.duplicate_external_id', field: 'externalId', message: 'is taken' }],
      scimType: 'uniqueness',
      cause: e,
    });
  }
  // A member was deleted between the existence check and the insert.
  if (isForeignKeyViolation(e)) return new StewardError('group.member_not_found', 'members: a member named was deleted while the group was being written; retry', { scimType: 'invalidValue', cause: e });
  return e;
}

/** Refuses ids that name no identity, naming them (the first 20) and where they were given. */
async function checkMembersExist(trx: Executor, ids: readonly string[], field: string): Promise<void> {
  if (ids.length === 0) return;
  const found = await existingIdentityIds(trx, ids);
  const missing = ids.filter((i) => !found.has(i));
  if (missing.length === 0) return;
  const listed = missing.slice(0, 20).map((m) => JSON.stringify(m)).join(', ');
  throw new StewardError('group.member_not_found', `${field}: no identity has id ${listed}${missing.length > 20 ? ` (and ${missing.length - 20} more)` : ''}`, {
    problems: missing.slice(0, 100).map((m) => ({ code: 'group.member_not_found', field, message: `no identity has id ${JSON.stringify(m)}` })),
    scimType: 'invalidValue',
  });
}

const columnsOf = (g: ValidGroup, kind: string, description: string | null) => ({
  display_name: g.displayName,
  external_id: g.externalId,
  kind,
  description,
  data: JSON.stringify(g.resource),
});

/** Tracks the net membership change of a request: an id added then removed is no change. */
class MemberDelta {
  readonly added = new Set<string>();
  readonly removed = new Set<string>();
  add(ids: readonly string[]) {
    for (const id of ids) if (!this.removed.delete(id)) this.added.add(id);
  }
  remove(ids: readonly string[]) {
    for (const id of ids) if (!this.added.delete(id)) this.removed.add(id);
  }
  get changed() {
    return this.added.size > 0 || this.removed.size > 0;
  }
  events(actor: Actor, groupId: string): AuditInput[] {
    const out: AuditInput[] = [];
    if (this.added.size > 0) out.push({ actor: actorLabel(actor), action: 'group.members.add', objectType: 'group', objectId: groupId, after: { members: [...this.added].sort() } });
    if (this.removed.size > 0) out.push({ actor: actorLabel(actor), action: 'group.members.remove', objectType: 'group', objectId: groupId, before: { members: [...this.removed].sort() } });
    return out;
  }
}

const auditView = (r: GroupRecord) => ({ id: r.id, version: r.version, ...r.resource });

/** Builds the group service over the database. */
export function createGroupService(db: Db): GroupService {
  const one = async (ex: Executor, row: GroupRow, opts: GroupReadOptions = {}) => (await toGroupRecords(ex, [row], opts))[0]!;

  async function locked(trx: Executor, actor: Actor, id: string, pre: Preconditions | undefined): Promise<GroupRow> {
    const row = await lockGroupRow(trx, id);
    if (!row) throw notFound(id);
    checkVersion(row.version, pre);
    if (row.kind === 'reserved') requireAdminFor(actor, `group ${JSON.stringify(row.display_name)}`);
    return row;
  }

  // Writes new attributes (when they differ) and bumps the version once for the whole request.
  async function finishWrite(trx: Executor, actor: Actor, row: GroupRow, g: ValidGroup | undefined, delta: MemberDelta): Promise<GroupRecord> {
    // Without the Steward extension a replacement keeps the group's kind and description.
    const kind = g?.kind ?? row.kind;
    const description = g?.steward ? g.description : row.description;
    if (kind === 'reserved' && row.kind !== 'reserved') requireAdminFor(actor, `group ${JSON.stringify(g?.displayName ?? row.display_name)}`);
    const attrsChanged =
      g !== undefined && (canonicalJson(g.resource) !== canonicalJson(row.data) || kind !== row.kind || description !== row.description || g.displayName !== row.display_name);
    if (!attrsChanged && !delta.changed) return one(trx, row);
    const before = await one(trx, row);
    const updated = await trx
      .updateTable('groups')
      .set({ ...(attrsChanged && g ? columnsOf(g, kind, description) : {}), version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = await one(trx, updated);
    const events = attrsChanged ? [{ actor: actorLabel(actor), action: 'group.update', objectType: 'group', objectId: row.id, before: auditView(before), after: auditView(after) }] : [];
    await appendAudit(trx, [...events, ...delta.events(actor, row.id)]);
    return after;
  }

  async function applyMemberOps(trx: Executor, groupId: string, ops: readonly MemberOp[], delta: MemberDelta): Promise<void> {
    for (const op of ops) {
      switch (op.kind) {
        case 'add':
          delta.add(await addMembers(trx, groupId, op.ids));
          break;
        case 'replace':
          delta.remove(await removeMembersExcept(trx, groupId, op.ids));
          delta.add(await addMembers(trx, groupId, op.ids));
          break;
        case 'remove':
          delta.remove(await removeMembers(trx, groupId, op.ids));
          break;
        case 'removeAll':
          delta.remove(await removeMembersExcept(trx, groupId, []));
          break;
        case 'removeWhere':
          delta.remove(await removeMembersWhere(trx, groupId, compileBound(op.filter, { resource: GROUP_RESOURCE_TYPE, json: MEMBER_JSON })));
          break;
      }
    }
  }

  return {
    async create(actor, body) {
      const g = validateGroup(body);
      const kind = g.kind ?? 'standard';
      if (kind === 'reserved') requireAdminFor(actor, `group ${JSON.stringify(g.displayName)}`);
      try {
        return await db.tx(async (trx) => {
          await checkMembersExist(trx, g.members, 'members');
          const row = await trx.insertInto('groups').values(columnsOf(g, kind, g.description)).returningAll().executeTakeFirstOrThrow();
          await addMembers(trx, row.id, g.members);
          const rec = await one(trx, row);
          await appendAudit(trx, [{ actor: actorLabel(actor), action: 'group.create', objectType: 'group', objectId: row.id, after: { ...auditView(rec), members: [...g.members].sort() } }]);
          return rec;
        });
      } catch (e) {
        throw mapWriteError(e, g);
      }
    },

    async get(id, opts) {
      const row = isUuid(id) ? await db.k.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
      if (!row) throw notFound(id);
      return one(db.k, row, opts);
    },

    async replace(actor, id, body, pre) {
      const g = validateGroup(body);
      try {
        return await db.tx(async (trx) => {
          const row = await locked(trx, actor, id, pre);
          await checkMembersExist(trx, g.members, 'members');
          const delta = new MemberDelta();
          await applyMemberOps(trx, row.id, [{ kind: 'replace', ids: g.members, field: 'members' }], delta);
          return finishWrite(trx, actor, row, g, delta);
        });
      } catch (e) {
        throw mapWriteError(e, g);
      }
    },

    async patch(actor, id, body, pre) {
      const split = splitGroupPatch(body);
      if (!split.ok) throw scimError(split.errors);
      let g: ValidGroup | undefined;
      try {
        return await db.tx(async (trx) => {
          const row = await locked(trx, actor, id, pre);
          if (split.value.rest) {
            // With its id, so that an id echoed in the value (Okta renames so) is seen as unchanged.
            const patched = applyPatch({ id: row.id, ...storedGroupResource(row) }, split.value.rest, GROUP_RESOURCE_TYPE);
            if (!patched.ok) throw scimError(patched.errors);
            g = validateGroup(patched.value);
          }
          for (const op of split.value.members) if (op.kind === 'add' || op.kind === 'replace') await checkMembersExist(trx, op.ids, op.field);
          const delta = new MemberDelta();
          await applyMemberOps(trx, row.id, split.value.members, delta);
          return finishWrite(trx, actor, row, g, delta);
        });
      } catch (e) {
        throw mapWriteError(e, g ?? {});
      }
    },

    async delete(actor, id, pre) {
      await db.tx(async (trx) => {
        const row = await locked(trx, actor, id, pre);
        const before = { ...auditView(await one(trx, row)), members: await memberIdsOfGroup(trx, row.id) };
        await trx.deleteFrom('groups').where('id', '=', row.id).execute();
        await appendAudit(trx, [{ actor: actorLabel(actor), action: 'group.delete', objectType: 'group', objectId: row.id, before }]);
      });
    },

    async list(q, opts) {
      const c = compileListQuery(q, (f) => groupFilterMapping(f !== undefined && mentions(f, 'members')));
      const [totalResults, rows] = await Promise.all([countGroupRows(db.k, c.where), pageGroupRows(db.k, c)]);
      return { totalResults, startIndex: c.startIndex, items: await toGroupRecords(db.k, rows, opts) };
    },
  };
}
