/**
 * A generated repository key that goes missing is a lost key, never a reason to make a new
 * one: the built CLI, a files dataset, a real restic repository.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../cli/testing/run-cli.js';
import { loadPlanFile } from '../plan/load.js';
import { createProtectContext } from './context.js';

const PLAN = `version: 1
organization: Key Loss Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
`;

describe('a lost generated repository key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-key-loss-'));
  const key = join(dir, '.lifeboat', 'repository.key');
  const lifeboat = (...args: string[]) =>
    runCli([...args, '--plan', join(dir, 'lifeboat.yaml')], { cwd: dir, timeoutMs: 60_000 });

  before(async () => {
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', 'README'), 'keep me\n');
    writeFileSync(join(dir, 'lifeboat.yaml'), PLAN);
    const first = await lifeboat('backup');
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(key), 'the first backup generates the key');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('backup, verify and restore refuse, say where the key was expected, and make no new key', async () => {
    const original = readFileSync(key);
    rmSync(key);
    // backup and verify report each dataset's failure and exit 1 for the run; restore, which
    // acts on one dataset, exits with the error's own code: 3, the environment is missing something.
    for (const [command, code] of [
      [['backup'], 1],
      [['verify'], 1],
      [['restore', 'docs', '--to', join(dir, 'restored')], 3],
    ] as const) {
      const result = await lifeboat(...command);
      assert.equal(result.code, code, `${command[0]}: ${result.stdout}${result.stderr}`);
      assert.match(
        result.stdout + result.stderr,
        /key of repository local is missing: expected at .*repository\.key/,
      );
      assert.match(result.stdout + result.stderr, /docs\/recover-without-lifeboat\.md/);
      assert.doesNotMatch(result.stdout + result.stderr, /wrong password/);
      assert.equal(existsSync(key), false, `${command[0]} generated a new key`);
    }
    const doctor = await lifeboat('doctor');
    assert.equal(doctor.code, 3, doctor.stdout);
    assert.match(doctor.stdout, /repository\.key is missing/);

    // The copy put back: work goes on with the same key.
    writeFileSync(key, original, { mode: 0o600 });
    const again = await lifeboat('backup');
    assert.equal(again.code, 0, again.stderr);
  });

  test('a long-running process (the scheduler) finds the key once it is put back', async () => {
    const original = readFileSync(key);
    rmSync(key);
    const context = createProtectContext(loadPlanFile(join(dir, 'lifeboat.yaml')));
    try {
      await assert.rejects(context.repository('local'), /key of repository local is missing/);
      writeFileSync(key, original, { mode: 0o600 });
      const repository = await context.repository('local');
      assert.ok((await repository.snapshots()).length > 0);
    } finally {
      await context.close();
    }
  });

  test('a repository whose files are gone but which the state store knows gets no new key either', async () => {
    // The repository's disk is not mounted: no config, but backups were recorded in it.
    rmSync(join(dir, '.lifeboat', 'repository'), { recursive: true, force: true });
    rmSync(key, { force: true });
    const result = await lifeboat('restore', 'docs', '--to', join(dir, 'restored-2'));
    assert.equal(result.code, 3, result.stdout + result.stderr);
    assert.match(result.stderr, /state store records backups in it/);
    assert.equal(existsSync(key), false);
  });
});
