/**
 * Writes schema/lifeboat.schema.json and docs/plan.md from the zod schema. Run it after changing
 * src/plan/schema.ts: `npm run build && npm run schema`. A test fails when the committed files
 * differ from what this produces, so the two never drift from the schema.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { planJsonSchema } from './json-schema.js';
import { renderPlanReference } from './render/plan-reference.js';

/** The repository root: this file is src/plan/ (tsx) or dist/plan/ (compiled), two levels down. */
export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_FILE = join('schema', 'lifeboat.schema.json');
export const REFERENCE_FILE = join('docs', 'plan.md');

/** The two generated files, relative path → content. */
export function generatedFiles(): Map<string, string> {
  const schema = planJsonSchema();
  return new Map([
    [SCHEMA_FILE, JSON.stringify(schema, null, 2) + '\n'],
    [REFERENCE_FILE, renderPlanReference(schema)],
  ]);
}

function main(): void {
  for (const [path, content] of generatedFiles()) {
    const target = join(REPOSITORY_ROOT, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    process.stdout.write(`wrote ${path} (${Buffer.byteLength(content)} bytes)\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
