import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../errors.js';
import { parsePlan } from '../../plan/load.js';
import {
  archiveCommand,
  planPgbackrestConfig,
  renderPgbackrestConfig,
  retentionFullDays,
  type PgbackrestConfigInput,
} from './config.js';
import { planPgbackrestRepository } from './repository.js';

const base: PgbackrestConfigInput = {
  stanza: 'app-db',
  homeDir: '/srv/plan/.lifeboat',
  cluster: { dataDir: '/var/lib/postgresql/15/main', port: 5433, socketDir: '/var/run/postgresql' },
  repository: { kind: 'local', id: 'local', path: '/backups/pgbackrest' },
  retention: { last: 3, daily: 7 },
  backupEverySeconds: 3600,
  compressType: 'zst',
};

function lines(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('pgBackRest configuration', () => {
  test('lives under .lifeboat with per-stanza lock, log and spool paths', () => {
    const config = planPgbackrestConfig(base);
    assert.equal(config.path, '/srv/plan/.lifeboat/pgbackrest/app-db/pgbackrest.conf');
    const text = renderPgbackrestConfig(config, () => 'never');
    const kv = lines(text);
    assert.equal(kv.get('lock-path'), '/srv/plan/.lifeboat/pgbackrest/app-db/lock');
    assert.equal(kv.get('log-path'), '/srv/plan/.lifeboat/pgbackrest/app-db/log');
    assert.equal(kv.get('spool-path'), '/srv/plan/.lifeboat/pgbackrest/app-db/spool');
    assert.equal(kv.get('repo1-path'), '/backups/pgbackrest');
    assert.equal(kv.get('start-fast'), 'y');
    assert.equal(kv.get('archive-async'), 'n');
    assert.equal(kv.get('archive-timeout'), '10');
    assert.equal(kv.get('compress-type'), 'zst');
    assert.equal(kv.get('repo1-retention-full-type'), 'time');
    assert.equal(kv.get('repo1-retention-full'), '7');
    assert.equal(kv.get('pg1-path'), '/var/lib/postgresql/15/main');
    assert.equal(kv.get('pg1-port'), '5433');
    assert.equal(kv.get('pg1-socket-path'), '/var/run/postgresql');
    assert.match(text, /^\[app-db\]$/m);
    assert.ok(text.indexOf('[global]') < text.indexOf('[app-db]'));
  });

  test('archive_command passes --config and --stanza, quoted for the shell', () => {
    const config = planPgbackrestConfig({ ...base, homeDir: '/srv/my plan/.lifeboat' });
    assert.equal(
      archiveCommand('/usr/bin/pgbackrest', config),
      "/usr/bin/pgbackrest '--config=/srv/my plan/.lifeboat/pgbackrest/app-db/pgbackrest.conf' --stanza=app-db archive-push %p",
    );
  });

  test('retention: the widest rule in days, at least one', () => {
    assert.equal(retentionFullDays({ last: 3, daily: 7, weekly: 4, monthly: 12 }, 3600), 360);
    assert.equal(retentionFullDays({ last: 3 }, 4 * 3600), 1);
    assert.equal(retentionFullDays({ last: 10 }, 86_400), 10);
    assert.equal(retentionFullDays({ weekly: 2 }, 3600), 14);
    assert.equal(retentionFullDays({}, 3600), 1);
  });

  test('S3: endpoint, bucket, region, path style; keys resolved only when rendered', () => {
    const { plan } = parsePlan(`
version: 1
organization: t
repositories:
  offsite:
    type: pgbackrest
    url: s3:https://minio.internal:9000/backups/pg/app
    region: eu-west-1
    verify_tls: false
    env:
      AWS_ACCESS_KEY_ID: env:KEY_ID
      AWS_SECRET_ACCESS_KEY: env:KEY_SECRET
`);
    assert.ok(plan);
    const repository = planPgbackrestRepository(plan, 'offsite', '/srv/plan', '/srv/plan/.lifeboat', 'local');
    const config = planPgbackrestConfig({ ...base, repository });
    const shown = renderPgbackrestConfig(config, () => '***');
    const kv = lines(shown);
    assert.equal(kv.get('repo1-type'), 's3');
    assert.equal(kv.get('repo1-s3-endpoint'), 'minio.internal');
    assert.equal(kv.get('repo1-storage-port'), '9000');
    assert.equal(kv.get('repo1-s3-bucket'), 'backups');
    assert.equal(kv.get('repo1-path'), '/pg/app');
    assert.equal(kv.get('repo1-s3-region'), 'eu-west-1');
    assert.equal(kv.get('repo1-s3-uri-style'), 'path');
    assert.equal(kv.get('repo1-storage-verify-tls'), 'n');
    assert.equal(kv.get('repo1-s3-key'), '***');
    assert.equal(config.localRepoPath, undefined);
    const env: Record<string, string> = { 'env:KEY_ID': 'AKIA1', 'env:KEY_SECRET': 's3cr3t' };
    const written = lines(renderPgbackrestConfig(config, (ref) => env[ref] ?? '?'));
    assert.equal(written.get('repo1-s3-key'), 'AKIA1');
    assert.equal(written.get('repo1-s3-key-secret'), 's3cr3t');
  });

  test('S3 over plain http is refused: pgBackRest 2.45 speaks TLS only', () => {
    const { plan } = parsePlan(`
version: 1
organization: t
repositories:
  offsite: { type: pgbackrest, url: "s3:http://127.0.0.1:9000/bucket" }
`);
    assert.ok(plan);
    assert.throws(
      () => planPgbackrestRepository(plan, 'offsite', '/p', '/p/.lifeboat', 'local'),
      (e: unknown) => e instanceof UsageError && /only over TLS/.test(e.message),
    );
  });

  test('a restic repository cannot hold physical backups; the default is under .lifeboat', () => {
    const { plan } = parsePlan(`
version: 1
organization: t
repositories:
  files: { url: ./restic-repo }
  pg: { type: pgbackrest, url: ./pg-repo }
`);
    assert.ok(plan);
    assert.throws(
      () => planPgbackrestRepository(plan, 'files', '/p', '/p/.lifeboat', 'local'),
      /restic repository/,
    );
    assert.deepEqual(planPgbackrestRepository(plan, 'pg', '/p', '/p/.lifeboat', 'local'), {
      kind: 'local',
      id: 'pg',
      path: '/p/pg-repo',
    });
    assert.deepEqual(planPgbackrestRepository(plan, 'local', '/p', '/p/.lifeboat', 'local'), {
      kind: 'local',
      id: 'local',
      path: '/p/.lifeboat/pgbackrest/repo',
    });
  });
});
