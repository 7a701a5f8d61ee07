/**
 * `application/x-www-form-urlencoded` bodies for the callback routes only (Slack's
 * interactions, the decision page's form): parsed into a flat object of strings, with the
 * raw text kept aside, because Slack signs the exact bytes it sent.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

const rawBodies = new WeakMap<FastifyRequest, string>();

/** The body as received, for routes in a scope with `registerFormParser`. */
export const rawBodyOf = (req: FastifyRequest): string | undefined => rawBodies.get(req);

/** Adds the form parser to `scope` (an encapsulated plugin scope, so other routes are unaffected). */
export function registerFormParser(scope: FastifyInstance): void {
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    rawBodies.set(req, text);
    const fields: Record<string, string> = {};
    // The first value of a repeated field wins; nothing here takes lists.
    for (const [k, v] of new URLSearchParams(text)) if (!(k in fields)) fields[k] = v;
    done(null, fields);
  });
}
