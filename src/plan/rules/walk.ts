import type { PathSegment } from '../findings.js';

/** Every string in a value, with its path. */
export function* strings(
  value: unknown,
  path: PathSegment[] = [],
): Generator<{ text: string; path: PathSegment[] }> {
  if (typeof value === 'string') yield { text: value, path };
  else if (Array.isArray(value))
    for (let i = 0; i < value.length; i++) yield* strings(value[i], [...path, i]);
  else if (value !== null && typeof value === 'object')
    for (const [key, child] of Object.entries(value)) yield* strings(child, [...path, key]);
}
