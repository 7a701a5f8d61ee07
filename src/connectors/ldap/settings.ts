/** The settings of the `ldap` connector kind: JSON Schema, and the typed form the connector uses. */
import type { JsonSchema } from '../contract.ts';

export const ldapSettingsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'baseDn'],
  properties: {
    url: { type: 'string', pattern: '^ldaps?://[^/]+/?$', description: 'ldap://host:389 or ldaps://host:636 (protocol, host and port only).' },
    startTls: { type: 'boolean', default: false, description: 'Upgrade an ldap:// connection with StartTLS before binding.' },
    tlsCaPem: { type: 'string', description: 'PEM certificates of the CAs to trust for LDAPS/StartTLS, when the system’s are not the right ones.' },
    tlsRejectUnauthorized: { type: 'boolean', default: true, description: 'Refuse a server certificate that is not trusted (turn off only for tests).' },
    bindDn: { type: 'string', description: 'The DN to bind as; anonymous when absent.' },
    bindPassword: { type: 'string', writeOnly: true, description: 'The password of bindDn.' },
    baseDn: { type: 'string', minLength: 1, description: 'Where accounts live, e.g. ou=people,dc=example,dc=org.' },
    userFilter: { type: 'string', default: '(objectClass=inetOrgPerson)', description: 'Which entries under baseDn are accounts.' },
    userObjectClasses: { type: 'array', items: { type: 'string' }, minItems: 1, default: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'], description: 'The objectClass values of a created account; they also define the account schema.' },
    rdnAttribute: { type: 'string', default: 'uid', description: 'The naming attribute of a created account whose nativeIdentity is not a full DN.' },
    groupBaseDn: { type: 'string', minLength: 1, description: 'Where groups live; group membership is off without it.' },
    groupObjectClass: { enum: ['groupOfNames', 'groupOfUniqueNames'], default: 'groupOfNames', description: 'The kind of group: member (groupOfNames) or uniqueMember (groupOfUniqueNames).' },
    groupFilter: { type: 'string', description: 'Which entries under groupBaseDn are groups; (objectClass=<groupObjectClass>) by default.' },
    membershipLookup: {
      enum: ['preload', 'per_page', 'memberOf'],
      default: 'preload',
      description:
        'How a listing learns group memberships: read every group once first (one map entry per membership in memory), search the groups of each page (little memory, more traffic), or read the memberOf attribute (needs the memberof overlay or Active Directory).',
    },
    emptyGroupMember: { type: 'string', default: '', description: 'What stays in a groupOfNames when its last member leaves (the schema needs one member): the empty DN by default.' },
    disable: { enum: ['marker', 'ppolicy', 'none'], default: 'marker', description: 'How an account is disabled: a marker value in disableAttribute (works on any server), pwdAccountLockedTime (needs the ppolicy overlay; also gives lock state and Unlock), or not at all.' },
    disableAttribute: { type: 'string', default: 'description', description: 'The attribute that holds the marker (disable = marker).' },
    disableValue: { type: 'string', minLength: 1, default: 'steward:disabled', description: 'The marker value (disable = marker).' },
    passwordMode: { enum: ['exop', 'attribute'], default: 'exop', description: 'Set passwords with the Password Modify extended operation (the server hashes them), or by writing userPassword as given.' },
    pageSize: { type: 'integer', minimum: 1, maximum: 10000, default: 500, description: 'Entries per page of a paged search (Simple Paged Results).' },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 30000, description: 'Timeout of each LDAP operation, in milliseconds.' },
    connectTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 10000, description: 'Timeout of opening the connection.' },
  },
};

export interface LdapSettings {
  url: string;
  startTls: boolean;
  tlsCaPem?: string;
  tlsRejectUnauthorized: boolean;
  bindDn?: string;
  bindPassword?: string;
  baseDn: string;
  userFilter: string;
  userObjectClasses: string[];
  rdnAttribute: string;
  groups?: {
    baseDn: string;
    objectClass: 'groupOfNames' | 'groupOfUniqueNames';
    memberAttribute: 'member' | 'uniqueMember';
    filter: string;
    emptyMember: string;
    lookup: 'preload' | 'per_page' | 'memberOf';
  };
  disable: { mode: 'marker'; attribute: string; value: string } | { mode: 'ppolicy' } | { mode: 'none' };
  passwordMode: 'exop' | 'attribute';
  pageSize: number;
  timeoutMs: number;
  connectTimeoutMs: number;
}

/** The typed settings from settings already checked against ldapSettingsSchema (defaults applied). */
export function toLdapSettings(s: Record<string, unknown>): LdapSettings {
  const str = (k: string): string | undefined => (typeof s[k] === 'string' ? s[k] : undefined);
  const groupClass = s.groupObjectClass as 'groupOfNames' | 'groupOfUniqueNames';
  const groupBase = str('groupBaseDn');
  const mode = s.disable as 'marker' | 'ppolicy' | 'none';
  return {
    url: (s.url as string).replace(/\/$/, ''),
    startTls: s.startTls as boolean,
    ...(str('tlsCaPem') === undefined ? {} : { tlsCaPem: str('tlsCaPem') }),
    tlsRejectUnauthorized: s.tlsRejectUnauthorized as boolean,
    ...(str('bindDn') === undefined ? {} : { bindDn: str('bindDn') }),
    ...(str('bindPassword') === undefined ? {} : { bindPassword: str('bindPassword') }),
    baseDn: s.baseDn as string,
    userFilter: s.userFilter as string,
    userObjectClasses: s.userObjectClasses as string[],
    rdnAttribute: s.rdnAttribute as string,
    ...(groupBase === undefined
      ? {}
      : {
          groups: {
            baseDn: groupBase,
            objectClass: groupClass,
            memberAttribute: groupClass === 'groupOfNames' ? ('member' as const) : ('uniqueMember' as const),
            filter: str('groupFilter') ?? `(objectClass=${groupClass})`,
            emptyMember: s.emptyGroupMember as string,
            lookup: s.membershipLookup as 'preload' | 'per_page' | 'memberOf',
          },
        }),
    disable: mode === 'marker' ? { mode, attribute: s.disableAttribute as string, value: s.disableValue as string } : { mode },
    passwordMode: s.passwordMode as 'exop' | 'attribute',
    pageSize: s.pageSize as number,
    timeoutMs: s.timeoutMs as number,
    connectTimeoutMs: s.connectTimeoutMs as number,
  };
}
