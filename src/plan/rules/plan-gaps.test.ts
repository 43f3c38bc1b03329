import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLoadedPlan } from '../check.js';
import { parsePlan } from '../load.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const HEADER = 'version: 1\norganization: Acme\ndocument: { next_review: 2027-01-01 }\n';

function findings(yaml: string, rule: string) {
  const result = checkLoadedPlan(parsePlan(HEADER + yaml, 'test.yaml'), NOW);
  assert.ok(result.loaded.plan, `schema rejected the fixture: ${JSON.stringify(result.errors)}`);
  return [...result.errors, ...result.warnings, ...result.info].filter((f) => f.rule === rule);
}

describe('objective-missing', () => {
  test('services without any RTO and datasets without any RPO', () => {
    const found = findings('services:\n  api: {}\ndatasets:\n  db: {}\n', 'objective-missing');
    assert.deepEqual(
      found.map((f) => [f.path, f.line]),
      [
        ['services', 4],
        ['datasets', 6],
      ],
    );
  });
  test('one RTO and one RPO anywhere are enough', () => {
    assert.deepEqual(
      findings('objectives: { rto: 1h, rpo: 1h }\nservices:\n  api: {}\n', 'objective-missing'),
      [],
    );
    assert.deepEqual(findings('services:\n  api: { rto: 1h }\n', 'objective-missing'), []);
  });
});

describe('role-unfilled', () => {
  test('a role with neither primary nor backup', () => {
    const found = findings(
      'people:\n  ann: { name: Ann, phone: "1" }\nroles:\n  ic: { name: Incident commander }\n  dba: { primary: ann }\n',
      'role-unfilled',
    );
    assert.deepEqual(
      found.map((f) => f.path),
      ['roles.ic'],
    );
    assert.match(found[0]!.hint!, /primary: PERSON-ID/);
  });
});

describe('scenario-service-without-rto', () => {
  test('an affected service with no RTO, not an external one', () => {
    const found = findings(
      'services:\n  api: {}\n  db: { rto: 1h }\n  saas: { external: true }\nscenarios:\n  s: { affects: [db, api, saas] }\n',
      'scenario-service-without-rto',
    );
    assert.deepEqual(
      found.map((f) => f.path),
      ['scenarios.s.affects[1]'],
    );
  });
});

describe('team-unreachable', () => {
  test('a team notified with nobody in it and no channel, in the matrix and in a step', () => {
    const found = findings(
      `teams:
  support: { name: Support }
  ops: { members: [ann] }
people:
  ann: { name: Ann, email: a@example.com }
channels:
  mail: { type: email }
stakeholders:
  a: { contacts: [support] }
  b: { contacts: [support], via: [mail] }
  c: { contacts: [ops] }
runbooks:
  r: { steps: [ { notify: { to: [support] } }, { notify: { to: [support, mail] } } ] }
scenarios:
  s: { runbooks: [r] }
`,
      'team-unreachable',
    );
    assert.deepEqual(
      found.map((f) => f.path),
      ['stakeholders.a.contacts[0]', 'runbooks.r.steps[0].notify.to[0]'],
    );
  });
});

describe('flow-comma', () => {
  test('free text cut by a comma inside [ ... ] is reported with a quoting hint', () => {
    const found = findings(
      'runbooks:\n  r:\n    steps:\n      - checklist: [Restore the database, then restart the API, Tell support]\n',
      'flow-comma',
    );
    assert.equal(found.length, 1);
    assert.equal(found[0]!.path, 'runbooks.r.steps[0].checklist[1]');
    assert.equal(found[0]!.line, 7);
    assert.match(found[0]!.hint!, /"Restore the database, then restart the API"/);
  });
  test('a number with a thousands separator', () => {
    const found = findings(
      'services:\n  api: { rto: 1h, description: x }\nmaintenance:\n  change_management: [Serve 1,000 users]\n',
      'flow-comma',
    );
    assert.equal(found.length, 1);
    assert.match(found[0]!.hint!, /"Serve 1,000 users"/);
  });
  test('lists of ids, quoted items and block lists are left alone', () => {
    assert.deepEqual(
      findings(
        'services:\n  a: { rto: 1h, depends_on: [b, c] }\n  b: { rto: 1m }\n  c: { rto: 1m }\nrunbooks:\n  r:\n    steps:\n      - checklist: ["Restore, then restart", Check logs]\n      - checklist:\n          - Restore\n          - then restart\n',
        'flow-comma',
      ),
      [],
    );
  });
});

