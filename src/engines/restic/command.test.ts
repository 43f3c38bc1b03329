import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../errors.js';
import { EnvironmentError } from '../../errors.js';
import { locateRestic, parseResticVersion, resticFeatures } from './binary.js';
import { planForget, planPathsBackup, planStreamBackup, resticEnv } from './command.js';
import { parseBackupLine, parseForget, parseSnapshots } from './output.js';
import { createRedactor, redactUrl, stripUrlCredentials } from './redact.js';
import { producerOutcome } from './stream-backup.js';

const v014 = resticFeatures(parseResticVersion('restic 0.14.0 compiled with go1.19.8 on linux/amd64\n'));
const v017 = resticFeatures(parseResticVersion('restic 0.17.3 compiled with go1.23.3 on linux/amd64'));
const producer = { command: 'pg_dump', args: ['--format=custom', 'app'], env: { PGPASSWORD: 'pg-secret' } };
const access = {
  url: 's3:https://h/b/r',
  password: 'repo-secret',
  env: { AWS_SECRET_ACCESS_KEY: 'aws-secret' },
};

describe('restic version and features', () => {
  test('parses release and development versions', () => {
    assert.deepEqual(parseResticVersion('restic 0.14.0 compiled with go1.19.8 on linux/amd64'), {
      major: 0,
      minor: 14,
      patch: 0,
      text: 'restic 0.14.0 compiled with go1.19.8 on linux/amd64',
    });
    assert.equal(parseResticVersion('restic 0.17.3-dev (compiled manually) compiled with go1.22').minor, 17);
    assert.throws(() => parseResticVersion('command not found'), /cannot read the restic version/);
  });

  test('a missing restic says how to install it', async () => {
    await assert.rejects(locateRestic({ PATH: '/nonexistent' }), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(error.hint!, /apt-get install restic/);
      return true;
    });
    await assert.rejects(locateRestic({ LIFEBOAT_RESTIC: '/nonexistent/restic' }), /not an executable file/);
  });

  test('feature flags follow the versions that introduced them', () => {
    assert.deepEqual(v014, {
      stdinFromCommand: false,
      distinctExitCodes: false,
      wrongPasswordExitCode: false,
      restoreJsonProgress: false,
    });
    assert.deepEqual(v017, {
      stdinFromCommand: true,
      distinctExitCodes: true,
      wrongPasswordExitCode: true,
      restoreJsonProgress: true,
    });
    const v0170 = resticFeatures(parseResticVersion('restic 0.17.0'));
    assert.equal(v0170.wrongPasswordExitCode, false);
    assert.equal(resticFeatures(parseResticVersion('restic 0.16.4')).restoreJsonProgress, true);
    assert.equal(resticFeatures(parseResticVersion('restic 1.0.0')).stdinFromCommand, true);
  });
});

