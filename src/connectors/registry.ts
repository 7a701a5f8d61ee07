/** Connector kinds by name: the one place that knows which kinds exist. */
import type { ConnectorKind } from './contract.ts';

export interface ConnectorRegistry {
  /** The kind with this name, or undefined. */
  get(name: string): ConnectorKind | undefined;
  /** Every kind, in the order registered. */
  list(): ConnectorKind[];
}

/** A registry of the given kinds; refuses two kinds with one name. */
export function createRegistry(kinds: readonly ConnectorKind[]): ConnectorRegistry {
  const byName = new Map<string, ConnectorKind>();
  for (const kind of kinds) {
    if (byName.has(kind.name)) throw new Error(`connector kind '${kind.name}' is registered twice`);
    byName.set(kind.name, kind);
  }
  return {
    get: (name) => byName.get(name),
    list: () => [...byName.values()],
  };
}
