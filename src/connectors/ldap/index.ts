/** The `ldap` connector kind. */
export { ldapKind, createLdapConnector, ldapCapabilities } from './connector.ts';
export { ldapSettingsSchema } from './settings.ts';
export type { LdapSettings } from './settings.ts';
