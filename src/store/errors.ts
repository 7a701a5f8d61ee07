/** Whether a database error is a unique violation (of the named constraint or index, if given). */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string; message?: string };
  if (err?.code !== '23505') return false;
  if (!constraint) return true;
  return err.constraint === constraint || (err.message ?? '').includes(`"${constraint}"`);
}

/** Whether a database error is a foreign-key violation. */
export const isForeignKeyViolation = (e: unknown): boolean => (e as { code?: string })?.code === '23503';
