/** The `rest` connector kind. */
export { restKind, createRestConnector, restCapabilities } from './connector.ts';
export type { RestConnector } from './connector.ts';
export { restSettingsSchema } from './settings.ts';
export type { RestSettings } from './settings.ts';
