import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLoadedPlan } from '../check.js';
import { parsePlan } from '../load.js';

const HEADER = 'version: 1\norganization: Acme\ndocument: { next_review: 2027-01-01 }\n';

function unknownReferences(yaml: string) {
  const result = checkLoadedPlan(parsePlan(HEADER + yaml, 'test.yaml'), new Date('2026-06-01T00:00:00Z'));
  assert.ok(result.loaded.plan, `schema rejected the fixture: ${JSON.stringify(result.errors)}`);
  return result.errors.filter((f) => f.rule === 'unknown-reference');
}

describe('unknown-reference: replication.traffic', () => {
  const dataset = (traffic: string) => `
datasets:
  users:
    source: { type: postgres, url: env:DATABASE_URL }
    replication: { standby: env:STANDBY_URL, traffic: ${traffic} }
traffic:
  bouncer: { type: pgbouncer, config: /etc/pgbouncer/pgbouncer.ini }
`;

  test('a switch declared under traffic is found', () => {
    assert.deepEqual(unknownReferences(dataset('bouncer')), []);
  });

  test('an undeclared switch is an error that suggests the likely one', () => {
    const [hit, ...more] = unknownReferences(dataset('bounce'));
    assert.deepEqual(more, []);
    assert.equal(hit?.path, 'datasets.users.replication.traffic');
    assert.equal(hit?.message, "datasets.users.replication.traffic: 'bounce' is not declared in traffic");
    assert.equal(hit?.hint, "did you mean 'bouncer'?");
    assert.equal(hit?.line, 8);
  });
});
