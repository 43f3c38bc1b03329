import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLoadedPlan } from '../check.js';
import { parsePlan } from '../load.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const HEADER = 'version: 1\norganization: Acme\ndocument: { next_review: 2027-01-01 }\n';

function check(yaml: string) {
  const result = checkLoadedPlan(parsePlan(HEADER + yaml, 'test.yaml'), NOW);
  assert.equal(
    result.loaded.plan !== undefined,
    true,
    `schema rejected the fixture: ${JSON.stringify(result.errors)}`,
  );
  return [...result.errors, ...result.warnings];
}
const rulesOf = (yaml: string) => check(yaml).map((f) => f.rule);
const only = (yaml: string, rule: string) => check(yaml).filter((f) => f.rule === rule);

describe('plan rules', () => {
  test('a consistent plan has no findings', () => {
    const findings = check(`
services:
  api: { rto: 1h, depends_on: [db] }
  db: { rto: 30m, datasets: [main] }
datasets:
  main:
    rpo: 1h
    source: { type: postgres, url: env:DATABASE_URL }
    backup: { every: 15m }
    verify: { every: daily }
scenarios:
  db-loss: { affects: [db], runbooks: [restore], estimated_recovery: 10m..20m }
runbooks:
  restore: { steps: [ { restore: { dataset: main } }, { check: main } ] }
drills:
  restore-monthly: { kind: restore, every: monthly, scenarios: [db-loss], datasets: [main] }
`);
    assert.deepEqual(findings, []);
  });

  test('rpo-cadence: a daily backup cannot meet a 6h RPO; 4h can', () => {
    const hits = only('datasets:\n  idx: { rpo: 6h, backup: { every: daily }, verify: {} }\n', 'rpo-cadence');
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.path, 'datasets.idx.backup.every');
    assert.equal(hits[0]!.line, 5);
    assert.match(hits[0]!.message, /daily cannot meet the RPO of idx, 6h/);
    assert.equal(
      only('datasets:\n  idx: { rpo: 6h, backup: { every: 4h }, verify: {} }\n', 'rpo-cadence').length,
      0,
    );
  });

  test('rpo-cadence honours WAL archiving and the plan-wide RPO', () => {
    const physical =
      'objectives: { rpo: 15m }\ndatasets:\n  db: { backup: { every: daily, method: physical }, verify: {} }\n';
    assert.deepEqual(only(physical, 'rpo-cadence'), []);
    const logical = 'objectives: { rpo: 15m }\ndatasets:\n  db: { backup: { every: daily }, verify: {} }\n';
    assert.equal(only(logical, 'rpo-cadence').length, 1);
  });

  test('rpo-no-margin, rpo-unprotected, replication-only, rpo-replication-lag', () => {
    assert.equal(
      only('datasets:\n  a: { rpo: 4h, backup: { every: 4h }, verify: {} }\n', 'rpo-no-margin').length,
      1,
    );
    assert.equal(only('datasets:\n  a: { rpo: 4h }\n', 'rpo-unprotected').length, 1);
    assert.equal(only('datasets:\n  a: { }\n', 'rpo-unprotected').length, 0);
    assert.equal(
      only('datasets:\n  a: { rpo: 1h, replication: { max_lag: 30s } }\n', 'replication-only').length,
      1,
    );
    assert.equal(
      only('datasets:\n  a: { rpo: 10s, replication: { max_lag: 30s } }\n', 'rpo-replication-lag').length,
      1,
    );
    assert.equal(
      only('datasets:\n  a: { rpo: 0s, replication: { mode: sync } }\n', 'rpo-replication-lag').length,
      0,
    );
  });

  test('dataset-not-verified: neither verify nor a restore drill', () => {
    assert.equal(
      only('datasets:\n  a: { rpo: 4h, backup: { every: 1h } }\n', 'dataset-not-verified').length,
      1,
    );
    const drilled =
      'datasets:\n  a: { rpo: 4h, backup: { every: 1h } }\ndrills:\n  d: { kind: restore, every: monthly, datasets: [a] }\n';
    assert.equal(only(drilled, 'dataset-not-verified').length, 0);
  });

  test('unknown-reference names the known ids and suggests the likely one', () => {
    const hits = only('services:\n  api: { depends_on: [databse] }\n  database: {}\n', 'unknown-reference');
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.path, 'services.api.depends_on[0]');
    assert.equal(hits[0]!.hint, "did you mean 'database'?");
    assert.equal(hits[0]!.line, 5);
  });

  test('unknown-reference inside runbook steps, roles and stakeholders', () => {
    const rules = only(
      `runbooks:
  r: { steps: [ { restore: { dataset: nope } }, { approve: { by: ghost } }, { notify: { template: missing } } ] }
roles:
  ic: { primary: nobody }
stakeholders:
  execs: { via: [pager] }
`,
      'unknown-reference',
    ).map((f) => f.path);
    assert.deepEqual(rules.sort(), [
      'roles.ic.primary',
      'runbooks.r.steps[0].restore.dataset',
      'runbooks.r.steps[1].approve.by',
      'runbooks.r.steps[2].notify.template',
      'stakeholders.execs.via[0]',
    ]);
  });

  test('dependency-cycle prints the cycle', () => {
    const hits = only(
      'services:\n  a: { depends_on: [b] }\n  b: { depends_on: [c] }\n  c: { depends_on: [a] }\n',
      'dependency-cycle',
    );
    assert.equal(hits.length, 1);
    assert.match(hits[0]!.message, /a → b → c → a/);
  });

  test('rto-inversion: hard dependencies only', () => {
    assert.equal(
      only('services:\n  web: { rto: 1h, depends_on: [search] }\n  search: { rto: 6h }\n', 'rto-inversion')
        .length,
      1,
    );
    const soft = 'services:\n  web: { rto: 1h, depends_on: [{ on: ai, soft: true }] }\n  ai: { rto: 12h }\n';
    assert.equal(only(soft, 'rto-inversion').length, 0);
  });

  test('dependency-without-rto', () => {
    assert.equal(
      only('services:\n  web: { rto: 1h, depends_on: [db] }\n  db: {}\n', 'dependency-without-rto').length,
      1,
    );
  });

  test('scenario rules: no runbook, never drilled, estimate beyond RTO and availability budget', () => {
    const yaml = `objectives: { availability: 99.9% }
services:
  api: { rto: 2h }
scenarios:
  outage: { affects: all, estimated_recovery: 6h..12h }
`;
    const rules = rulesOf(yaml);
    for (const rule of [
      'scenario-no-runbook',
      'scenario-not-drilled',
      'scenario-exceeds-rto',
      'availability-budget',
    ])
      assert.ok(rules.includes(rule), `${rule} missing from ${rules.join(', ')}`);
  });

  test('a drill of the runbook counts as a drill of the scenario', () => {
    const yaml = `scenarios:
  s: { runbooks: [r] }
runbooks:
  r: { steps: [ { manual: do it } ] }
drills:
  d: { kind: runbook, every: quarterly, runbook: r }
`;
    assert.equal(only(yaml, 'scenario-not-drilled').length, 0);
  });

  test('step-action and runbook-unused', () => {
    const yaml = 'runbooks:\n  r: { steps: [ { run: a, http: { url: "http://x" } }, { name: nothing } ] }\n';
    assert.equal(only(yaml, 'step-action').length, 2);
    assert.equal(only(yaml, 'runbook-unused').length, 1);
    const manual = 'runbooks:\n  r: { steps: [ { manual: check, checklist: [a, b] } ] }\n';
    assert.equal(only(manual, 'step-action').length, 0);
  });

  test('placeholder contacts, overdue review', () => {
    const placeholders = only(
      'people:\n  ic: { name: "[Name]", phone: "[Phone]", email: a@b.c }\n',
      'placeholder',
    );
    assert.equal(placeholders.length, 1);
    assert.match(placeholders[0]!.message, /name \[Name\], phone \[Phone\]$/);
    const overdue = checkLoadedPlan(
      parsePlan('version: 1\norganization: A\ndocument: { next_review: 2024-03 }\n'),
      NOW,
    );
    assert.equal(overdue.warnings.filter((f) => f.rule === 'review-overdue').length, 1);
    const due = checkLoadedPlan(
      parsePlan('version: 1\norganization: A\ndocument: { next_review: 2026-06 }\n'),
      NOW,
    );
    assert.equal(due.warnings.filter((f) => f.rule === 'review-overdue').length, 0);
  });

  test('inline-secret finds tokens, URL passwords and auth headers anywhere', () => {
    const hits = only(
      `runbooks:
  r:
    steps:
      - run: "curl -H 'x: sk-abcdefghijklmnopqrstuvwxyz' https://api"
      - http: { url: "https://x", headers: { Authorization: "Bearer abcdefghijklmnopqrstuvwxyz0123" } }
      - run: "psql postgres://app:s3cr3t@db/app"
      - run: "psql postgres://app:$PGPASSWORD@db/app"
`,
      'inline-secret',
    );
    assert.equal(hits.length, 3);
  });

  test('backup-without-source, drill-without-backup, unknown-input', () => {
    assert.equal(
      only('datasets:\n  logs: { rpo: 2d, backup: { every: daily }, verify: {} }\n', 'backup-without-source')
        .length,
      1,
    );
    const drill =
      'datasets:\n  a: { rpo: 1h, replication: { max_lag: 1m } }\ndrills:\n  d: { kind: restore, every: monthly, datasets: [a] }\n';
    assert.equal(only(drill, 'drill-without-backup').length, 1);
    const input =
      'runbooks:\n  r:\n    inputs: { ts: {} }\n    steps: [ { run: "restore {{inputs.ts}} {{inputs.pod}}" } ]\n';
    const hits = only(input, 'unknown-input');
    assert.equal(hits.length, 1);
    assert.match(hits[0]!.message, /inputs\.pod/);
  });

  test('unreachable-person and stakeholder-unreachable', () => {
    const yaml =
      'people:\n  dba: { name: Dana }\nroles:\n  db: { primary: dba }\nstakeholders:\n  press: { notify_at: [1h] }\n';
    assert.equal(only(yaml, 'unreachable-person').length, 1);
    assert.equal(only(yaml, 'stakeholder-unreachable').length, 1);
    const page = 'status_page: {}\nstakeholders:\n  users: { via: [status_page] }\n';
    assert.deepEqual(check(page), []);
  });

  test('template-variable suggests the likely variable', () => {
    const hits = only(
      'templates:\n  t: { body: "Severity: {{incident.sevrity}} at {{incident.started_at}}" }\n',
      'template-variable',
    );
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.hint, 'did you mean {{incident.severity}}?');
  });
});
