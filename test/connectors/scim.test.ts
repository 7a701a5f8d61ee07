/** The `scim` kind against the contract suite, on the scimmy-based test server. */
import { scimKind } from '../../src/connectors/index.ts';
import { startScimServer } from '../support/scim-server.ts';
import type { ScimServer } from '../support/scim-server.ts';
import { connectorContract } from './contract-suite.ts';
import type { TargetAccount } from './contract-suite.ts';
import { freePort } from '../support/free-port.ts';

const RETRIES = 2;

connectorContract({
  kind: scimKind,
  singleAttribute: 'title',
  multiAttribute: 'emails',
  multiValue: (name, tag) => `${name}.${tag}@example.org`,
  missingIdentity: '00000000-0000-4000-8000-000000000000',
  createRequest: (name) => ({
    application: 'contract',
    op: 'Create',
    nativeIdentity: name,
    attributeRequests: [
      { name: 'name.givenName', op: 'Set', value: 'Ada' },
      { name: 'name.familyName', op: 'Set', value: name },
      { name: 'emails', op: 'Set', value: [`${name}.a@example.org`] },
      { name: 'password', op: 'Set', value: 'initial-Secret-1' },
    ],
    permissionRequests: [],
  }),
  // SCIM has no lock, so no unlock.
  unsupportedRequest: (id) => ({ application: 'contract', op: 'Unlock', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }),
  async start() {
    const server: ScimServer = await startScimServer({ token: 'contract-token-123' });
    const port = await freePort();
    const toTarget = (u: NonNullable<ReturnType<ScimServer['user']>>): TargetAccount => ({
      values: (attribute) => {
        const v = u[attribute];
        const text = (x: unknown): string => (typeof x === 'string' ? x : JSON.stringify(x));
        if (Array.isArray(v)) return v.map((e) => (e !== null && typeof e === 'object' ? text((e as { value: unknown }).value) : text(e)));
        return v === undefined ? [] : [text(v)];
      },
      enabled: u.active !== false,
      groups: Array.isArray(u.groups) ? (u.groups as { value: string }[]).map((g) => g.value) : [],
    });
    return {
      settings: { baseUrl: server.url, pageSize: 50, retries: RETRIES },
      secrets: { token: server.token },
      unreachable: { settings: { baseUrl: `http://127.0.0.1:${port}/scim/v2`, retries: 0 }, secrets: { token: server.token } },
      unreachableMessage: new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*is the server running`),
      unreachableKind: 'retryable',
      read: async (id) => {
        const u = server.users().find((x) => x.id === id);
        return u === undefined ? null : toTarget(u);
      },
      identities: async () => server.users().map((u) => u.id),
      seedAccounts: async (n, prefix) => {
        server.seedUsers(n, { prefix });
      },
      seedGroup: async (name) => server.seedGroup(name).id,
      readGroup: async (id) => {
        const g = server.groups().find((x) => x.id === id);
        return g === undefined ? null : { name: g.displayName };
      },
      // 503s are retried within the call (RETRIES times), so one more than that fails it.
      busy: async () => {
        server.failNext(503, RETRIES + 1);
        return async () => undefined;
      },
      // A Retry-After longer than the connector waits within a call is handed back at once.
      rateLimitNext: () => server.failNext(429, 1, 120),
      callCount: () => server.requests().length,
      stop: () => server.close(),
    };
  },
});
