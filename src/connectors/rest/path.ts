/**
 * Reading a value out of a JSON answer by a JSON Pointer (RFC 6901, `/data/0/id`) or a
 * dotted path (`data.items`, `profile.email`); the empty path is the whole document.
 */

/** The segments of a path; a pointer when it starts with `/`, else dots. */
export function pathSegments(path: string): string[] {
  if (path === '' || path === '/') return path === '/' ? [''] : [];
  if (path.startsWith('/')) return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return path.split('.');
}

/** The value at `path` in `doc`, or undefined where the path leads nowhere. */
export function readPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const seg of pathSegments(path)) {
    if (Array.isArray(cur) && /^\d+$/.test(seg)) cur = cur[Number(seg)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) cur = (cur as Record<string, unknown>)[seg];
    else return undefined;
  }
  return cur;
}
