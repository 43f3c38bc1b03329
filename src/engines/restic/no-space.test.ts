/**
 * A full disk under a repository, a restore target or the lock directory is reported as
 * what it is, with the path, not as a lock held by someone else or "There were N errors":
 * a real restic on a 2 MiB tmpfs. The repository's password is a word of restic's message
 * about it ("device"), which must not hide the cause.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError } from '../../errors.js';
import { fill, mountTmpfs, unmount } from '../../system/testing/tmpfs.js';
import { acquireLock } from './lock.js';
import { ResticRepository } from './repository.js';

const PASSWORD = 'device';

describe('a full disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-no-space-'));
  const mnt = join(dir, 'small');
  const skip = mountTmpfs(mnt, '2m');
  const open = (url: string) =>
    new ResticRepository({
      url,
      password: PASSWORD,
      lockDir: join(dir, 'locks'),
      cacheDir: join(dir, 'cache'),
    });
  const big = join(dir, 'big');

  before(() => writeFileSync(big, randomBytes(6 * 1024 * 1024)));
  after(() => {
    if (!skip) unmount(mnt);
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'under a repository, a backup larger than the disk says no space, not "locked"',
    { skip },
    async () => {
      const repo = open(join(mnt, 'repo'));
      await repo.init();
      const error = await repo.backupPaths({ paths: [big], tags: ['t'] }).then(
        () => assert.fail('the backup fitted on a 2 MiB disk'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof EnvironmentError, String(error));
      assert.match(error.message, /no space left on device/);
      assert.match(error.message, new RegExp(mnt));
      assert.doesNotMatch(error.message + (error.hint ?? ''), /locked|unlock/);
      assert.match(error.hint ?? '', /free space/);

      // Now full: even restic's lock file cannot be written, which restic reports as a lock failure.
      fill(mnt);
      const locked = await repo.snapshots().then(
        () => assert.fail('restic listed snapshots without a lock'),
        (e: unknown) => e,
      );
      assert.ok(locked instanceof EnvironmentError, String(locked));
      assert.match(locked.message, /no space left on device/);
      assert.doesNotMatch(locked.message + (locked.hint ?? ''), /locked|unlock/);
      for (const name of readdirSync(mnt)) if (name.startsWith('filler-')) rmSync(join(mnt, name));
    },
  );

  test('under a restore target, a files restore says no space and where', { skip }, async () => {
    const repo = open(join(dir, 'repo-big'));
    await repo.init();
    const saved = await repo.backupPaths({ paths: [big], tags: ['t'] });
    const target = join(mnt, 'restore');
    const error = await repo.restoreTo(saved.snapshotId, target).then(
      () => assert.fail('6 MiB were restored onto a 2 MiB disk'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof EnvironmentError, String(error));
    assert.match(error.message, /no space left on device/);
    assert.match(error.message, new RegExp(target));
    assert.doesNotMatch(error.message, /There were \d+ errors/);
    rmSync(target, { recursive: true, force: true });
  });

  test('under the lock directory, taking a lock says no space and leaves no file', { skip }, async () => {
    const locks = join(mnt, 'locks');
    await acquireLock('k', { dir: locks }).then((lock) => lock.release());
    fill(mnt);
    const error = await acquireLock('key', { dir: locks }).then(
      () => assert.fail('a lock was written on a full disk'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof EnvironmentError, String(error));
    assert.match(error.message, /no space left on device/);
    assert.deepEqual(
      readdirSync(locks).filter((n) => n.endsWith('.tmp')),
      [],
      'the lock left its temporary file behind',
    );
    assert.equal(existsSync(join(locks)), true);
  });
});
