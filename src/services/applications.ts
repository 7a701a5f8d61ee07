import { actorLabel, type Actor } from '../domain/actor.ts';
import { definitionProblems, type ApplicationDefinition } from '../domain/application.ts';
import type { AttributeMapping } from '../domain/attribute-mappings.ts';
import { StewardError } from '../domain/errors.ts';
import { DEFAULT_ADOPTION, DEFAULT_DEPROVISIONING, withRemediationDefaults, type AdoptionPolicy, type DeprovisioningAction, type DeprovisioningPolicy, type RemediationPolicy } from '../domain/policies.ts';
import type { Problem } from '../domain/result.ts';
import type { AccountSchema } from '../domain/schema.ts';
import type { ConnectorRegistry } from '../connectors/index.ts';
import { applicationUsage, deleteApplicationRow, getApplicationRow, insertApplication, listApplicationRows, updateApplicationRow } from '../store/applications.ts';
import { appendAudit } from '../store/audit.ts';
import type { SecretBox } from '../store/crypto.ts';
import type { Db, Executor } from '../store/db.ts';
import { isForeignKeyViolation, isUniqueViolation } from '../store/errors.ts';
import type { ApplicationRow } from '../store/tables.ts';
import { checkAgainstConnector } from './application-connector.ts';
import { maskSecrets, mergeSecrets, type SecretsInput } from './application-secrets.ts';
import { checkKey, keyPage, type KeyPage } from './paging.ts';