describe('repository-engine', () => {
  test('a physical dataset on a restic repository, a logical one on pgBackRest', () => {
    const found = findings(
      `repositories:
  restic-repo: { url: /srv/restic }
  pgbr: { type: pgbackrest, url: /srv/pgbr }
datasets:
  db:
    rpo: 1h
    source: { type: postgres, url: env:DB }
    backup: { every: 15m, method: physical, repository: restic-repo }
  files:
    rpo: 1h
    source: { type: files, paths: [/srv/data] }
    backup: { every: 15m, repository: pgbr, copy_to: [restic-repo] }
`,
      'repository-engine',
    );
    assert.deepEqual(
      found.map((f) => f.path),
      ['datasets.db.backup.repository', 'datasets.files.backup.repository'],
    );
    assert.match(
      found[0]!.message,
      /physical backups \(pgBackRest\), but repository restic-repo is a restic/,
    );
  });
});

describe('repository-url', () => {
  test('schemes the engine cannot use are errors with the form to write', () => {
    const found = findings(
      `repositories:
  web: { url: "https://backup.example.com/repo" }
  ftp: { url: "ftp://host/repo" }
  ok-s3: { url: "s3:https://s3.example.com/bucket/path" }
  ok-sftp: { url: "sftp:user@host:/srv/repo" }
  ok-path: { url: ./backups }
  pg-sftp: { type: pgbackrest, url: "sftp:user@host:/srv" }
  pg-http: { type: pgbackrest, url: "s3:http://minio:9000/bucket" }
  pg-nobucket: { type: pgbackrest, url: "s3:https://minio:9000" }
  pg-ok: { type: pgbackrest, url: "s3:https://minio:9000/bucket" }
`,
      'repository-url',
    );
    assert.deepEqual(
      found.map((f) => f.path),
      [
        'repositories.web.url',
        'repositories.ftp.url',
        'repositories.pg-sftp.url',
        'repositories.pg-http.url',
        'repositories.pg-nobucket.url',
      ],
    );
    assert.match(found[0]!.hint!, /rest:https:\/\/backup\.example\.com\/repo/);
    assert.ok(found.every((f) => f.severity === 'error'));
  });
});

describe('not-executed', () => {
  test('names the sections a plan uses that Lifeboat does not run, and the channels it does not send to', () => {
    const found = findings(
      `datasets:
  db:
    rpo: 1h
    source: { type: postgres, url: env:DB }
    replication: { standby: env:STANDBY }
probes:
  db-up: { type: postgres, dataset: db }
  web: { type: http, url: https://example.com }
scenarios:
  db-lost: { detect: [db-up], decision: automatic, runbooks: [fail] }
runbooks:
  fail: { steps: [ { failover: { dataset: db } } ] }
channels:
  mail: { type: email }
  chat: { type: whatsapp }
`,
      'not-executed',
    );
    assert.equal(found.length, 1);
    assert.equal(found[0]!.severity, 'info');
    assert.match(found[0]!.message, /not executed by Lifeboat yet: runbooks, channels \(chat\)$/);
  });
  test('a plan of datasets and repositories only has none', () => {
    assert.deepEqual(
      findings(
        'objectives: { rpo: 1h }\ndatasets:\n  d: { source: { type: files, paths: [/x] }, backup: { every: 1h } }\n',
        'not-executed',
      ),
      [],
    );
  });
});
