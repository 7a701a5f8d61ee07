/** The `scim` connector kind. */
export { scimKind, createScimConnector, SCIM_CAPABILITIES } from './connector.ts';
export { scimSettingsSchema } from './settings.ts';
export type { ScimSettings } from './settings.ts';
