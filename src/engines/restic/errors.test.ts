import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvironmentError, OperationError } from '../../errors.js';
import { classifyResticFailure, keyLine, lockHolder, resticError } from './errors.js';

// stderr as restic 0.14.0 printed it in these situations (paths and hosts shortened).
const STDERR = {
  wrongPassword: 'Fatal: wrong password or no key found\n',
  missingLocal:
    'Fatal: unable to open config file: stat /tmp/x/nope/config: no such file or directory\n' +
    'Is there a repository at the following location?\n/tmp/x/nope\n',
  missingS3:
    'Fatal: unable to open config file: Stat: The specified key does not exist.\n' +
    'Is there a repository at the following location?\ns3:https://127.0.0.1:35263/bucket/nothere\n',
  locked:
    'unable to create lock in backend: repository is already locked by PID 13588 on vm by root (UID 0, GID 0)\n' +
    'lock was created at 2026-11-23 13:59:49 (3.28429592s ago)\nstorage ID 008151db\n' +
    'the `unlock` command can be used to remove stale locks\n',
  refused:
    'Fatal: unable to open config file: Stat: Get "https://127.0.0.1:1/bucket/?location=": dial tcp 127.0.0.1:1: connect: connection refused\n' +
    'Is there a repository at the following location?\ns3:https://127.0.0.1:1/bucket/r\n',
  noSuchHost:
    'Fatal: unable to open config file: Stat: Get "https://nosuchhost.invalid/bucket/?location=": dial tcp: lookup nosuchhost.invalid on 10.0.0.53:53: no such host\n' +
    'Is there a repository at the following location?\ns3:https://nosuchhost.invalid/bucket/r\n',
  untrusted:
    'Fatal: unable to open config file: Stat: Get "https://127.0.0.1:35263/bucket/?location=": x509: certificate signed by unknown authority\n' +
    'Is there a repository at the following location?\ns3:https://127.0.0.1:35263/bucket/repo\n',
  restRefused:
    'Fatal: unable to open config file: client.Head: Head "http://user:***@127.0.0.1:1/r/config": dial tcp 127.0.0.1:1: connect: connection refused\n' +
    'Is there a repository at the following location?\nrest:http://user:***@127.0.0.1:1/r/\n',
  sftpRefused:
    'Fatal: unable to open repository at sftp:nobody@127.0.0.1:/x: unable to start the sftp session, error: EOF\n' +
    'subprocess ssh: ssh: connect to host 127.0.0.1 port 22: Connection refused\n',
  initExists: 'Fatal: create repository at /tmp/x/repo failed: config file already exists\n\n',
  checkErrors:
    'error for tree 1234abcd:\n  tree 1234abcd not found in repository\nFatal: repository contains errors\n',
};

describe('classifyResticFailure (restic 0.14 texts, exit 1)', () => {
  const cases: [keyof typeof STDERR, string][] = [
    ['wrongPassword', 'wrong-password'],
    ['missingLocal', 'repository-missing'],
    ['missingS3', 'repository-missing'],
    ['locked', 'locked'],
    ['refused', 'unreachable'],
    ['noSuchHost', 'unreachable'],
    ['untrusted', 'unreachable'],
    ['restRefused', 'unreachable'],
    ['sftpRefused', 'unreachable'],
    ['initExists', 'already-initialized'],
    ['checkErrors', 'other'],
  ];
  for (const [name, kind] of cases) {
    test(`${name} → ${kind}`, () => assert.equal(classifyResticFailure(1, STDERR[name]), kind));
  }
});

describe('classifyResticFailure (restic 0.17+ exit codes)', () => {
  test('10 is a missing repository, 11 a lock, 12 a wrong password, whatever the text', () => {
    assert.equal(
      classifyResticFailure(10, 'Fatal: repository does not exist: unable to open config file'),
      'repository-missing',
    );
    assert.equal(classifyResticFailure(11, 'Fatal: unable to lock'), 'locked');
    assert.equal(classifyResticFailure(12, 'Fatal: something'), 'wrong-password');
  });
  test('a connection failure wins over exit 10', () => {
    assert.equal(classifyResticFailure(10, STDERR.refused), 'unreachable');
  });
});

describe('resticError', () => {
  const base = { operation: 'snapshots', repository: 's3:https://h/b/r', exitCode: 1, signal: null };

  test('each environment failure names the repository and says what to do', () => {
    const wrong = resticError({ ...base, stderr: STDERR.wrongPassword });
    assert.ok(wrong instanceof EnvironmentError);
    assert.equal(wrong.message, 'wrong password for restic repository s3:https://h/b/r');
    assert.match(wrong.hint!, /password/);
    assert.equal(wrong.details?.reason, 'wrong-password');

    const missing = resticError({ ...base, stderr: STDERR.missingLocal });
    assert.equal(missing.message, 'there is no restic repository at s3:https://h/b/r');
    assert.match(missing.hint!, /restic init/);

    const locked = resticError({ ...base, stderr: STDERR.locked });
    assert.match(locked.message, /is locked by PID 13588 on vm by root/);
    assert.match(locked.hint!, /wait/);
    assert.match(locked.hint!, /restic -r s3:https:\/\/h\/b\/r unlock/);

    const tls = resticError({ ...base, stderr: STDERR.untrusted });
    assert.match(tls.message, /^cannot reach restic repository s3:https:\/\/h\/b\/r: Fatal: .*x509/);
    assert.match(tls.hint!, /cacert/);
    const refused = resticError({ ...base, stderr: STDERR.refused });
    assert.match(refused.hint!, /running/);
  });

  test("anything else is an operation failure with restic's Fatal line", () => {
    const error = resticError({ ...base, operation: 'check', stderr: STDERR.checkErrors });
    assert.ok(error instanceof OperationError);
    assert.equal(
      error.message,
      'restic check failed (exit 1) on s3:https://h/b/r: Fatal: repository contains errors',
    );
    const killed = resticError({ ...base, exitCode: null, signal: 'SIGKILL', stderr: '' });
    assert.equal(killed.message, 'restic snapshots was killed by SIGKILL on s3:https://h/b/r');
  });

  test('keyLine and lockHolder', () => {
    assert.equal(keyLine('a\nFatal: boom\nb\n'), 'Fatal: boom');
    assert.equal(keyLine('one\ntwo\n\n'), 'two');
    assert.equal(keyLine(''), '');
    assert.equal(lockHolder(STDERR.locked), 'PID 13588 on vm by root');
    assert.equal(lockHolder('nothing'), undefined);
  });
});
