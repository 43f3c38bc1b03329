import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { checkLoadedPlan } from './check.js';
import { parseDuration } from './duration.js';
import { planJsonSchema } from './json-schema.js';
import { parsePlan } from './load.js';

const plan = (dataset: string, extra = '') => `
version: 1
organization: Acme
${extra}
datasets:
  users:
${dataset}
    source: { type: postgres, url: "postgres://app@db:5432/app" }
`;

const errors = (yaml: string) => checkLoadedPlan(parsePlan(yaml), new Date('2026-06-01T00:00:00Z')).errors;

describe('a bare 0 where a duration is expected', () => {
  test('rpo: 0 and detect_after: 0 load as the duration "0", which means zero', () => {
    const loaded = parsePlan(
      plan('    rpo: 0\n    replication: { standby: standby1, detect_after: 0 }', 'objectives: { rto: 0 }'),
    );
    assert.deepEqual(loaded.findings, []);
    const users = loaded.plan?.datasets?.users;
    assert.equal(users?.rpo, '0');
    assert.equal(users?.replication?.detect_after, '0');
    assert.equal(loaded.plan?.objectives?.rto, '0');
    assert.equal(parseDuration(users!.rpo!), 0);
  });

  test('a number where the plan expects a number stays one', () => {
    const loaded = parsePlan(plan('    rpo: 1h\n    retention: { daily: 0 }', 'flags: { dark_mode: 0 }'));
    assert.deepEqual(loaded.findings, []);
    assert.equal(loaded.plan?.datasets?.users?.retention?.daily, 0);
    assert.equal(loaded.plan?.flags?.dark_mode, 0);
  });

  test('rpo: 5 is refused, saying to write a unit, at its line', () => {
    const found = errors(plan('    rpo: 5'));
    assert.equal(found.length, 1, JSON.stringify(found));
    const [finding] = found;
    assert.equal(finding?.path, 'datasets.users.rpo');
    assert.equal(finding?.line, 7);
    assert.match(finding?.message ?? '', /datasets\.users\.rpo: 5 has no unit/);
    assert.match(finding?.hint ?? '', /write the unit, e\.g\. '5s' or '5m' .*only 0 may stand alone/);
  });

  test('detect_after: 1.5 and a cadence of 4 are refused the same way', () => {
    const found = errors(plan('    replication: { detect_after: 1.5 }\n    backup: { every: 4 }'));
    assert.deepEqual(found.map((f) => f.path).sort(), [
      'datasets.users.backup.every',
      'datasets.users.replication.detect_after',
    ]);
    for (const f of found) assert.match(f.message, /has no unit/);
  });

  test('the JSON Schema agrees: 0 is a duration for editors too, 5 is not', () => {
    const validate = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(planJsonSchema());
    assert.equal(validate(parse(plan('    rpo: 0\n    replication: { detect_after: 0 }'))), true);
    assert.equal(validate(parse(plan('    rpo: 5'))), false);
    assert.equal(validate(parse(plan('    rpo: 15m'))), true);
  });
});
