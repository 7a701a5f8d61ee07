/**
 * The GitLab REST API v4 calls the connector makes, through @gitbeaker's resource classes
 * (Users, UserEmails, Groups, GroupMembers) over the shared HTTP helper. Answers are the
 * API's own snake_case JSON.
 */
import { GroupMembers, Groups, UserEmails, Users } from '@gitbeaker/rest';
import type { HttpClient } from '../http.ts';
import { gitlabRequesterFn } from './requester.ts';

export interface GitlabUser {
  id: number;
  username: string;
  name: string;
  email?: string;
  job_title?: string;
  state: string;
  locked?: boolean;
  is_admin?: boolean;
}

export interface GitlabPage<T> {
  items: T[];
  /** From x-next-page; null on the last page. */
  next: number | null;
  total: number | null;
}

interface Expanded {
  data: unknown;
  paginationInfo?: { next: number | null; total: number };
}

function page<T>(r: unknown): GitlabPage<T> {
  const e = r as Expanded;
  const total = e.paginationInfo?.total;
  return { items: Array.isArray(e.data) ? (e.data as T[]) : [], next: e.paginationInfo?.next ?? null, total: total === undefined || Number.isNaN(total) ? null : total };
}

export interface GitlabApi {
  currentUser(): Promise<GitlabUser>;
  users(page: number, perPage: number): Promise<GitlabPage<GitlabUser>>;
  user(id: string): Promise<GitlabUser>;
  createUser(body: Record<string, unknown>): Promise<GitlabUser>;
  editUser(id: string, body: Record<string, unknown>): Promise<GitlabUser>;
  deleteUser(id: string): Promise<void>;
  block(id: string): Promise<void>;
  unblock(id: string): Promise<void>;
  emails(id: string): Promise<{ id: number; email: string }[]>;
  addEmail(id: string, email: string): Promise<void>;
  removeEmail(id: string, emailId: number): Promise<void>;
  /** The groups the user is a direct member of. */
  groupMemberships(id: string): Promise<{ source_id: number; source_name: string; access_level: number }[]>;
  groups(page: number, perPage: number): Promise<GitlabPage<{ id: number; name: string; full_path?: string; description?: string }>>;
  createGroup(name: string, path: string, options?: Record<string, unknown>): Promise<{ id: number; name: string }>;
  deleteGroup(id: string): Promise<void>;
  addMember(groupId: string, userId: string, accessLevel: number): Promise<void>;
  removeMember(groupId: string, userId: string): Promise<void>;
}

/** The API of the instance at `baseUrl`, authenticated by `token`. */
export function createGitlabApi(baseUrl: string, token: string, http: HttpClient): GitlabApi {
  // gitbeaker types its requesterFn with its own internal option types; ours has the same shape.
  const opts = { host: baseUrl, token, requesterFn: gitlabRequesterFn(http, token) } as unknown as ConstructorParameters<typeof Users>[0];
  const users = new Users(opts);
  const emails = new UserEmails(opts);
  const groups = new Groups(opts);
  const members = new GroupMembers(opts);
  const all = async <T>(get: (p: number) => Promise<GitlabPage<T>>): Promise<T[]> => {
    const out: T[] = [];
    for (let p: number | null = 1; p !== null; ) {
      const r = await get(p);
      out.push(...r.items);
      p = r.next;
    }
    return out;
  };
  return {
    currentUser: async () => (await users.showCurrentUser()) as unknown as GitlabUser,
    users: async (p, perPage) => page(await users.all({ page: p, perPage, showExpanded: true, orderBy: 'id', sort: 'asc' } as never)),
    user: async (id) => (await users.show(Number(id))) as unknown as GitlabUser,
    createUser: async (body) => (await users.create(body)) as unknown as GitlabUser,
    editUser: async (id, body) => (await users.edit(Number(id), body)) as unknown as GitlabUser,
    deleteUser: async (id) => {
      await users.remove(Number(id));
    },
    block: async (id) => {
      await users.block(Number(id));
    },
    unblock: async (id) => {
      await users.unblock(Number(id));
    },
    emails: (id) => all(async (p) => page(await emails.all({ userId: Number(id), page: p, perPage: 100, showExpanded: true } as never))),
    addEmail: async (id, email) => {
      await emails.create(email, { userId: Number(id), skipConfirmation: true });
    },
    removeEmail: async (id, emailId) => {
      await emails.remove(emailId, { userId: Number(id) });
    },
    groupMemberships: async (id) =>
      all<{ source_id: number; source_name: string; access_level: number }>(async (p) => page(await users.allMemberships(Number(id), { type: 'Namespace', page: p, perPage: 100, showExpanded: true } as never))),
    groups: async (p, perPage) => page(await groups.all({ page: p, perPage, showExpanded: true, allAvailable: true, orderBy: 'id', sort: 'asc' } as never)),
    createGroup: async (name, path, options) => await groups.create(name, path, options),
    deleteGroup: async (id) => {
      await groups.remove(id);
    },
    addMember: async (groupId, userId, accessLevel) => {
      await members.add(groupId, accessLevel, { userId: Number(userId) });
    },
    removeMember: async (groupId, userId) => {
      await members.remove(groupId, Number(userId));
    },
  };
}
