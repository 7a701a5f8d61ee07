/** The connector kinds Steward ships with. */
import type { ConnectorKind } from './contract.ts';
import { csvKind } from './csv/index.ts';
import { ldapKind } from './ldap/index.ts';
import { gitlabKind } from './gitlab/index.ts';
import { restKind } from './rest/index.ts';
import { scimKind } from './scim/index.ts';

export const BUILT_IN_KINDS: readonly ConnectorKind[] = [scimKind, csvKind, ldapKind, restKind, gitlabKind];
