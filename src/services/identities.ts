import { sql } from 'kysely';
import { actorLabel, type Actor } from '../domain/actor.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import { StewardError } from '../domain/errors.ts';
import { ENTERPRISE_USER_URN } from '../domain/identity.ts';
import { applyPatch } from '../scim/index.ts';
import { appendAudit, type AuditInput } from '../store/audit.ts';
import { batchReads } from './batch-reads.ts';
import { identityCache } from './identity-cache.ts';
import type { Db, Executor } from '../store/db.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../store/errors.ts';
import { identityColumns } from '../store/identities.ts';
import { countIdentityRows, directReportRows, existingIdentityIds, identitiesWithRelations, isUuid, type IdentityWithRelations, lockIdentityRow, lockManagerGraph, managerChainReaches, pageIdentityRows } from '../store/identity-repo.ts';
import type { IdentityRow } from '../store/tables.ts';
import { buildIdentityRecords, identityFilterMapping, storedIdentityResource, toIdentityRecords, type IdentityRecord, type ReadOptions } from './identity-records.ts';
import { validateIdentity, type ValidIdentity } from './identity-validate.ts';
import { checkVersion, type Preconditions } from './preconditions.ts';
import { compileListQuery, mentions, type ListPage, type ListQuery } from './scim-query.ts';
import { scimError } from './scim-resource.ts';
import { USER_RESOURCE_TYPE } from './scim-schema.ts';

export type { IdentityRecord } from './identity-records.ts';

/** Identities as SCIM Users: create, read, replace, patch, delete and list, every change audited. */
export interface IdentityService {
  create(actor: Actor, body: unknown): Promise<IdentityRecord>;
  /**
   * One identity as it is now. Reads of one identity that arrive together share one query
   * and one record: treat the record as read-only.
   */
  get(id: string, opts?: ReadOptions): Promise<IdentityRecord>;
  /** PUT: the body replaces the whole resource. */
  replace(actor: Actor, id: string, body: unknown, pre?: Preconditions): Promise<IdentityRecord>;
  /** PATCH: a SCIM PatchOp applied to the stored resource, then checked and written as a replacement. */
  patch(actor: Actor, id: string, body: unknown, pre?: Preconditions): Promise<IdentityRecord>;
  /** Hard delete (RFC 7644 §3.6); direct reports lose their manager, groups lose the member. */
  delete(actor: Actor, id: string, pre?: Preconditions): Promise<void>;
  list(q: ListQuery, opts?: ReadOptions): Promise<ListPage<IdentityRecord>>;
}

const MANAGER_FIELD = `${ENTERPRISE_USER_URN}:manager.value`;
const notFound = (id: string) => new StewardError('identity.not_found', `no identity has id ${JSON.stringify(id)}`);

// Unique indexes are the arbiter (two concurrent creates cannot both pass a check made first).
function mapWriteError(e: unknown, v: ValidIdentity): unknown {
  if (isUniqueViolation(e, 'identities_user_name_key')) {
    return new StewardError('identity.duplicate_user_name', `userName: another identity already has the userName ${JSON.stringify(v.resource.userName)} (userNames are compared ignoring case)`, {
      problems: [{ code: 'identity.duplicate_user_name', field: 'userName', message: 'is taken' }],
      scimType: 'uniqueness',
      cause: e,
    });
  }
  if (isUniqueViolation(e, 'identities_external_id_key')) {
    return new StewardError('identity.duplicate_external_id', `externalId: another identity already has the externalId ${JSON.stringify(v.resource.externalId)}`, {
      problems: [{ code: 'identity.duplicate_external_id', field: 'externalId', message: 'is taken' }],
      scimType: 'uniqueness',
      cause: e,
    });
  }
  // The manager was deleted between the check and the write.
  if (isForeignKeyViolation(e)) return managerNotFound(v.managerId ?? '');
  return e;
}

const managerNotFound = (id: string) =>
  new StewardError('identity.manager_not_found', `${MANAGER_FIELD}: no identity has id ${JSON.stringify(id)}`, {
    problems: [{ code: 'identity.manager_not_found', field: MANAGER_FIELD, message: `no identity has id ${JSON.stringify(id)}` }],
    scimType: 'invalidValue',
  });

async function checkManager(trx: Executor, managerId: string, selfId: string | null): Promise<void> {
  if (!isUuid(managerId) || !(await existingIdentityIds(trx, [managerId])).has(managerId.toLowerCase())) throw managerNotFound(managerId);
  if (selfId !== null && (managerId.toLowerCase() === selfId || (await managerChainReaches(trx, managerId, selfId)))) {
    throw new StewardError('identity.manager_cycle', `${MANAGER_FIELD}: making ${managerId} the manager of ${selfId} would make the identity its own manager, directly or through others`, {
      problems: [{ code: 'identity.manager_cycle', field: MANAGER_FIELD, message: 'the manager chain would loop back to this identity' }],
      scimType: 'invalidValue',
    });
  }
}

const currentOf = (row: IdentityRow) => ({ kind: row.kind, lifecycleStatus: row.status });

const auditView = (r: IdentityRecord) => ({ id: r.id, version: r.version, ...r.resource });

