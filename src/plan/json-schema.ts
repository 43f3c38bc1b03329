/**
 * The JSON Schema of lifeboat.yaml, generated from the zod schema (src/plan/schema.ts) so that
 * editors, CI validators and docs/plan.md never disagree with what `lifeboat plan check` accepts.
 * schema/lifeboat.schema.json is this function's output (see write-json-schema.ts).
 */
import { z } from 'zod';
import { DURATION_FORMAT_PATTERNS } from './duration-fields.js';
import { PlanSchema } from './schema.js';

/** A stable identifier, not a download address: editors find the file through `$schema` in the plan. */
export const PLAN_SCHEMA_ID = 'urn:lifeboat:schema:plan:v1';

export type JsonSchema = { [key: string]: unknown };

/** The bare number a duration may also be. */
export const ZERO = { const: 0 };

/** Never matches: stands in for the zod branches JSON cannot hold, then is pruned. */
const NEVER = { not: {} };

export function planJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(PlanSchema, {
    io: 'input',
    target: 'draft-2020-12',
    // `CalendarDate` also accepts a JavaScript Date, for YAML loaders that turn `2024-04-01`
    // into one. The text a YAML editor sees is a string, which the other branch covers, so the
    // Date branch is dropped rather than widened to "anything".
    unrepresentable: () => NEVER,
  }) as JsonSchema;
  const { $schema, ...rest } = tidy(generated) as JsonSchema;
  return {
    $schema,
    $id: PLAN_SCHEMA_ID,
    title: 'Lifeboat disaster-recovery plan (lifeboat.yaml)',
    ...rest,
  };
}

/**
 * Removes generator noise that says nothing to a reader or a validator: never-matching union
 * branches, the ±2^53 bounds zod puts on every integer, and `propertyNames: {type: string}`
 * (object keys are always strings).
 */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) out[key] = tidy(value);

  if (out.type === 'integer') {
    if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  }
  if (out.type === 'string' && DURATION_FORMAT_PATTERNS.has(out.pattern as string)) {
    // YAML reads `rpo: 0` as a number, which the plan loader accepts as the duration `0`
    // (duration-fields.ts): an editor must not flag what `plan check` accepts.
    const { type, pattern, ...annotations } = out;
    return { ...annotations, anyOf: [{ type, pattern }, ZERO] };
  }
  const names = out.propertyNames as JsonSchema | undefined;
  if (names && Object.keys(names).length === 1 && names.type === 'string') delete out.propertyNames;

  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = out[keyword];
    if (!Array.isArray(options)) continue;
    const kept = options.filter((option) => !isNever(option));
    if (kept.length === 1) {
      // A union of one: fold the branch into this node, keeping this node's own description.
      delete out[keyword];
      const { description, ...branch } = kept[0] as JsonSchema;
      Object.assign(
        out,
        branch,
        out.description === undefined && description !== undefined ? { description } : {},
      );
    } else {
      out[keyword] = kept;
    }
  }
  return out;
}

function isNever(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    Object.keys(value).length === 1 &&
    JSON.stringify((value as JsonSchema).not) === '{}'
  );
}
