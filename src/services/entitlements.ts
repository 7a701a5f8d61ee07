import { actorLabel, type Actor } from '../domain/actor.ts';
import { StewardError } from '../domain/errors.ts';
import type { Problem } from '../domain/result.ts';
import type { EntitlementKind } from '../domain/schema.ts';
import { getApplicationRow } from '../store/applications.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Executor } from '../store/db.ts';
import { entitlementsByKeys, insertEntitlements, listApplicationEntitlementRows, searchEntitlementRows } from '../store/entitlements.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../store/errors.ts';
import type { EntitlementRow } from '../store/tables.ts';
import { checkKey, keyPage, type KeyPage } from './paging.ts';

/** A group, role, license, permission or entity an application exposes. */
export interface Entitlement {
  id: string;
  applicationId: string;
  kind: EntitlementKind;
  nativeValue: string;
  name: string;
  description: string | null;
  ownerId: string | null;
  requestable: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface EntitlementInput {
  kind: EntitlementKind;
  nativeValue: string;
  name: string;
  description?: string | null;
  ownerId?: string | null;
  requestable?: boolean;
}

export interface EntitlementSearchInput {
  applicationId?: string;
  kind?: EntitlementKind;
  name?: string;
  ownerId?: string;
  requestable?: boolean;
  after?: unknown[];
  limit: number;
}

export interface EntitlementService {
  /** Creates them all or none: a duplicate or an unknown owner anywhere refuses the whole batch. */
  create(actor: Actor, applicationId: string, inputs: EntitlementInput[]): Promise<Entitlement[]>;
  listForApplication(applicationId: string, page: { after?: unknown[]; limit: number }): Promise<KeyPage<Entitlement>>;
  search(filter: EntitlementSearchInput): Promise<KeyPage<Entitlement>>;
}

export const toEntitlement = (r: EntitlementRow): Entitlement => ({
  id: r.id,
  applicationId: r.application_id,
  kind: r.kind as EntitlementKind,
  nativeValue: r.native_value,
  name: r.name,
  description: r.description,
  ownerId: r.owner_id,
  requestable: r.requestable,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const duplicate = (problems: Problem[]) => new StewardError('entitlement.duplicate', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });

/** Refuses names that are blank or padded: they look equal in every list and are not. */
function nameProblems(inputs: EntitlementInput[]): Problem[] {
  const problems: Problem[] = [];
  inputs.forEach((e, i) => {
    if (e.name.trim() === '' || e.name.trim() !== e.name) problems.push({ code: 'request.invalid', field: `entitlements[${i}].name`, message: 'must not be empty or start or end with spaces' });
    if (e.nativeValue.trim() === '') problems.push({ code: 'request.invalid', field: `entitlements[${i}].nativeValue`, message: 'must not be blank' });
  });
  return problems;
}

async function checkOwners(trx: Executor, inputs: EntitlementInput[]): Promise<void> {
  const ids = [...new Set(inputs.map((e) => e.ownerId).filter((o): o is string => typeof o === 'string'))];
  if (ids.length === 0) return;
  const found = new Set((await trx.selectFrom('identities').select('id').where('id', 'in', ids).execute()).map((r) => r.id));
  const problems: Problem[] = [];
  inputs.forEach((e, i) => {
    if (e.ownerId && !found.has(e.ownerId)) problems.push({ code: 'entitlement.owner_not_found', field: `entitlements[${i}].ownerId`, message: `no identity has id ${e.ownerId}` });
  });
  if (problems.length > 0) throw new StewardError('entitlement.owner_not_found', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
}

/** Entitlements: what each application offers, searchable across applications. */
export function createEntitlementService(db: Db): EntitlementService {
  const requireApplication = async (ex: Executor, id: string, lock = false) => {
    const app = await getApplicationRow(ex, id, lock);
    if (!app) throw new StewardError('application.not_found', `no application has id ${id}`);
    return app;
  };

  return {
    async create(actor, applicationId, inputs) {
      const bad = nameProblems(inputs);
      if (bad.length > 0) throw new StewardError('request.invalid', bad.map((p) => `${p.field}: ${p.message}`).join('; '), { problems: bad });
      const seen = new Map<string, number>();
      const twice: Problem[] = [];
      inputs.forEach((e, i) => {
        const key = `${e.kind}\n${e.nativeValue}`;
        const first = seen.get(key);
        if (first !== undefined) twice.push({ code: 'entitlement.duplicate', field: `entitlements[${i}].nativeValue`, message: `repeats entitlements[${first}] (${e.kind} '${e.nativeValue}')` });
        else seen.set(key, i);
      });
      if (twice.length > 0) throw duplicate(twice);
      try {
        return await db.tx(async (trx) => {
          // The lock keeps a concurrent delete of the application from racing the insert.
          await requireApplication(trx, applicationId, true);
          const existing = await entitlementsByKeys(trx, applicationId, inputs);
          if (existing.length > 0) {
            const taken = new Set(existing.map((r) => `${r.kind}\n${r.native_value}`));
            throw duplicate(
              inputs.flatMap((e, i) => (taken.has(`${e.kind}\n${e.nativeValue}`) ? [{ code: 'entitlement.duplicate', field: `entitlements[${i}].nativeValue`, message: `the application has a ${e.kind} '${e.nativeValue}' already` }] : [])),
            );
          }
          await checkOwners(trx, inputs);
          const rows = await insertEntitlements(
            trx,
            inputs.map((e) => ({
              application_id: applicationId,
              kind: e.kind,
              native_value: e.nativeValue,
              name: e.name,
              description: e.description ?? null,
              owner_id: e.ownerId ?? null,
              requestable: e.requestable ?? true,
              attributes: '{}',
            })),
          );
          const created = rows.map(toEntitlement);
          await appendAudit(trx, created.map((e) => ({ actor: actorLabel(actor), action: 'entitlement.create', objectType: 'entitlement', objectId: e.id, after: e })));
          return created;
        });
      } catch (e) {
        // A concurrent writer got there between the check and the insert.
        if (isUniqueViolation(e)) throw duplicate([{ code: 'entitlement.duplicate', field: 'entitlements', message: 'an entitlement with one of these kinds and native values was created meanwhile' }]);
        if (isForeignKeyViolation(e)) throw new StewardError('entitlement.owner_not_found', 'entitlements: an owner was deleted meanwhile');
        throw e;
      }
    },

    async listForApplication(applicationId, page) {
      const after = checkKey(page.after, ['s', 's']);
      await requireApplication(db.k, applicationId);
      const rows = await listApplicationEntitlementRows(db.k, applicationId, after as [string, string] | undefined, page.limit + 1);
      return keyPage(rows, page.limit, (r) => [r.kind, r.native_value], toEntitlement);
    },

    async search(f) {
      const after = checkKey(f.after, ['s', 'u']);
      const rows = await searchEntitlementRows(db.k, {
        applicationId: f.applicationId,
        kind: f.kind,
        name: f.name,
        ownerId: f.ownerId,
        requestable: f.requestable,
        after: after as [string, string] | undefined,
        limit: f.limit + 1,
      });
      return keyPage(rows, f.limit, (r) => [r.sort_name, r.id], toEntitlement);
    },
  };
}
