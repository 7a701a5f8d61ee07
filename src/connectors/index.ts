/** Connectors: the contract every kind follows, the shared helpers, and the built-in kinds. */
export type {
  AccountItem,
  ApplyError,
  ApplyResult,
  Connector,
  ConnectorKind,
  ConnectorLogger,
  ConnectorOptions,
  ConnectorSchema,
  CreatableKind,
  EntitlementItem,
  EntitlementRef,
  JsonSchema,
  ListOptions,
  NewEntitlement,
  Page,
  RequestOutcome,
  RequestStatus,
  TestResult,
} from './contract.ts';
export { CREATABLE_KINDS } from './contract.ts';
export { assertEntitlementOperation, createEntitlementWith, creatableKinds, deleteEntitlementWith, entitlementOperation } from './entitlement-ops.ts';
export { OPERATIONS, DEPROVISIONING_ACTIONS, MEMBERSHIP_OPERATIONS, checkSupported, neededOperations } from './capabilities.ts';
export type { Capabilities, DeprovisioningAction, NeededOperation, Operation } from './capabilities.ts';
export { ConnectorError, CONNECTOR_ERROR_CODES, CONNECTOR_ERROR_KINDS, isConnectorError, parseRetryAfter, secretScrubber } from './errors.ts';
export type { ConnectorErrorCode, ConnectorErrorKind } from './errors.ts';
export { validateSettings, secretSettingNames } from './settings.ts';
export { createRegistry } from './registry.ts';
export { createConnectorLimiter, maxConcurrencyOf, DEFAULT_MAX_CONCURRENCY } from './limiter.ts';
export type { ConnectorLimiter } from './limiter.ts';
export type { ConnectorRegistry } from './registry.ts';
export { BUILT_IN_KINDS } from './kinds.ts';
export { scimKind } from './scim/index.ts';
export { csvKind } from './csv/index.ts';
export { ldapKind } from './ldap/index.ts';
export { restKind } from './rest/index.ts';
export { gitlabKind, ACCESS_LEVELS } from './gitlab/index.ts';
export type { GitlabConnector } from './gitlab/index.ts';
export type { RestConnector } from './rest/index.ts';
