/** The `gitlab` kind against the contract suite, on the loopback GitLab API v4 server. */
import { gitlabKind } from '../../src/connectors/index.ts';
import { startGitlabServer } from '../support/gitlab-server.ts';
import type { GlUser } from '../support/gitlab-server.ts';
import { connectorContract } from './contract-suite.ts';
import type { TargetAccount } from './contract-suite.ts';
import { freePort } from '../support/free-port.ts';

const RETRIES = 2;

connectorContract({
  kind: gitlabKind,
  singleAttribute: 'job_title',
  multiAttribute: 'emails',
  multiValue: (name, tag) => `${name}.${tag}@example.org`,
  missingIdentity: '999999',
  createRequest: (name) => ({
    application: 'contract',
    op: 'Create',
    attributeRequests: [
      { name: 'username', op: 'Set', value: name },
      { name: 'name', op: 'Set', value: `Ada ${name}` },
      { name: 'email', op: 'Set', value: `${name}@example.org` },
      { name: 'emails', op: 'Set', value: [`${name}.a@example.org`] },
    ],
    permissionRequests: [],
  }),
  // GitLab has no unlock through its API.
  unsupportedRequest: (id) => ({ application: 'contract', op: 'Unlock', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }),
  async start() {
    const server = await startGitlabServer({ adminToken: 'glpat-contract-admin-0001' });
    const port = await freePort();
    const groupsOf = (u: GlUser) => server.groups().filter((g) => g.members.has(u.id)).map((g) => String(g.id));
    const toTarget = (u: GlUser): TargetAccount => ({
      values: (attribute) => (attribute === 'emails' ? u.emails.map((e) => e.email) : [String((u as unknown as Record<string, unknown>)[attribute])]),
      enabled: u.state === 'active',
      groups: groupsOf(u),
    });
    return {
      settings: { baseUrl: server.url, retries: RETRIES },
      secrets: { token: server.adminToken },
      unreachable: { settings: { baseUrl: `http://127.0.0.1:${port}`, retries: 0 }, secrets: { token: server.adminToken } },
      unreachableMessage: new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*is the server running`),
      unreachableKind: 'retryable',
      read: async (id) => {
        const u = server.users().find((x) => String(x.id) === id);
        return u === undefined ? null : toTarget(u);
      },
      identities: async () => server.users().map((u) => String(u.id)),
      seedAccounts: async (n, prefix) => server.seedUsers(n, prefix),
      seedGroup: async (name) => server.seedGroup(name),
      readGroup: async (id) => {
        const g = server.groups().find((x) => String(x.id) === id);
        return g === undefined ? null : { name: g.name };
      },
      busy: async () => {
        server.failNext(503, RETRIES + 1);
        return async () => undefined;
      },
      rateLimitNext: () => server.failNext(429, 1, 120),
      callCount: () => server.requests().length,
      stop: () => server.close(),
    };
  },
});