/** An application as the API shows it: secrets by name only, each masked. */
export interface Application extends ApplicationDefinition {
  id: string;
  secrets: Record<string, string>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What a create or a full replacement gives; what it leaves out takes its default. */
export interface ApplicationInput {
  name: string;
  description?: string | null;
  ownerId?: string | null;
  connectorKind: string;
  settings?: Record<string, unknown>;
  /** A value sets the secret; the mask or leaving it out keeps the stored one; null removes it. */
  secrets?: SecretsInput;
  accountSchema?: AccountSchema;
  capabilities?: string[];
  attributeMappings?: AttributeMapping[];
  deprovisioningPolicy?: { action?: DeprovisioningAction; gracePeriod?: string };
  adoptionPolicy?: AdoptionPolicy;
  remediationPolicy?: Partial<RemediationPolicy>;
}

export interface ApplicationFilter {
  namePrefix?: string;
  connectorKind?: string;
  after?: unknown[];
  limit: number;
}

export interface ApplicationService {
  create(actor: Actor, input: ApplicationInput): Promise<Application>;
  list(filter: ApplicationFilter): Promise<KeyPage<Application>>;
  get(id: string): Promise<Application>;
  /** Replaces the definition; `version` must be the one last read (else `store.conflict`). */
  update(actor: Actor, id: string, input: ApplicationInput & { version: number }): Promise<Application>;
  /** Deletes the application; one with accounts or live assignments only when `force`, taking them along. */
  remove(actor: Actor, id: string, options: { force: boolean }): Promise<void>;
}

export function toApplication(r: ApplicationRow): Application {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    ownerId: r.owner_id,
    connectorKind: r.connector_kind,
    settings: r.settings,
    secrets: maskSecrets(r.secrets),
    accountSchema: r.account_schema as AccountSchema,
    capabilities: r.capabilities as string[],
    attributeMappings: r.attribute_mappings as AttributeMapping[],
    deprovisioningPolicy: r.deprovisioning_policy as DeprovisioningPolicy,
    adoptionPolicy: r.adoption_policy as AdoptionPolicy,
    remediationPolicy: r.remediation_policy as RemediationPolicy,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const notFound = (id: string) => new StewardError('application.not_found', `no application has id ${id}`);
const duplicateName = (name: string) =>
  new StewardError('application.duplicate_name', `name: an application named '${name}' exists already`, { problems: [{ code: 'application.duplicate_name', field: 'name', message: `an application named '${name}' exists already` }] });
const ownerNotFound = (id: string) =>
  new StewardError('application.owner_not_found', `ownerId: no identity has id ${id}`, { problems: [{ code: 'application.owner_not_found', field: 'ownerId', message: `no identity has id ${id}` }] });

function invalid(problems: Problem[]): StewardError {
  return new StewardError('application.invalid', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { problems });
}

async function checkOwner(db: Executor, ownerId: string | null): Promise<void> {
  if (ownerId === null) return;
  const r = await db.selectFrom('identities').select('id').where('id', '=', ownerId).executeTakeFirst();
  if (!r) throw ownerNotFound(ownerId);
}

/** Applications: the target systems, with their connector, schema and policies. */
export function createApplicationService(deps: { db: Db; secrets: SecretBox; connectors: ConnectorRegistry }): ApplicationService {
  const { db } = deps;

  // Everything but the database checks: defaults, secrets, the connector and the definition's own rules.
  const prepare = (input: ApplicationInput, storedSecrets: Record<string, string>) => {
    const merged = mergeSecrets(deps.secrets, storedSecrets, input.secrets);
    const settings = input.settings ?? {};
    const connector = checkAgainstConnector(deps.connectors, {
      connectorKind: input.connectorKind,
      settings,
      secrets: merged.plain,
      capabilities: input.capabilities,
      deprovisioningAction: input.deprovisioningPolicy?.action,
    });
    const definition: ApplicationDefinition = {
      name: input.name,
      description: input.description ?? null,
      ownerId: input.ownerId ?? null,
      connectorKind: input.connectorKind,
      settings,
      accountSchema: input.accountSchema ?? { attributes: [] },
      capabilities: connector.capabilities,
      attributeMappings: input.attributeMappings ?? [],
      deprovisioningPolicy: { action: connector.deprovisioningAction, gracePeriod: input.deprovisioningPolicy?.gracePeriod ?? DEFAULT_DEPROVISIONING.gracePeriod },
      adoptionPolicy: input.adoptionPolicy ?? DEFAULT_ADOPTION,
      remediationPolicy: withRemediationDefaults(input.remediationPolicy),
    };
    const problems = [...merged.problems, ...definitionProblems(definition), ...connector.problems];
    if (problems.length > 0) throw invalid(problems);
    return { definition, sealed: merged.sealed, changedSecrets: merged.changed };
  };

  const columns = (d: ApplicationDefinition, sealed: Record<string, string>) => ({
    name: d.name,
    description: d.description,
    owner_id: d.ownerId,
    connector_kind: d.connectorKind,
    settings: JSON.stringify(d.settings),
    secrets: JSON.stringify(sealed),
    account_schema: JSON.stringify(d.accountSchema),
    capabilities: JSON.stringify(d.capabilities),
    attribute_mappings: JSON.stringify(d.attributeMappings),
    deprovisioning_policy: JSON.stringify(d.deprovisioningPolicy),
    adoption_policy: JSON.stringify(d.adoptionPolicy),
    remediation_policy: JSON.stringify(d.remediationPolicy),
  });

  const translate = (e: unknown, d: ApplicationDefinition): unknown => {
    if (isUniqueViolation(e, 'applications_name_key')) return duplicateName(d.name);
    if (isForeignKeyViolation(e) && d.ownerId !== null) return ownerNotFound(d.ownerId);
    return e;
  };

  return {
    async create(actor, input) {
      const { definition, sealed } = prepare(input, {});
      try {
        return await db.tx(async (trx) => {
          await checkOwner(trx, definition.ownerId);
          const app = toApplication(await insertApplication(trx, columns(definition, sealed)));
          await appendAudit(trx, [{ actor: actorLabel(actor), action: 'application.create', objectType: 'application', objectId: app.id, after: app }]);
          return app;
        });
      } catch (e) {
        throw translate(e, definition);
      }
    },

    async list(f) {
      const after = checkKey(f.after, ['s']);
      const rows = await listApplicationRows(db.k, { namePrefix: f.namePrefix, connectorKind: f.connectorKind, afterName: after?.[0], limit: f.limit + 1 });
      return keyPage(rows, f.limit, (r) => [r.sort_name], toApplication);
    },

    async get(id) {
      const r = await getApplicationRow(db.k, id);
      if (!r) throw notFound(id);
      return toApplication(r);
    },

    async update(actor, id, input) {
      let definition: ApplicationDefinition | undefined;
      try {
        return await db.tx(async (trx) => {
          const before = await getApplicationRow(trx, id, true);
          if (!before) throw notFound(id);
          if (before.version !== input.version) {
            throw new StewardError('store.conflict', `version: the application is at version ${before.version}, not ${input.version}; read it again and reapply the change`, {
              problems: [{ code: 'store.conflict', field: 'version', message: `is ${before.version} now` }],
            });
          }
          const prepared = prepare(input, before.secrets);
          definition = prepared.definition;
          await checkOwner(trx, definition.ownerId);
          const app = toApplication(await updateApplicationRow(trx, id, columns(definition, prepared.sealed)));
          // The audit shows which secrets changed, never their values or sealed form.
          const after = prepared.changedSecrets.length > 0 ? { ...app, secretsChanged: prepared.changedSecrets.sort() } : app;
          await appendAudit(trx, [{ actor: actorLabel(actor), action: 'application.update', objectType: 'application', objectId: id, before: toApplication(before), after }]);
          return app;
        });
      } catch (e) {
        throw definition ? translate(e, definition) : e;
      }
    },

    async remove(actor, id, { force }) {
      await db.tx(async (trx) => {
        const before = await getApplicationRow(trx, id, true);
        if (!before) throw notFound(id);
        const usage = await applicationUsage(trx, id);
        if (!force && (usage.accounts > 0 || usage.liveAssignments > 0)) {
          throw new StewardError(
            'application.in_use',
            `application '${before.name}' has ${usage.accounts} account(s) and ${usage.liveAssignments} live assignment(s); delete with force=true to remove them too`,
          );
        }
        await deleteApplicationRow(trx, id);
        await appendAudit(trx, [{ actor: actorLabel(actor), action: 'application.delete', objectType: 'application', objectId: id, before: toApplication(before), after: { deleted: true, cascaded: usage } }]);
      });
    },
  };
}
