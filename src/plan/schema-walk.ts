/**
 * Walks the zod schema along a plan path, to tell the user which keys or values were
 * expected there (for "did you mean" hints). Reads zod's definitions only; validates nothing.
 */
import type { z } from 'zod';
import type { PathSegment } from './findings.js';

export type Def = { type: string; [key: string]: unknown };
export const defOf = (schema: unknown): Def | undefined => (schema as { _zod?: { def: Def } })?._zod?.def;

/** The object/record/array schemas a path can reach, unwrapping optionals and unions. */
export function reach(schema: unknown, path: readonly PathSegment[]): unknown[] {
  let current: unknown[] = [schema];
  for (const segment of path) current = childSchemas(current, segment);
  return current.flatMap(unwrap);
}

/** One step down a path: the schemas a key (or list index) of any of `schemas` may hold. */
export function childSchemas(schemas: readonly unknown[], segment: PathSegment): unknown[] {
  const next: unknown[] = [];
  for (const s of schemas.flatMap(unwrap)) {
    const def = defOf(s);
    if (!def) continue;
    if (def.type === 'object') {
      const child = (def.shape as Record<string, unknown>)[String(segment)];
      if (child) next.push(child);
    } else if (def.type === 'record') next.push(def.valueType);
    else if (def.type === 'array' && typeof segment === 'number') next.push(def.element);
  }
  return next;
}

/** The schemas a value may match, optionals, unions and pipes taken apart. */
export function unwrap(schema: unknown): unknown[] {
  const def = defOf(schema);
  if (!def) return [];
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
      return unwrap(def.innerType);
    case 'pipe':
      return unwrap(def.in);
    case 'union':
      return (def.options as unknown[]).flatMap(unwrap);
    default:
      return [schema];
  }
}

/** Keys an object at `path` may have. */
export function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  for (const s of reach(schema, path)) {
    const def = defOf(s);
    if (def?.type === 'object') for (const key of Object.keys(def.shape as object)) keys.add(key);
  }
  return [...keys];
}

/** Values a literal or enum at `path` accepts (e.g. a discriminator such as `type`). */
export function knownValues(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const values = new Set<string>();
  for (const s of reach(schema, path)) {
    const def = defOf(s);
    if (def?.type === 'enum') for (const v of Object.values(def.entries as object)) values.add(String(v));
    if (def?.type === 'literal') for (const v of def.values as unknown[]) values.add(String(v));
  }
  return [...values];
}

/** The closest candidate by edit distance, when close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length]!;
}
