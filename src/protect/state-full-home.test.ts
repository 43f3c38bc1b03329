/**
 * A full disk under Lifeboat's home: commands say no space is left and where, rather
 * than as a bug, and leave no lock or temporary file behind. The built CLI on a 2 MiB tmpfs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../cli/testing/run-cli.js';
import { fill, mountTmpfs, unmount } from '../system/testing/tmpfs.js';

describe('a full Lifeboat home', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-full-home-'));
  const home = join(dir, 'home');
  const skip = mountTmpfs(home, '2m');
  after(() => {
    if (!skip) unmount(home);
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'backup and status say no space is left, not an internal error, and leave no lock file',
    { skip },
    async () => {
      mkdirSync(join(dir, 'files'));
      writeFileSync(join(dir, 'files', 'a'), 'a\n');
      writeFileSync(
        join(dir, 'lifeboat.yaml'),
        `version: 1
organization: Full Home Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
`,
      );
      const env = { ...process.env, LIFEBOAT_HOME: home };
      const lifeboat = (...args: string[]) =>
        runCli([...args, '--plan', join(dir, 'lifeboat.yaml')], { env, timeoutMs: 60_000 });
      const first = await lifeboat('backup');
      assert.equal(first.code, 0, first.stderr);
      fill(home);

      const backup = await lifeboat('backup');
      assert.notEqual(backup.code, 70, backup.stderr);
      assert.notEqual(backup.code, 0);
      assert.match(backup.stdout + backup.stderr, /no space left on device/i);
      const leftovers = readdirSync(join(home, 'locks')).filter(
        (n) => n.endsWith('.tmp') || n.endsWith('.lock'),
      );
      assert.deepEqual(leftovers, []);

      const status = await lifeboat('status');
      assert.equal(status.code, 3, status.stdout + status.stderr);
      assert.match(status.stderr, /no space left on device: cannot write the state store/);
    },
  );
});