/** Builds the identity service over the database. */
export function createIdentityService(db: Db): IdentityService {
  const one = async (ex: Executor, row: IdentityRow, opts: ReadOptions = {}) => (await toIdentityRecords(ex, [row], opts))[0]!;
  // Reads of single identities made at the same time share one query (ids are lower case
  // in the table). The embedded database runs one query at a time: a second batch waits
  // in its worker's queue while the first runs, so it never idles between them. What
  // they read stays in memory until the database announces a change to it.
  const readOne = identityCache(db.changes, batchReads((ids: string[]) => identitiesWithRelations(db.k, ids), { maxInFlight: db.kind === 'pglite' ? 2 : 4 }));
  const built = new WeakMap<IdentityWithRelations, { plain?: IdentityRecord; withGroups?: IdentityRecord }>();

  // The write shared by PUT and PATCH: nothing is written when nothing changed.
  async function writeReplacement(trx: Executor, actor: Actor, row: IdentityRow, v: ValidIdentity): Promise<IdentityRecord> {
    const managerId = v.managerId?.toLowerCase() ?? null;
    if (canonicalJson(v.resource) === canonicalJson(row.data) && managerId === row.manager_id) return one(trx, row, { groups: true });
    if (managerId !== null && managerId !== row.manager_id) {
      await lockManagerGraph(trx);
      await checkManager(trx, managerId, row.id);
    }
    const before = await one(trx, row, { groups: true });
    const updated = await trx
      .updateTable('identities')
      .set({ ...identityColumns(v.resource, managerId), version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = await one(trx, updated, { groups: true });
    await appendAudit(trx, [{ actor: actorLabel(actor), action: 'identity.update', objectType: 'identity', objectId: row.id, before: auditView(before), after: auditView(after) }]);
    return after;
  }

  async function locked(trx: Executor, id: string, pre: Preconditions | undefined): Promise<IdentityRow> {
    const row = await lockIdentityRow(trx, id);
    if (!row) throw notFound(id);
    checkVersion(row.version, pre);
    return row;
  }

  return {
    async create(actor, body) {
      const v = validateIdentity(body);
      try {
        return await db.tx(async (trx) => {
          const managerId = v.managerId?.toLowerCase() ?? null;
          if (managerId !== null) await checkManager(trx, managerId, null);
          const row = await trx.insertInto('identities').values(identityColumns(v.resource, managerId)).returningAll().executeTakeFirstOrThrow();
          const rec = await one(trx, row);
          await appendAudit(trx, [{ actor: actorLabel(actor), action: 'identity.create', objectType: 'identity', objectId: row.id, after: auditView(rec) }]);
          return rec;
        });
      } catch (e) {
        throw mapWriteError(e, v);
      }
    },

    async get(id, opts) {
      const found = isUuid(id) ? await readOne(id.toLowerCase()) : undefined;
      if (!found) throw notFound(id);
      // Reads that shared a query or the cache share the record built from it (built once).
      const made = built.get(found) ?? {};
      built.set(found, made);
      const variant = opts?.groups ? 'withGroups' : 'plain';
      const cached = made[variant];
      if (cached) return cached;
      const managers = new Map(found.row.manager_id && found.managerName !== undefined ? [[found.row.manager_id, found.managerName]] : []);
      const rec = buildIdentityRecords([found.row], managers, opts?.groups ? found.groups : [], opts)[0]!;
      made[variant] = rec;
      return rec;
    },

    async replace(actor, id, body, pre) {
      let v: ValidIdentity | undefined;
      try {
        return await db.tx(async (trx) => {
          const row = await locked(trx, id, pre);
          v = validateIdentity(body, currentOf(row));
          return writeReplacement(trx, actor, row, v);
        });
      } catch (e) {
        throw v ? mapWriteError(e, v) : e;
      }
    },

    async patch(actor, id, body, pre) {
      let v: ValidIdentity | undefined;
      try {
        return await db.tx(async (trx) => {
          const row = await locked(trx, id, pre);
          // With its id, so that an id echoed in the value is seen as unchanged, not as a write.
          const patched = applyPatch({ id: row.id, ...storedIdentityResource(row) }, body, USER_RESOURCE_TYPE);
          if (!patched.ok) throw scimError(patched.errors);
          v = validateIdentity(patched.value, currentOf(row));
          return writeReplacement(trx, actor, row, v);
        });
      } catch (e) {
        throw v ? mapWriteError(e, v) : e;
      }
    },

    async delete(actor, id, pre) {
      await db.tx(async (trx) => {
        const row = await locked(trx, id, pre);
        const before = await one(trx, row, { groups: true });
        const events: AuditInput[] = [];
        // Reports keep no dangling manager: their resource changes, so their version does too.
        for (const report of await directReportRows(trx, row.id)) {
          const r = storedIdentityResource({ ...report, manager_id: null });
          const prior = await one(trx, report);
          const updated = await trx
            .updateTable('identities')
            .set({ manager_id: null, data: JSON.stringify(r), version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
            .where('id', '=', report.id)
            .returningAll()
            .executeTakeFirstOrThrow();
          events.push({ actor: actorLabel(actor), action: 'identity.update', objectType: 'identity', objectId: report.id, before: auditView(prior), after: auditView(await one(trx, updated)) });
        }
        const groupIds = (await trx.selectFrom('group_members').select('group_id').where('identity_id', '=', row.id).execute()).map((g) => g.group_id);
        await trx.deleteFrom('identities').where('id', '=', row.id).execute();
        if (groupIds.length > 0) {
          await trx
            .updateTable('groups')
            .set({ version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
            .where((eb) => eb('id', '=', eb.fn.any(eb.val(groupIds))))
            .execute();
        }
        events.push({ actor: actorLabel(actor), action: 'identity.delete', objectType: 'identity', objectId: row.id, before: auditView(before) });
        await appendAudit(trx, events);
      });
    },

    async list(q, opts) {
      const c = compileListQuery(q, (f) => identityFilterMapping(f !== undefined && mentions(f, 'groups')));
      const [totalResults, rows] = await Promise.all([countIdentityRows(db.k, c.where), pageIdentityRows(db.k, c)]);
      return { totalResults, startIndex: c.startIndex, items: await toIdentityRecords(db.k, rows, opts) };
    },
  };
}
