import { ENTERPRISE_USER_URN, IDENTITY_KINDS, LIFECYCLE_STATUSES, STEWARD_USER_URN, type IdentityResource, type MultiValue } from '../domain/identity.ts';

/** The identity attributes a CSV column can be mapped to. */
export const IMPORT_TARGETS = [
  'userName', 'externalId', 'active', 'displayName', 'givenName', 'familyName', 'middleName', 'nickName', 'title',
  'userType', 'preferredLanguage', 'locale', 'timezone', 'email', 'phone', 'mobile', 'employeeNumber', 'costCenter',
  'organization', 'division', 'department', 'manager', 'kind', 'lifecycleStatus',
] as const;
export type ImportTarget = (typeof IMPORT_TARGETS)[number];

// Header names people use in HR exports, folded (lower case, no spaces, dashes, dots or underscores).
const ALIASES: Record<string, ImportTarget> = {
  username: 'userName', login: 'userName', externalid: 'externalId', active: 'active', enabled: 'active',
  displayname: 'displayName', givenname: 'givenName', firstname: 'givenName', namegivenname: 'givenName',
  familyname: 'familyName', lastname: 'familyName', surname: 'familyName', namefamilyname: 'familyName',
  middlename: 'middleName', nickname: 'nickName', title: 'title', jobtitle: 'title', usertype: 'userType',
  preferredlanguage: 'preferredLanguage', locale: 'locale', timezone: 'timezone', email: 'email', mail: 'email',
  emailaddress: 'email', workemail: 'email', phone: 'phone', phonenumber: 'phone', workphone: 'phone', mobile: 'mobile',
  mobilephone: 'mobile', employeenumber: 'employeeNumber', employeeid: 'employeeNumber', costcenter: 'costCenter',
  organization: 'organization', organisation: 'organization', division: 'division', department: 'department',
  manager: 'manager', managerusername: 'manager', kind: 'kind', type: 'kind', lifecyclestatus: 'lifecycleStatus',
  status: 'lifecycleStatus',
};

export const foldHeader = (h: string): string => h.toLowerCase().replace(/[\s_.-]/g, '');

/** The attribute a header names by default, if any. */
export const defaultTarget = (header: string): ImportTarget | undefined => ALIASES[foldHeader(header)];

const MAX_VALUE = 2048;
const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, y: true, n: false, '1': true, '0': false, active: true, inactive: false };

/** One cell's value applied to a resource, or the reason it cannot be. */
export function applyCell(r: IdentityResource, target: ImportTarget, raw: string): string | undefined {
  if (raw.includes('\u0000')) return 'contains a NUL character';
  if (raw.length > MAX_VALUE) return `is longer than ${MAX_VALUE} characters`;
  const v = raw.trim();
  const ent = () => (r[ENTERPRISE_USER_URN] ??= {});
  const st = () => (r[STEWARD_USER_URN] ??= {});
  const name = () => (r.name ??= {});
  const setOrDelete = <K extends string>(o: Partial<Record<K, unknown>>, k: K) => {
    if (v === '') delete o[k];
    else o[k] = v;
  };
  switch (target) {
    case 'userName':
    case 'externalId':
      // keys: checked by the caller
      if (v === '') return target === 'userName' ? 'is required' : undefined;
      r[target] = v;
      return undefined;
    case 'active': {
      if (v === '') return undefined;
      const b = BOOLEANS[v.toLowerCase()];
      if (b === undefined) return `'${v}' is not a boolean (true/false, yes/no, 1/0)`;
      r.active = b;
      return undefined;
    }
    case 'displayName':
    case 'nickName':
    case 'title':
    case 'userType':
    case 'preferredLanguage':
    case 'locale':
    case 'timezone':
      setOrDelete(r as Record<string, unknown>, target);
      return undefined;
    case 'givenName':
    case 'familyName':
    case 'middleName':
      setOrDelete(name(), target);
      return undefined;
    case 'email':
      if (v !== '' && !/^[^\s@]+@[^\s@]+$/.test(v)) return `'${v}' is not an email address`;
      r.emails = replaceTyped(r.emails, 'work', v, true);
      return undefined;
    case 'phone':
      r.phoneNumbers = replaceTyped(r.phoneNumbers, 'work', v, false);
      return undefined;
    case 'mobile':
      r.phoneNumbers = replaceTyped(r.phoneNumbers, 'mobile', v, false);
      return undefined;
    case 'employeeNumber':
    case 'costCenter':
    case 'organization':
    case 'division':
    case 'department':
      setOrDelete(ent(), target);
      return undefined;
    case 'manager':
      // resolved to an identity id by the importer
      return undefined;
    case 'kind':
      if (v === '') return undefined;
      if (!(IDENTITY_KINDS as readonly string[]).includes(v.toLowerCase())) return `'${v}' is not one of ${IDENTITY_KINDS.join(', ')}`;
      st().kind = v.toLowerCase() as (typeof IDENTITY_KINDS)[number];
      return undefined;
    case 'lifecycleStatus':
      if (v === '') return undefined;
      if (!(LIFECYCLE_STATUSES as readonly string[]).includes(v.toLowerCase())) return `'${v}' is not one of ${LIFECYCLE_STATUSES.join(', ')}`;
      st().lifecycleStatus = v.toLowerCase() as (typeof LIFECYCLE_STATUSES)[number];
      return undefined;
  }
}

function replaceTyped(list: MultiValue[] | undefined, type: string, value: string, primary: boolean): MultiValue[] | undefined {
  const rest = (list ?? []).filter((e) => e.type !== type).map((e) => (primary && value !== '' ? { ...e, primary: false } : e));
  const out = value === '' ? rest : [{ value, type, ...(primary ? { primary: true } : {}) }, ...rest];
  return out.length > 0 ? out : undefined;
}
