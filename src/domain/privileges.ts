/** API client privileges. Every route declares the one it needs; `admin` implies all. */
export const PRIVILEGES = [
  'manage-users-and-groups',
  'manage-applications',
  'manage-entitlements',
  'manage-lifecycle',
  'manage-requests',
  'approve',
  'read-audit',
  'admin',
] as const;

export type Privilege = (typeof PRIVILEGES)[number];

export const isPrivilege = (p: string): p is Privilege => (PRIVILEGES as readonly string[]).includes(p);

/** Whether a client holding `held` may do what needs `needed`. */
export function grants(held: readonly Privilege[], needed: Privilege): boolean {
  return held.includes('admin') || held.includes(needed);
}
