/**
 * The limits both plan readers enforce, so that a hostile or mistaken document costs
 * bounded time and memory: size is checked before any parsing, depth and the number of
 * problems while reading.
 */
export interface PlanReadLimits {
  /** Largest document accepted, in UTF-8 bytes; checked before parsing. Default 64 MiB. */
  maxBytes?: number;
  /** Deepest element (XML) or value (JSON) nesting accepted. Default 32; a plan needs about 8. */
  maxDepth?: number;
  /** Reading stops after this many problems. Default 100. */
  maxProblems?: number;
}

export const DEFAULT_PLAN_LIMITS: Required<PlanReadLimits> = {
  maxBytes: 64 * 1024 * 1024,
  maxDepth: 32,
  maxProblems: 100,
};

/** The limits with defaults filled in. */
export function resolveLimits(options: PlanReadLimits | undefined): Required<PlanReadLimits> {
  return {
    maxBytes: options?.maxBytes ?? DEFAULT_PLAN_LIMITS.maxBytes,
    maxDepth: options?.maxDepth ?? DEFAULT_PLAN_LIMITS.maxDepth,
    maxProblems: options?.maxProblems ?? DEFAULT_PLAN_LIMITS.maxProblems,
  };
}

/**
 * True when the input is at most `maxBytes` UTF-8 bytes. A string is judged by its length
 * first (UTF-8 never takes fewer bytes than UTF-16 code units), so an oversized string is
 * refused without a pass over it, and a small one needs no count at all.
 */
export function withinSize(input: string | Uint8Array, maxBytes: number): boolean {
  if (typeof input !== 'string') return input.byteLength <= maxBytes;
  if (input.length > maxBytes) return false;
  if (input.length * 3 <= maxBytes) return true;
  return Buffer.byteLength(input, 'utf8') <= maxBytes;
}

/** Describes the size limit for an error message. */
export function describeLimit(input: string | Uint8Array, maxBytes: number): string {
  const size = typeof input === 'string' ? `at least ${input.length}` : String(input.byteLength);
  return `the document is ${size} bytes, over the limit of ${maxBytes} bytes (${(maxBytes / 1048576).toFixed(maxBytes % 1048576 === 0 ? 0 : 2)} MiB); it was not read (raise maxBytes to accept larger plans)`;
}
