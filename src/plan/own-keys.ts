/**
 * The plan's id-keyed sections as objects without a prototype, so that looking up an id the
 * user wrote (`depends_on: [toString]`, `lifeboat backup constructor`) finds only what the
 * plan declares, never a method every JavaScript object inherits.
 */
import { z } from 'zod';
import { PlanSchema, type Plan } from './schema.js';

/** Top-level keys whose value is a record of ids, read from the schema itself. */
const RECORD_SECTIONS = Object.entries(PlanSchema.shape)
  .filter(([, schema]) => {
    const inner = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
    return inner instanceof z.ZodRecord;
  })
  .map(([key]) => key as keyof Plan);

export function withOwnKeysOnly(plan: Plan): Plan {
  const out: Record<string, unknown> = { ...plan };
  for (const key of RECORD_SECTIONS) {
    const section = plan[key];
    if (section !== undefined && typeof section === 'object')
      out[key] = Object.assign(Object.create(null) as object, section);
  }
  return out as Plan;
}
