/**
 * A password that is also a word of restic's messages: restic's output is classified as
 * restic printed it, and only what is shown is redacted. A real restic.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EnvironmentError } from '../../errors.js';
import { resticError } from './errors.js';
import { ResticRepository } from './repository.js';

describe('a password that is a word of restic messages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-secret-word-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const open = (password: string) =>
    new ResticRepository({
      url: join(dir, 'repo'),
      password,
      lockDir: join(dir, 'locks'),
      cacheDir: join(dir, 'cache'),
    });

  test('a wrong password "password" is still reported as a wrong password', async () => {
    await open('the right one').init();
    const error = await open('password')
      .snapshots()
      .then(
        () => assert.fail('a wrong password opened the repository'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof EnvironmentError, String(error));
    assert.equal(error.details?.reason, 'wrong-password');
    assert.match(error.message, /wrong password for restic repository/);
    // restic's phrase is shown as restic printed it: a mask there would spell the password.
    assert.match(String(error.details?.stderr), /wrong password or no key found/);
    assert.doesNotMatch(String(error.details?.stderr), /\*\*\*/);
  });

  test('classification reads the raw text; messages show the redacted one', () => {
    const raw = 'unable to create lock in backend: repository is already locked by PID 7 on vm by root\n';
    const shown = raw.split('repository').join('***');
    const error = resticError({
      operation: 'backup',
      repository: '/r',
      exitCode: 1,
      signal: null,
      stderr: shown,
      rawStderr: raw,
    });
    assert.equal(error.details?.reason, 'locked');
    assert.doesNotMatch(JSON.stringify(error.toJSON()), /repository is already/);
  });
});
