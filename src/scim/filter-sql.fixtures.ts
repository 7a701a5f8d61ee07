// Users the filter tests query, in SCIM shape, with the columns a store would keep.
import { CORE_USER_SCHEMA_ID, ENTERPRISE_USER_SCHEMA_ID } from './schemas.ts';

export const IDS = {
  bjensen: '2819c223-7f76-453a-919d-413861904646',
  jsmith: '08e1d05d-121c-4561-8b96-473d93df9210',
  evil: 'c3a26dd3-27a0-4dec-a2ac-ce211e105f97',
  pct: '902c246b-6245-4190-8e05-00816be7344a',
  nobody: 'a5f0d9b8-0c4d-4a5c-9f0e-6f6d8c2f5b1e',
} as const;

export interface FixtureUser {
  id: string;
  resource: Record<string, unknown>;
}

const meta = (lastModified: string) => ({ resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified });

export const USERS: FixtureUser[] = [
  {
    id: IDS.bjensen,
    resource: {
      schemas: [CORE_USER_SCHEMA_ID, ENTERPRISE_USER_SCHEMA_ID],
      id: IDS.bjensen,
      externalId: '701984',
      userName: 'bjensen',
      name: { formatted: 'Ms. Barbara J Jensen, III', familyName: 'Jensen', givenName: 'Barbara' },
      title: 'Tour Guide',
      userType: 'Employee',
      active: true,
      emails: [
        { value: 'bjensen@example.com', type: 'work', primary: true },
        { value: 'babs@jensen.org', type: 'home' },
      ],
      ims: [{ value: 'bjensen@foo.com', type: 'xmpp' }],
      phoneNumbers: [{ value: '555-555-8377', type: 'work' }],
      addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', country: 'USA', primary: true }],
      x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx' }],
      [ENTERPRISE_USER_SCHEMA_ID]: { employeeNumber: '701984', department: 'Tour Operations', manager: { value: IDS.jsmith, displayName: 'John Smith' } },
      meta: meta('2011-05-13T04:42:34Z'),
    },
  },
  {
    id: IDS.jsmith,
    resource: {
      schemas: [CORE_USER_SCHEMA_ID],
      id: IDS.jsmith,
      externalId: 'ABC-def',
      userName: 'JSmith',
      name: { familyName: "O'Malley", givenName: 'John' },
      title: '',
      userType: 'Intern',
      active: false,
      emails: [{ value: 'j.smith@example.org', type: 'work' }],
      meta: meta('2012-01-01T00:00:00Z'),
    },
  },
  {
    id: IDS.evil,
    resource: {
      schemas: [CORE_USER_SCHEMA_ID],
      id: IDS.evil,
      userName: "x' OR 1=1 --",
      userType: 'Contractor',
      emails: [],
      meta: meta('2010-06-01T12:00:00.250Z'),
    },
  },
  {
    id: IDS.pct,
    resource: {
      schemas: [CORE_USER_SCHEMA_ID, ENTERPRISE_USER_SCHEMA_ID],
      id: IDS.pct,
      userName: '100%_sure\\path',
      emails: [{ value: 'p@example.com', type: 'other' }],
      [ENTERPRISE_USER_SCHEMA_ID]: { department: 'R&D' },
      meta: meta('2013-02-03T10:00:00+02:00'),
    },
  },
  {
    id: IDS.nobody,
    resource: { schemas: [CORE_USER_SCHEMA_ID], id: IDS.nobody, userName: 'nobody', displayName: 'Élodie Ünal', meta: meta('2014-12-31T23:59:59Z') },
  },
];
