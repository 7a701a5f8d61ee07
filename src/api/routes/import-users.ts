import { Transform, type Readable } from 'node:stream';
import { Type } from 'typebox';
import { StewardError } from '../../domain/errors.ts';
import { importUsers, type ImportOptions } from '../../services/import-users.ts';
import { IMPORT_TARGETS } from '../../services/import-mapping.ts';
import { actorOf, type RouteSpec } from '../route.ts';
import { errors } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const RowProblem = Type.Object({ line: Type.Integer(), key: Type.Optional(Type.String()), field: Type.Optional(Type.String()), reason: Type.String() });

export const ImportReportSchema = Type.Object({
  rows: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  rejectedCount: Type.Integer(),
  rejected: Type.Array(RowProblem),
  warnings: Type.Array(RowProblem),
  ignoredColumns: Type.Array(Type.String()),
});

/** Counts bytes through a stream and fails it past the limit, so an upload cannot exhaust the disk or memory. */
function limited(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(new StewardError('request.too_large', `the CSV is larger than the ${limit}-byte limit`));
      else done(null, chunk);
    },
  });
}

function parseMapping(text: string | undefined): ImportOptions['mapping'] {
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new StewardError('request.invalid', 'mapping: not JSON; give an object of CSV header → attribute', { problems: [{ code: 'request.invalid', field: 'query.mapping', message: 'is not JSON' }] });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new StewardError('request.invalid', 'mapping: must be an object of CSV header → attribute name', { problems: [{ code: 'request.invalid', field: 'query.mapping', message: 'must be an object of strings' }] });
  }
  return v as ImportOptions['mapping'];
}

/** The HR feed: a CSV upload that creates and updates identities. */
export function importRoutes({ services, importLimit }: RouteDeps): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/v2.0/CSV/importUsers',
      privilege: 'manage-users-and-groups',
      summary: 'Import identities from a CSV file (header row; streamed)',
      tags: ['identities'],
      bodyLimit: importLimit,
      schema: {
        description:
          `Send the CSV as the body with \`Content-Type: text/csv\`. Columns map to attributes by their usual names (${IMPORT_TARGETS.join(', ')}) ` +
          'or by the `mapping` parameter. Each row is written whole or not at all; the answer lists rejected rows with their line numbers.',
        querystring: Type.Object(
          {
            key: Type.Optional(Type.Union([Type.Literal('userName'), Type.Literal('externalId')], { default: 'userName' })),
            mapping: Type.Optional(Type.String({ maxLength: 10_000, description: 'JSON object: CSV header → attribute name or "ignore".' })),
            managerKey: Type.Optional(Type.Union([Type.Literal('userName'), Type.Literal('externalId'), Type.Literal('employeeNumber')])),
            delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ImportReportSchema, ...errors(400, 413, 415) },
      },
      handler: async (req) => {
        const q = req.query as { key: 'userName' | 'externalId'; mapping?: string; managerKey?: ImportOptions['managerKey']; delimiter?: string };
        const body = req.body as Readable | undefined;
        if (!body || typeof (body).pipe !== 'function') {
          throw new StewardError('request.unsupported_media_type', 'send the CSV as the request body with Content-Type: text/csv');
        }
        const stream = body.pipe(limited(importLimit));
        body.on('error', (e) => stream.destroy(e));
        return importUsers(services.db, actorOf(req), stream, {
          key: q.key,
          mapping: parseMapping(q.mapping),
          ...(q.managerKey ? { managerKey: q.managerKey } : {}),
          ...(q.delimiter ? { delimiter: q.delimiter } : {}),
        });
      },
    },
  ];
}
