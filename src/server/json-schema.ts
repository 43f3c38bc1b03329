/**
 * zod schemas as the JSON Schemas Fastify validates with (Ajv, draft-07) and @fastify/swagger
 * publishes: the same objects the TypeScript types are inferred from (see schemas.ts).
 */
import { z } from 'zod';
import { ApiError } from './errors.js';

export type JsonSchema = Record<string, unknown>;

/** `io: input` for what clients send (optional fields stay optional), `output` for what they get. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io }) as JsonSchema;
  return rest;
}

/**
 * Parses again with zod what Ajv has let through, for what JSON Schema cannot say (a title
 * that is only spaces is trimmed to nothing): one 400 with zod's message, never a 500.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `body/${issue.path.join('/')} ` : 'body ';
  throw new ApiError(400, 'bad-request', `${where}${issue?.message ?? 'is not valid'}`);
}
