/**
 * Checks an application against its connector kind: the kind exists, the settings and
 * secrets fit its settings schema, and the capabilities and de-provisioning action are
 * ones the connector offers. Fills the defaults that depend on the connector.
 */
import { isConnectorError, validateSettings, type Capabilities, type ConnectorRegistry } from '../connectors/index.ts';
import { DEPROVISIONING_ACTIONS, type DeprovisioningAction } from '../domain/policies.ts';
import type { Problem } from '../domain/result.ts';

export interface ConnectorCheckInput {
  connectorKind: string;
  settings: Record<string, unknown>;
  /** Plain secret values, the stored ones merged in. */
  secrets: Record<string, string>;
  /** As given; undefined takes every operation the connector offers. */
  capabilities: string[] | undefined;
  /** As given; undefined takes the mildest action the connector offers. */
  deprovisioningAction: DeprovisioningAction | undefined;
}

export interface ConnectorCheckResult {
  problems: Problem[];
  capabilities: string[];
  deprovisioningAction: DeprovisioningAction;
}

const problem = (field: string, message: string): Problem => ({ code: 'application.invalid', field, message });

function capabilitiesOf(registry: ConnectorRegistry, input: ConnectorCheckInput): Capabilities | Problem[] {
  const kind = registry.get(input.connectorKind);
  if (!kind) {
    const known = registry.list().map((k) => k.name);
    return [problem('connectorKind', `'${input.connectorKind}' is not a connector kind; known kinds: ${known.join(', ')}`)];
  }
  const secretNames = new Set(kind.secretSettings);
  const misplaced = Object.keys(input.secrets)
    .filter((name) => !secretNames.has(name))
    .map((name) => problem(`secrets.${name}`, `is not a secret setting of the ${kind.name} connector kind${kind.secretSettings.length > 0 ? ` (it has ${kind.secretSettings.join(', ')})` : ''}`));
  const secrets = Object.fromEntries(Object.entries(input.secrets).filter(([name]) => secretNames.has(name)));
  const checked = validateSettings(kind.settingsSchema, input.settings, secrets);
  if (!checked.ok || misplaced.length > 0) {
    // The connector names a setting alone; say which object it belongs in. Never a value.
    const fromSchema = checked.ok
      ? []
      : checked.errors.map((p) => {
          const top = (p.field ?? '').split('.')[0] ?? '';
          const where = p.code !== 'connector.secret_in_settings' && secretNames.has(top) ? 'secrets' : 'settings';
          return problem(`${where}.${p.field ?? ''}`, p.message);
        });
    return [...misplaced, ...fromSchema];
  }
  try {
    // Factories are plain (no I/O until an operation is called); this one is only asked what it can do.
    const connector = kind.create({ settings: input.settings, secrets: input.secrets });
    const capabilities = connector.capabilities;
    void connector.close().catch(() => undefined);
    return capabilities;
  } catch (e) {
    // A kind's own checks (the rest kind's templates) name their setting; keep each problem apart.
    if (isConnectorError(e) && e.problems.length > 0) return e.problems.map((p) => problem(p.field === undefined ? 'settings' : `settings.${p.field}`, p.message));
    return [problem('settings', `the ${kind.name} connector refused them: ${(e as Error).message}`)];
  }
}

/** Problems of the application against its connector kind, and the connector-dependent defaults. */
export function checkAgainstConnector(registry: ConnectorRegistry, input: ConnectorCheckInput): ConnectorCheckResult {
  const fallbackAction = input.deprovisioningAction ?? 'Suspend';
  const caps = capabilitiesOf(registry, input);
  if (Array.isArray(caps)) return { problems: caps, capabilities: input.capabilities ?? [], deprovisioningAction: fallbackAction };
  const problems: Problem[] = [];
  const offered = new Set<string>(caps.operations);
  (input.capabilities ?? []).forEach((c, i) => {
    if (!offered.has(c)) problems.push(problem(`capabilities[${i}]`, `'${c}' is not an operation of the ${input.connectorKind} connector (it offers ${caps.operations.join(', ')})`));
  });
  // A kind that can perform none leaves de-provisioning to people (an ActionFlow), whatever the action's name.
  const actions = caps.deprovisioning;
  let action = input.deprovisioningAction;
  if (action === undefined) action = DEPROVISIONING_ACTIONS.find((a) => actions.includes(a)) ?? 'Suspend';
  else if (actions.length > 0 && !actions.includes(action)) {
    problems.push(problem('deprovisioningPolicy.action', `the ${input.connectorKind} connector cannot ${action}; it offers ${actions.join(', ')}`));
  }
  return { problems, capabilities: input.capabilities ?? [...caps.operations], deprovisioningAction: action };
}
