/**
 * The one bare number a duration may be: `0`. YAML reads `rpo: 0` as the number 0, while the
 * schema's durations are strings (`30s`, or `0` alone), so the loader turns that number into
 * the string `0` before validation, wherever the schema expects a duration. Doing it there,
 * not with a zod transform, keeps the types (a duration is a string, for parseDuration), the
 * JSON Schema (which cannot hold a transform) and its reference (which names formats by their
 * pattern) as they are. Any other bare number stays a number and is refused with a hint to
 * write its unit: `5` could be seconds or minutes, and a guess would move an RPO by 60x.
 */
import type { PathSegment } from './findings.js';
import { Cadence, Duration, DurationRange, PlanSchema } from './schema.js';
import { childSchemas, defOf, reach, unwrap } from './schema-walk.js';

/** The patterns of the string formats that are or contain a duration. */
export const DURATION_FORMAT_PATTERNS: ReadonlySet<string> = new Set(
  [Duration, DurationRange, Cadence].flatMap(patternsOf),
);

function patternsOf(schema: unknown): string[] {
  const checks = (defOf(schema)?.checks as unknown[] | undefined) ?? [];
  return checks.flatMap((check) => {
    const pattern = defOf(check)?.pattern;
    return pattern instanceof RegExp ? [pattern.source] : [];
  });
}

function isDurationFormat(schema: unknown): boolean {
  return defOf(schema)?.type === 'string' && patternsOf(schema).some((p) => DURATION_FORMAT_PATTERNS.has(p));
}

/** A schema that takes a number as it is: then a number there is not a duration. */
function acceptsNumber(schema: unknown): boolean {
  const def = defOf(schema);
  if (!def) return false;
  if (def.type === 'literal') return (def.values as unknown[]).some((v) => typeof v === 'number');
  return ['number', 'int', 'bigint', 'any', 'unknown'].includes(def.type);
}

/** The schemas may hold a duration, and none of them a number. */
function expectsDuration(schemas: readonly unknown[]): boolean {
  const here = schemas.flatMap(unwrap);
  return here.some(isDurationFormat) && !here.some(acceptsNumber);
}

/** True when the plan's key at `path` is a duration (or a range, or a cadence). */
export function isDurationField(path: readonly PathSegment[]): boolean {
  return expectsDuration(reach(PlanSchema, path));
}

/** The plan's data with every bare `0` where a duration is expected turned into `'0'`. */
export function normaliseDurations(data: unknown): unknown {
  return walk(data, [PlanSchema]);
}

function walk(value: unknown, schemas: readonly unknown[]): unknown {
  if (schemas.length === 0) return value;
  if (value === 0) return expectsDuration(schemas) ? '0' : value;
  if (Array.isArray(value)) return value.map((item, i) => walk(item, childSchemas(schemas, i)));
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, walk(item, childSchemas(schemas, key))]),
  );
}
