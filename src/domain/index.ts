export * from './actor.ts';
export * from './canonical-json.ts';
export * from './errors.ts';
export * from './privileges.ts';
export * from './result.ts';
export * from './schema.ts';
