/**
 * Checks of script metadata shared by the runners: when a chain is saved (placeholders not
 * yet filled: a number may still be `{{outputs.0.iid}}`), and when a script runs (filled:
 * a placeholder that came out empty is an error naming its field, and a permanent one).
 */
import { ConnectorError } from '../../connectors/index.ts';
import type { Problem } from '../../domain/result.ts';

export type FieldKind =
  /** A non-empty string. */
  | 'string'
  /** A string or a number (an id, an issue iid, a count), or a placeholder for one. */
  | 'id'
  | 'boolean'
  | 'object'
  /** An array of strings or numbers, one comma-separated string, or a placeholder. */
  | 'list'
  /** Any JSON value. */
  | 'json';

export interface FieldSpec {
  kind: FieldKind;
  required?: boolean;
  /** What the field is for, in the problem's message. */
  about?: string;
}

const PLACEHOLDER_ONLY = /^\{\{[^{}]*\}\}$/;

function kindProblem(kind: FieldKind, v: unknown): string | null {
  switch (kind) {
    case 'string':
      return typeof v === 'string' && v.trim() !== '' ? null : 'must be a non-empty string';
    case 'id':
      return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v)) ? null : 'must be a number or a non-empty string';
    case 'boolean':
      return typeof v === 'boolean' || (typeof v === 'string' && PLACEHOLDER_ONLY.test(v)) ? null : 'must be true or false';
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? null : 'must be an object';
    case 'list':
      if (typeof v === 'string') return v.trim() !== '' ? null : 'must not be empty';
      return Array.isArray(v) && v.length > 0 && v.every((x) => (typeof x === 'string' && x.trim() !== '') || typeof x === 'number') ? null : 'must be a non-empty list of strings or numbers';
    case 'json':
      return null;
  }
}

/** Every problem of `metadata` against `specs`: missing required fields, wrong types, unknown fields. */
export function checkFields(metadata: Record<string, unknown>, field: string, specs: Record<string, FieldSpec>): Problem[] {
  const problems: Problem[] = [];
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return [{ code: 'metadata.invalid', field, message: 'must be an object' }];
  for (const [name, spec] of Object.entries(specs)) {
    const v = metadata[name];
    if (v === undefined || v === null) {
      if (spec.required) problems.push({ code: 'metadata.required', field: `${field}.${name}`, message: `is required${spec.about ? ` (${spec.about})` : ''}` });
      continue;
    }
    const why = kindProblem(spec.kind, v);
    if (why) problems.push({ code: 'metadata.invalid', field: `${field}.${name}`, message: why });
  }
  for (const name of Object.keys(metadata)) {
    if (!(name in specs)) problems.push({ code: 'metadata.unknown_field', field: `${field}.${name}`, message: `is not a field of this script type (it takes ${Object.keys(specs).join(', ')})` });
  }
  return problems;
}

/** A permanent error for metadata that is unusable once filled in. */
export function badMetadata(field: string, message: string): ConnectorError {
  return new ConnectorError('permanent', 'invalid_request', `metadata.${field}: ${message}`, { problems: [{ code: 'metadata.invalid', field: `metadata.${field}`, message }] });
}

/** A required string of filled-in metadata. */
export function needText(metadata: Record<string, unknown>, name: string): string {
  const v = metadata[name];
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.trim() === '') throw badMetadata(name, v === '' ? 'is empty once its placeholders are filled in' : 'is required');
  return v;
}

/** An optional string of filled-in metadata; empty counts as absent. */
export function optText(metadata: Record<string, unknown>, name: string): string | undefined {
  const v = metadata[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw badMetadata(name, 'must be a string');
  return v;
}

/** A list field: an array, or a comma-separated string (a placeholder filled with text). Empty when absent. */
export function listOf(metadata: Record<string, unknown>, name: string): string[] {
  const v = metadata[name];
  if (v === undefined || v === null || v === '') return [];
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (typeof v === 'number') return [String(v)];
  if (Array.isArray(v)) return v.flatMap((x) => (typeof x === 'string' || typeof x === 'number' ? String(x).split(',') : [])).map((s) => s.trim()).filter((s) => s !== '');
  throw badMetadata(name, 'must be a list of strings');
}

/** A positive number of filled-in metadata, or undefined when absent. */
export function optNumber(metadata: Record<string, unknown>, name: string): number | undefined {
  const v = metadata[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw badMetadata(name, 'must be a non-negative number');
  return n;
}
