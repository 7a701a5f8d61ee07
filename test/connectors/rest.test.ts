/** The `rest` kind against the contract suite, on the loopback REST server (page-number pagination). */
import { restKind } from '../../src/connectors/index.ts';
import { restSettingsFor, startRestServer } from '../support/rest-server.ts';
import type { RestUser } from '../support/rest-server.ts';
import { connectorContract } from './contract-suite.ts';
import type { TargetAccount } from './contract-suite.ts';
import { freePort } from '../support/free-port.ts';

const RETRIES = 2;

const toTarget = (u: RestUser): TargetAccount => ({
  values: (attribute) => {
    const v = (u as unknown as Record<string, unknown>)[attribute];
    if (Array.isArray(v)) return v.map(String);
    return typeof v === 'string' ? [v] : typeof v === 'boolean' ? [String(v)] : [];
  },
  enabled: u.active,
  groups: [...u.groups],
});

connectorContract({
  kind: restKind,
  singleAttribute: 'title',
  multiAttribute: 'emails',
  multiValue: (name, tag) => `${name}.${tag}@example.org`,
  missingIdentity: 'u-missing',
  createRequest: (name) => ({
    application: 'contract',
    op: 'Create',
    attributeRequests: [
      { name: 'login', op: 'Set', value: name },
      { name: 'emails', op: 'Set', value: [`${name}.a@example.org`] },
    ],
    permissionRequests: [],
  }),
  // No unlock operation is configured.
  unsupportedRequest: (id) => ({ application: 'contract', op: 'Unlock', nativeIdentity: id, attributeRequests: [], permissionRequests: [] }),
  async start() {
    const server = await startRestServer({ token: 'rest-contract-token-1', style: 'page' });
    const port = await freePort();
    const settings = { ...restSettingsFor(server.url, 'page'), retries: RETRIES };
    return {
      settings,
      secrets: { token: server.token },
      unreachable: { settings: { ...settings, baseUrl: `http://127.0.0.1:${port}`, retries: 0 }, secrets: { token: server.token } },
      unreachableMessage: new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*is the server running`),
      unreachableKind: 'retryable',
      read: async (id) => {
        const u = server.users().find((x) => x.id === id);
        return u === undefined ? null : toTarget(u);
      },
      identities: async () => server.users().map((u) => u.id),
      seedAccounts: async (n, prefix) => server.seedUsers(n, prefix),
      seedGroup: async (name) => server.seedGroup(name),
      readGroup: async (id) => {
        const g = server.groups().find((x) => x.id === id);
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
