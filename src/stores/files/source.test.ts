import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EnvironmentError } from '../../errors.js';
import { excluded } from './exclude.js';
import { filesSource } from './source.js';
import { compareFingerprints } from '../fingerprint.js';
import type { PathsUnit } from '../store.js';
import { runToolOk } from '../../system/tool.js';

describe('files source', () => {
  const root = mkdtempSync(join(tmpdir(), 'lifeboat-files-test-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const data = join(root, 'data');
  mkdirSync(join(data, 'nested', 'deeper'), { recursive: true });
  mkdirSync(join(data, 'empty-dir'));
  mkdirSync(join(data, 'cache'));
  writeFileSync(join(data, 'readme.txt'), 'hello\nworld\n');
  writeFileSync(join(data, 'empty'), '');
  writeFileSync(
    join(data, 'nested', 'blob.bin'),
    Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256)),
  );
  writeFileSync(join(data, 'nested', 'deeper', 'ünïcödé name.txt'), 'x');
  writeFileSync(join(data, 'nested', 'app.log'), 'excluded by *.log');
  writeFileSync(join(data, 'cache', 'big.tmp'), 'excluded with its directory');
  symlinkSync('readme.txt', join(data, 'link-to-readme'));
  const single = join(root, 'single.conf');
  writeFileSync(single, 'key = value\n');

  test('a restic backup and restore reproduces the fingerprint; a changed copy does not', async () => {
    const files = filesSource(
      { type: 'files', paths: ['data', single], exclude: ['*.log', 'cache'] },
      { dataset: 'docs', baseDir: root },
    );
    await files.check();
    const [unit] = (await files.units()) as PathsUnit[];
    assert.deepEqual(unit?.paths, [data, single]);

    // The real engine: restic backs the unit up and restores it under <target>/<absolute path>.
    const env = {
      RESTIC_REPOSITORY: join(root, 'repo'),
      RESTIC_PASSWORD: 'test',
      RESTIC_CACHE_DIR: join(root, 'restic-cache'),
    };
    await runToolOk('restic', ['init', '-q'], { env });
    await runToolOk(
      'restic',
      ['backup', '-q', ...unit.exclude.flatMap((e) => ['--exclude', e]), ...unit.paths],
      { env },
    );
    const target = join(root, 'restored');
    await runToolOk('restic', ['restore', 'latest', '-q', '--target', target], { env });

    const expected = await files.fingerprint();
    assert.deepEqual(expected.items[data], {
      files: 4,
      dirs: 4,
      symlinks: 1,
      bytes: 12 + 0 + 70_000 + 1,
      tree: expected.items[data]?.tree,
    });
    assert.equal(expected.items[join(data, 'nested', 'app.log')], undefined);
    assert.equal(expected.items[single]?.files, 1);
    assert.deepEqual(
      compareFingerprints(expected, await files.fingerprintOf({ kind: 'directory', path: target })),
      {
        equal: true,
        differences: [],
      },
    );

    writeFileSync(join(target, data, 'readme.txt'), 'hello\nWorld\n');
    unlinkSync(join(target, data, 'empty'));
    const changed = compareFingerprints(
      expected,
      await files.fingerprintOf({ kind: 'directory', path: target }),
    );
    assert.equal(changed.equal, false);
    assert.ok(changed.differences.includes(`${join(data, 'empty')}: missing from the restored copy`));
    assert.ok(changed.differences.some((d) => d.startsWith(`${join(data, 'readme.txt')}: sha256 expected`)));
    assert.ok(changed.differences.includes(`${data}: files expected 4, got 3`));
  });

  test('a missing path is an EnvironmentError naming it', async () => {
    const files = filesSource({ type: 'files', paths: ['/nonexistent/lifeboat/path'] }, { dataset: 'x' });
    await assert.rejects(
      files.check(),
      (error: unknown) =>
        error instanceof EnvironmentError && error.message.includes('/nonexistent/lifeboat/path'),
    );
  });
});

describe('restic exclude patterns', () => {
  test('match by name anywhere, anchored from the root, and take directory contents along', () => {
    assert.equal(excluded('/srv/app/x.log', ['*.log']), true);
    assert.equal(excluded('/srv/app/x.log.1', ['*.log']), false);
    assert.equal(excluded('/srv/cache/a/b', ['cache']), true);
    assert.equal(excluded('/srv/cache/a/b', ['/srv/cache']), true);
    assert.equal(excluded('/other/srv/cache', ['/srv/cache']), false);
    assert.equal(excluded('/srv/a/b/tmp/c', ['srv/**/tmp']), true);
    assert.equal(excluded('/srv/a/tmpx', ['srv/**/tmp']), false);
    assert.equal(excluded('/srv/file7', ['file[0-9]']), true);
    assert.equal(excluded('/srv/filex', ['file[!0-9]']), true);
    assert.equal(excluded('/srv/a.b', ['a?b']), true);
    assert.equal(excluded('/srv/axxb', ['a?b']), false);
  });
});
