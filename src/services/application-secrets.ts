/**
 * An application's secrets: sealed one by one with the SecretBox before they are stored,
 * shown only as a mask, and merged on update so that a client never has to send them again.
 */
import { SECRET_MASK } from '../domain/application.ts';
import type { Problem } from '../domain/result.ts';
import type { SecretBox } from '../store/crypto.ts';

/** What a request says about secrets: a new value, the mask (keep), or null (remove). */
export type SecretsInput = Record<string, string | null>;

export interface MergedSecrets {
  /** Sealed values, as stored. */
  sealed: Record<string, string>;
  /** Plain values, to check against the connector; never stored, logged or answered. */
  plain: Record<string, string>;
  /** Names whose value was set or removed by this request. */
  changed: string[];
  problems: Problem[];
}

const MAX_SECRET_LENGTH = 16_384;

/**
 * Merges a request's secrets into the stored ones: a value omitted or sent as the mask keeps
 * the stored one, null removes it, any other string replaces it.
 */
export function mergeSecrets(box: SecretBox, stored: Record<string, string>, given: SecretsInput | undefined): MergedSecrets {
  const sealed: Record<string, string> = { ...stored };
  const plain: Record<string, string> = Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, box.open(v)]));
  const changed: string[] = [];
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(given ?? {})) {
    const field = `secrets.${name}`;
    if (value === null) {
      if (name in sealed) changed.push(name);
      delete sealed[name];
      delete plain[name];
    } else if (value === SECRET_MASK) {
      if (!(name in stored)) problems.push({ code: 'application.invalid', field, message: `'${SECRET_MASK}' keeps the stored secret, and none is stored under this name` });
    } else if (value.length === 0 || value.length > MAX_SECRET_LENGTH) {
      problems.push({ code: 'application.invalid', field, message: `must hold 1 to ${MAX_SECRET_LENGTH} characters (send null to remove it)` });
    } else {
      sealed[name] = box.seal(value);
      plain[name] = value;
      changed.push(name);
    }
  }
  return { sealed, plain, changed, problems };
}

/** Secrets as every answer and audit event shows them: names only. */
export function maskSecrets(sealed: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(sealed).sort().map((k) => [k, SECRET_MASK]));
}
