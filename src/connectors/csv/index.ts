/** The `csv` connector kind. */
export { csvKind, createCsvConnector, csvCapabilities } from './connector.ts';
export { csvSettingsSchema } from './settings.ts';
export type { CsvSettings } from './settings.ts';