describe('planning restic commands', () => {
  test('secrets travel in the environment, never in the arguments', () => {
    const env = resticEnv(access, { PATH: '/bin', RESTIC_PASSWORD_COMMAND: 'x', RESTIC_CACHE_DIR: '/c' });
    assert.equal(env.RESTIC_REPOSITORY, 's3:https://h/b/r');
    assert.equal(env.RESTIC_PASSWORD, 'repo-secret');
    assert.equal(env.AWS_SECRET_ACCESS_KEY, 'aws-secret');
    assert.equal(
      env.RESTIC_PASSWORD_COMMAND,
      undefined,
      'inherited RESTIC_* that change meaning are dropped',
    );
    assert.equal(env.RESTIC_CACHE_DIR, '/c');
    const withFile = resticEnv({ url: '/r', passwordFile: '/run/pw' }, {});
    assert.equal(withFile.RESTIC_PASSWORD_FILE, '/run/pw');
    assert.equal(withFile.RESTIC_PASSWORD, undefined);

    const plan = planStreamBackup(v017, access, { producer, filename: 'db.dump', tags: ['dataset:db'] });
    const argv = plan.args.join(' ');
    for (const secret of ['repo-secret', 'aws-secret', 'pg-secret']) assert.ok(!argv.includes(secret));
  });

  test('restic 0.14: pipe into --stdin, snapshot tagged pending', () => {
    const plan = planStreamBackup(v014, access, {
      producer,
      filename: 'db.dump',
      tags: ['dataset:db'],
      host: 'h1',
    });
    assert.equal(plan.mode, 'pipe');
    assert.deepEqual(plan.args, [
      'backup',
      '--json',
      '--stdin-filename=db.dump',
      '--tag=lifeboat:pending,dataset:db',
      '--host=h1',
      '--stdin',
    ]);
  });

  test('restic 0.17: --stdin-from-command, with the repository secrets unset for the producer', () => {
    const plan = planStreamBackup(v017, access, { producer, filename: 'db.dump', tags: ['dataset:db'] });
    assert.equal(plan.mode, 'restic');
    assert.deepEqual(plan.args.slice(4), [
      '--stdin-from-command',
      '--',
      'env',
      '-u',
      'RESTIC_REPOSITORY',
      '-u',
      'RESTIC_PASSWORD',
      '-u',
      'RESTIC_PASSWORD_FILE',
      '-u',
      'AWS_SECRET_ACCESS_KEY',
      'pg_dump',
      '--format=custom',
      'app',
    ]);
    assert.deepEqual(plan.resticEnv, { PGPASSWORD: 'pg-secret' });
  });

  test('restic 0.17 pipes when the producer needs a variable the repository also sets', () => {
    const clash = { ...producer, env: { AWS_SECRET_ACCESS_KEY: 'other' } };
    assert.equal(planStreamBackup(v017, access, { producer: clash, filename: 'f', tags: [] }).mode, 'pipe');
  });

  test('bad tags, file names and policies are refused', () => {
    const plan = (tags: string[], filename = 'f') =>
      planStreamBackup(v014, access, { producer, filename, tags });
    assert.throws(() => plan(['a,b']), UsageError);
    assert.throws(() => plan(['']), UsageError);
    assert.throws(() => plan(['lifeboat:complete']), /Lifeboat's own/);
    assert.throws(() => plan([], '../x'), UsageError);
    assert.throws(() => planForget({ tags: [], keepLast: 1, prune: false }), /at least one tag/);
    assert.throws(() => planForget({ tags: ['a'], prune: false }), /at least one keep rule/);
    assert.throws(() => planForget({ tags: ['a'], keepDaily: 0, prune: false }), /positive integer/);
  });

  test('forget: tags AND-ed in one --tag, no grouping unless asked', () => {
    assert.deepEqual(
      planForget({ tags: ['lifeboat:complete', 'dataset:db'], keepLast: 2, keepDaily: 7, prune: true }),
      [
        'forget',
        '--json',
        '--tag=lifeboat:complete,dataset:db',
        '--group-by=',
        '--keep-last=2',
        '--keep-daily=7',
        '--prune',
      ],
    );
  });

  test('paths backup ends options before the paths', () => {
    assert.deepEqual(planPathsBackup({ paths: ['-weird'], tags: ['dataset:f'], exclude: ['*.tmp'] }), [
      'backup',
      '--json',
      '--tag=lifeboat:pending,dataset:f',
      '--exclude=*.tmp',
      '--',
      '-weird',
    ]);
  });
});

describe('redaction', () => {
  test('URL passwords are masked, user names kept; credentials can be stripped', () => {
    assert.equal(
      redactUrl('rest:https://alice:s3cr3t@backup.example:8000/repo'),
      'rest:https://alice:***@backup.example:8000/repo',
    );
    assert.equal(redactUrl('/srv/restic'), '/srv/restic');
    assert.equal(redactUrl('sftp:bob@host:/srv'), 'sftp:bob@host:/srv');
    assert.equal(stripUrlCredentials('rest:https://alice:s3cr3t@h/repo'), 'rest:https://h/repo');
  });

  test('known secrets are masked wherever they appear, also percent-encoded', () => {
    const redact = createRedactor(['p@ss word', 'AKIASECRET', undefined, '']);
    assert.equal(
      redact('key AKIASECRET failed for http://u:p%40ss%20word@h/ and "p@ss word"'),
      'key *** failed for http://u:***@h/ and "***"',
    );
  });
});

describe('parsing restic output', () => {
  test('backup status and summary lines (restic 0.14, stdin)', () => {
    assert.deepEqual(
      parseBackupLine(
        '{"message_type":"status","seconds_elapsed":3,"seconds_remaining":1936658250405,"percent_done":0,"total_files":1,"bytes_done":28575115,"current_files":["/k.txt"]}',
      ),
      { type: 'status', progress: { bytesDone: 28575115, totalBytes: 0, percentDone: 0, secondsElapsed: 3 } },
    );
    const summary = parseBackupLine(
      '{"message_type":"summary","files_new":1,"data_added":1000354,"total_files_processed":1,"total_bytes_processed":1000000,"total_duration":0.2963072,"snapshot_id":"22f63727"}',
    );
    assert.deepEqual(summary, {
      type: 'summary',
      summary: {
        snapshotId: '22f63727',
        dataAdded: 1000354,
        totalBytesProcessed: 1000000,
        totalDurationSeconds: 0.2963072,
      },
    });
    assert.deepEqual(parseBackupLine('not json'), { type: 'other' });
  });

  test('snapshots and forget --json, including the text prune appends', () => {
    const raw = {
      time: '2026-11-23T13:59:22.694359278Z',
      tree: 'ce20',
      paths: ['/a.txt'],
      hostname: 'vm',
      username: 'root',
      tags: ['lifeboat:complete'],
      original: '45425bd4' + '0'.repeat(56),
      id: '423ad66a' + '1'.repeat(56),
      short_id: '423ad66a',
    };
    const [snapshot] = parseSnapshots(JSON.stringify([raw]) + '\n');
    assert.equal(snapshot!.shortId, '423ad66a');
    assert.equal(snapshot!.original, raw.original);
    assert.deepEqual(parseSnapshots('[]\n'), []);
    const forget = `${JSON.stringify([
      { keep: [raw], remove: null },
      { keep: [], remove: [{ ...raw, id: 'ff'.repeat(32), short_id: undefined, tags: null }] },
    ])}\nloading indexes...\nremoving 6 old packs\ndone\n`;
    const result = parseForget(forget);
    assert.deepEqual(
      result.kept.map((s) => s.shortId),
      ['423ad66a'],
    );
    assert.deepEqual(
      result.removed.map((s) => [s.shortId, s.tags]),
      [['ffffffff', []]],
    );
  });

  test('restic 0.17 relays the producer: exit status and stderr', () => {
    const stderr =
      'subprocess pg_dump: connection failed\nFatal: unable to save snapshot: command failed: exit status 3\n';
    assert.deepEqual(producerOutcome(stderr), {
      producer: { code: 3, signal: null },
      producerStderr: 'connection failed',
    });
    assert.deepEqual(producerOutcome('Fatal: command failed: signal: killed').producer, {
      code: null,
      signal: 'SIGKILL',
    });
    assert.deepEqual(producerOutcome('').producer, { code: 0, signal: null });
  });
});
