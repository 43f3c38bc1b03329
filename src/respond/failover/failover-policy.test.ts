import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePlan } from '../../plan/load.js';
import type { Plan } from '../../plan/schema.js';
import { failoverPolicy } from './failover-policy.js';

function plan(extra: string): Plan {
  const loaded = parsePlan(`version: 1
organization: Test
datasets:
  db:
    rpo: 1m
    source: { type: postgres, url: "postgres://127.0.0.1:5432/app" }
    replication: { standby: "postgres://127.0.0.1:5433/app" }
${extra}`);
  assert.ok(loaded.plan, JSON.stringify(loaded.findings));
  return loaded.plan;
}

const PROBES = `probes:
  db-up: { type: postgres, dataset: db, every: 2s, timeout: 1s, failures: 3 }
  db-fast: { type: postgres, url: "postgres://127.0.0.1:5432/app", every: 500ms, failures: 2 }
  web: { type: http, url: "http://127.0.0.1/" }
`;
const FAILOVER_RUNBOOK = `runbooks:
  promote:
    steps:
      - failover: { dataset: db }
  outer:
    steps:
      - runbook: promote
  restore:
    steps:
      - restore: { dataset: db }
`;

describe('failoverPolicy', () => {
  test('a scenario detected by the dataset probe whose runbook fails it over decides', () => {
    const policy = failoverPolicy(
      plan(`${PROBES}${FAILOVER_RUNBOOK}scenarios:
  primary-lost: { detect: [db-up], decision: automatic, runbooks: [promote] }
`),
      'db',
    );
    assert.equal(policy.decision, 'automatic');
    assert.equal(policy.scenario, 'primary-lost');
    assert.deepEqual(policy.probes, ['db-up', 'db-fast']);
  });

  test('a failover reached through a nested runbook counts; the first rung of a ladder decides', () => {
    const policy = failoverPolicy(
      plan(`${PROBES}${FAILOVER_RUNBOOK}scenarios:
  primary-lost: { detect: [db-fast], decision: [automatic, full-dr], runbooks: [outer] }
`),
      'db',
    );
    assert.equal(policy.decision, 'automatic');
  });

  test('the most cautious of several covering scenarios wins', () => {
    const policy = failoverPolicy(
      plan(`${PROBES}${FAILOVER_RUNBOOK}scenarios:
  crash: { detect: [db-up], decision: automatic, runbooks: [promote] }
  site-lost: { detect: [db-fast], decision: approval, runbooks: [outer] }
`),
      'db',
    );
    assert.equal(policy.decision, 'approval');
    assert.equal(policy.scenario, 'site-lost');
  });

  test('no automatic failover without a scenario that fails this dataset over', () => {
    const policy = failoverPolicy(
      plan(`${PROBES}${FAILOVER_RUNBOOK}scenarios:
  data-loss: { detect: [db-up], decision: automatic, runbooks: [restore] }
  web-down: { detect: [web], decision: automatic, runbooks: [promote] }
`),
      'db',
    );
    assert.equal(policy.decision, 'approval');
    assert.equal(policy.scenario, undefined);
    assert.match(policy.reason, /no scenario detected by db-up, db-fast has a runbook that fails 'db' over/);
  });

  test('without a probe of the dataset the reason says which probe to add', () => {
    const policy = failoverPolicy(plan(''), 'db');
    assert.equal(policy.decision, 'approval');
    assert.match(policy.reason, /dataset: db/);
  });
});
