/** Private temporary directories: 0700, and removed once the process that made them is gone, even by SIGKILL. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { privateTempDir, privateTempRoot, reapStaleTempDirs } from './private-temp.js';

const MODULE = fileURLToPath(new URL('./private-temp.js', import.meta.url));

describe('privateTempDir', () => {
  test('is 0700 under a 0700 root of this user', () => {
    const dir = privateTempDir('test-');
    try {
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(privateTempRoot()).mode & 0o777, 0o700);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("a SIGKILLed process's directory is reaped; a live one's is kept", async () => {
    const mine = privateTempDir('test-');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { privateTempDir } = await import(${JSON.stringify(MODULE)}); console.log(privateTempDir('test-')); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const theirs = await new Promise<string>((resolve) =>
      child.stdout.setEncoding('utf8').once('data', (line: string) => resolve(line.trim())),
    );
    assert.ok(existsSync(theirs));
    assert.deepEqual(
      reapStaleTempDirs().filter((d) => d === theirs),
      [],
      'a live process lost its directory',
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(reapStaleTempDirs().includes(theirs));
    assert.equal(existsSync(theirs), false);
    assert.ok(existsSync(mine));
    rmSync(mine, { recursive: true });
  });
});
