/**
 * JSON with object keys sorted at every level and Dates as ISO strings, so the same value
 * always gives the same text (jsonb reorders keys; hashes must not depend on that).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(sortKeys);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[key];
    if (x !== undefined) out[key] = sortKeys(x);
  }
  return out;
}
