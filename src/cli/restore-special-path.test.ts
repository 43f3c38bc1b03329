/**
 * A restore into a path the kernel serves (/proc, /sys), where no directory can be created:
 * it fails at once with a usage error naming the path, rather than retrying mkdir forever
 * at full CPU (which also left no moment to handle SIGTERM). Run as a child with a timeout,
 * since such a loop would block the test's own process too.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './testing/run-cli.js';

let dir: string;
const plan = () => join(dir, 'lifeboat.yaml');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-special-path-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'a.txt'), 'alpha\n');
  writeFileSync(
    plan(),
    `version: 1
organization: Special Path Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
`,
  );
  const backup = await runCli(['backup', '--plan', plan()], { timeoutMs: 60_000 });
  assert.equal(backup.code, 0, backup.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

for (const target of ['/proc/lifeboat-restore-target', '/proc/sys/lifeboat/restore-target']) {
  test(`restore --to ${target} fails fast, naming the path`, { timeout: 30_000 }, async () => {
    const result = await runCli(['restore', 'docs', '--to', target, '--plan', plan()], { timeoutMs: 15_000 });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`cannot create the directory ${target}`));
    assert.ok(result.ms < 15_000);
  });
}
