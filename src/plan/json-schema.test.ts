import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { checkLoadedPlan } from './check.js';
import { planJsonSchema } from './json-schema.js';
import { parsePlan } from './load.js';
import { REFERENCE_EXAMPLE } from './render/plan-reference-preamble.js';
import { generatedFiles, REPOSITORY_ROOT } from './write-json-schema.js';

describe('plan JSON Schema', () => {
  const schema = planJsonSchema();
  const validate = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);
  const valid = (yaml: string) => {
    const ok = validate(parse(yaml));
    return { ok, errors: validate.errors ?? [] };
  };

  test('the committed schema/lifeboat.schema.json and docs/plan.md are what the generator writes', () => {
    for (const [path, content] of generatedFiles()) {
      const committed = readFileSync(join(REPOSITORY_ROOT, path), 'utf8');
      assert.ok(
        committed === content,
        `${path} is out of date with src/plan/schema.ts: run \`npm run build && npm run schema\` and commit the result`,
      );
    }
  });

  test('has an id and a title, and strict mappings forbid unknown keys', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema.$id, 'string');
    assert.equal(typeof schema.title, 'string');
    assert.equal(schema.additionalProperties, false);
    const document = (schema.properties as Record<string, { additionalProperties?: unknown }>).document;
    assert.equal(document?.additionalProperties, false);
  });

  test('accepts the reference example, which the plan loader also accepts without errors', () => {
    const result = valid(REFERENCE_EXAMPLE);
    assert.ok(result.ok, JSON.stringify(result.errors, null, 2));
    const checked = checkLoadedPlan(
      parsePlan(REFERENCE_EXAMPLE, 'example.yaml'),
      new Date('2026-06-01T00:00:00Z'),
    );
    assert.deepEqual(checked.errors, []);
  });

  test('accepts a small plan with dates, durations and a discriminated source', () => {
    const result = valid(`
version: 1
organization: Acme
document: { last_updated: 2024-01, next_review: 2024-04-15 }
services: { api: { rto: 1h30m, depends_on: [{ on: db, soft: true }] } }
datasets: { db: { rpo: 15m, source: { type: redis, url: "redis://localhost:6379" }, backup: { every: hourly } } }
`);
    assert.ok(result.ok, JSON.stringify(result.errors, null, 2));
  });

  test('agrees with the plan loader on every example plan', () => {
    const examples = join(REPOSITORY_ROOT, 'examples');
    const files = existsSync(examples)
      ? readdirSync(examples)
          .map((name) => join(examples, name, 'lifeboat.yaml'))
          .filter((file) => existsSync(file))
      : [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const accepted = parsePlan(text, file).plan !== undefined;
      const result = valid(text);
      assert.equal(
        result.ok,
        accepted,
        `${file}: zod ${accepted ? 'accepts' : 'rejects'} it, the JSON Schema does not: ${JSON.stringify(result.errors)}`,
      );
    }
  });

  test('rejects an unknown key, a malformed duration and a source of an unknown type', () => {
    const unknownKey = valid('version: 1\norganization: Acme\nservices: { api: { rtoo: 1h } }\n');
    assert.equal(unknownKey.ok, false);
    assert.ok(
      unknownKey.errors.some(
        (e) => e.keyword === 'additionalProperties' && e.instancePath === '/services/api',
      ),
    );

    assert.equal(valid('version: 1\norganization: Acme\nservices: { api: { rto: 4 hours } }\n').ok, false);
    assert.equal(
      valid('version: 1\norganization: Acme\ndatasets: { d: { source: { type: oracle } } }\n').ok,
      false,
    );
    assert.equal(valid('organization: Acme\n').ok, false, 'version is required');
  });
});
