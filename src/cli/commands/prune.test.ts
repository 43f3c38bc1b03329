/** `lifeboat prune` as a user runs it: --dry-run explains, the real run removes, --json reports. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PruneReport } from '../../protect/prune.js';
import { runCli } from '../testing/run-cli.js';

let dir: string;
const plan = () => join(dir, 'lifeboat.yaml');
const snapshotIds: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-prune-cli-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(
    plan(),
    `version: 1
organization: Prune CLI
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
    retention: { last: 1 }
`,
  );
  for (const content of ['one', 'two']) {
    writeFileSync(join(dir, 'files', 'a.txt'), content);
    const result = await runCli(['backup', '--plan', plan(), '--json'], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    snapshotIds.push(
      (JSON.parse(result.stdout) as { results: { snapshotId: string }[] }).results[0]!.snapshotId,
    );
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('lifeboat prune', () => {
  test('--dry-run prints which runs would be kept or removed, and why, and changes nothing', async () => {
    const dry = await runCli(['prune', '--dry-run', '--plan', plan()], { timeoutMs: 60_000 });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: nothing is changed/);
    assert.match(dry.stdout, /docs \(retention: last 1\)/);
    assert.match(dry.stdout, /would be kept\s+last 1\/1/);
    assert.match(dry.stdout, /would be removed\s+beyond the retention \(last 1\)/);
    const listed = await runCli(['snapshots', '--plan', plan(), '--json']);
    assert.equal((JSON.parse(listed.stdout) as { snapshots: unknown[] }).snapshots.length, 2);
  });

  test('prune removes the older run from the repository and the state store; --json reports it', async () => {
    const result = await runCli(['prune', '--plan', plan(), '--json'], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as PruneReport;
    const repo = report.repositories[0]!;
    assert.equal(repo.pruned, true);
    assert.equal(repo.forgotten.length, 2, 'the old run: its files unit and its manifest');
    assert.deepEqual(
      repo.datasets[0]!.remove.map((r) => r.manifestId),
      [snapshotIds[0]],
    );
    const listed = await runCli(['snapshots', '--plan', plan(), '--json']);
    const left = (JSON.parse(listed.stdout) as { snapshots: { resticSnapshotId: string }[] }).snapshots;
    assert.deepEqual(
      left.map((s) => s.resticSnapshotId),
      [snapshotIds[1]],
    );

    const again = await runCli(['prune', '--plan', plan()], { timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to forget/);
  });
});
