import { Type, type TSchema } from 'typebox';

/** The error body every v1.0 route may answer with. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      problems: Type.Array(
        Type.Object({
          code: Type.String(),
          message: Type.String(),
          field: Type.Optional(Type.String()),
          line: Type.Optional(Type.Integer()),
          column: Type.Optional(Type.Integer()),
        }),
      ),
    }),
    requestId: Type.String(),
  },
  { $id: 'Error' },
);

const errorRef = Type.Unsafe<unknown>({ $ref: 'Error#' });

/** Error responses for a route's schema, by status. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [401, 403, ...statuses]) out[s] = errorRef;
  return out;
}

/** Keyset pagination: `limit` and an opaque `cursor` from the previous page. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page (1–1000).' })),
  cursor: Type.Optional(Type.String({ maxLength: 1000, description: 'The `nextCursor` of the previous page.' })),
};

/** A page of items, with the cursor of the next page (null on the last). */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const Uuid = Type.String({ format: 'uuid' });
export const IdParam = (name: string) => Type.Object({ [name]: Uuid }, { additionalProperties: false });
export const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
