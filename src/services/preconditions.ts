import { StewardError } from '../domain/errors.ts';

/** Optimistic concurrency: the versions a write may apply to (an HTTP If-Match, already parsed). */
export interface Preconditions {
  /** `*` matches any existing resource; a list names the versions accepted. */
  ifMatch?: '*' | readonly number[];
}

/** Throws `request.precondition_failed` unless `current` is a version the caller accepts. */
export function checkVersion(current: number, pre: Preconditions | undefined): void {
  const m = pre?.ifMatch;
  if (m === undefined || m === '*' || m.includes(current)) return;
  const wanted = m.length === 0 ? 'a version this resource never had' : m.map((v) => `W/"${v}"`).join(', ');
  throw new StewardError('request.precondition_failed', `If-Match: the resource is at version W/"${current}", not ${wanted}; read it again and retry`, {
    problems: [{ code: 'request.precondition_failed', field: 'If-Match', message: `the resource is at W/"${current}"` }],
  });
}
