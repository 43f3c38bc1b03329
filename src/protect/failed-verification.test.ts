/**
 * A recovery point whose verification failed, for real: the pack files the newest backup
 * wrote are damaged in the restic repository, `lifeboat verify` then fails on it. From then
 * on status is not compliant (and says why), the metrics agree, snapshots shows the failed
 * verification, and a restore without --snapshot starts from the newest point that has not
 * failed, naming the one it skipped.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../cli/testing/run-cli.js';
import type { SnapshotRecord } from '../state/store.js';
import type { StatusRow } from './status.js';

let dir: string;
const plan = () => join(dir, 'lifeboat.yaml');
const packDir = () => join(dir, '.lifeboat', 'repository', 'data');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-failed-verification-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(
    plan(),
    `version: 1
organization: Failed Verification Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
`,
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

function packs(): string[] {
  return readdirSync(packDir(), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Overwrites the middle of a pack: its blobs no longer match their hashes. */
function damage(file: string): void {
  const size = readFileSync(file).length;
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, randomBytes(Math.min(64, size)), 0, Math.min(64, size), Math.floor(size / 2));
  } finally {
    closeSync(fd);
  }
}

async function backup(content: string): Promise<string> {
  writeFileSync(join(dir, 'files', 'a.txt'), content);
  const result = await runCli(['backup', '--plan', plan(), '--json'], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { results: { snapshotId: string }[] }).results[0]!.snapshotId;
}

test(
  'the newest recovery point failing its verification makes status fail and restore skip it',
  { timeout: 240_000 },
  async () => {
    const good = await backup('good data\n');
    const verified = await runCli(['verify', '--plan', plan(), '--json'], { timeoutMs: 120_000 });
    assert.equal(verified.code, 0, verified.stderr);

    const before = new Set(packs());
    const bad = await backup(`newer data ${randomBytes(4096).toString('hex')}\n`);
    const written = packs().filter((p) => !before.has(p));
    assert.ok(written.length > 0, 'the newer backup wrote pack files');
    for (const pack of written) damage(pack);

    const failed = await runCli(['verify', '--plan', plan(), '--json'], { timeoutMs: 120_000 });
    assert.notEqual(failed.code, 0, 'the verification of the damaged point fails');

    // status: not compliant, with the reason; --check exits 1 as for any non-compliance.
    const check = await runCli(['status', '--check', '--plan', plan(), '--json'], { timeoutMs: 60_000 });
    assert.equal(check.code, 1, check.stderr);
    const row = (JSON.parse(check.stdout) as { datasets: StatusRow[] }).datasets[0]!;
    assert.equal(row.compliant, false);
    assert.equal(row.newest?.snapshotId, bad);
    assert.ok(row.newestFailedVerification, 'the failed verification is in the row');
    assert.match(
      row.reasons.join('\n'),
      new RegExp(
        `newest recovery point ${bad.slice(0, 8)} failed its verification .* ago: .*restore skips it`,
      ),
    );

    // The metrics say the same.
    const metrics = await runCli(['status', '--format', 'prometheus', '--plan', plan()], {
      timeoutMs: 60_000,
    });
    assert.equal(metrics.code, 0, metrics.stderr);
    assert.match(metrics.stdout, /^lifeboat_dataset_compliant\{dataset="docs"\} 0$/m);
    assert.match(metrics.stdout, /^lifeboat_newest_recovery_point_verification_failed\{dataset="docs"\} 1$/m);

    // snapshots shows which point failed its verification.
    const listed = await runCli(['snapshots', '--plan', plan(), '--json']);
    const rows = (
      JSON.parse(listed.stdout) as {
        snapshots: (SnapshotRecord & { verification: { ok: boolean } | null })[];
      }
    ).snapshots;
    assert.deepEqual(
      rows.map((r) => [r.resticSnapshotId, r.verification?.ok]),
      [
        [bad, false],
        [good, true],
      ],
    );
    const table = await runCli(['snapshots', '--plan', plan()]);
    assert.match(table.stdout, new RegExp(`${bad.slice(0, 8)}.*FAILED`));

    // restore without --snapshot starts from the good point and says which it skipped, and why.
    const to = join(dir, 'restored');
    const restore = await runCli(['restore', 'docs', '--to', to, '--plan', plan(), '--json'], {
      timeoutMs: 120_000,
    });
    assert.equal(restore.code, 0, restore.stderr);
    const point = (
      JSON.parse(restore.stdout) as {
        plan: { recoveryPoint: { snapshotId: string; chosenBy: string; skipped: { snapshotId: string }[] } };
      }
    ).plan.recoveryPoint;
    assert.equal(point.snapshotId, good);
    assert.deepEqual(
      point.skipped.map((s) => s.snapshotId),
      [bad],
    );
    assert.match(point.chosenBy, new RegExp(`skipped ${bad.slice(0, 8)}: its verification failed`));
    const restored = readdirSync(to, { recursive: true, withFileTypes: true }).find(
      (e) => e.name === 'a.txt',
    );
    assert.ok(restored, 'the file was restored');
    assert.equal(readFileSync(join(restored.parentPath, restored.name), 'utf8'), 'good data\n');
  },
);
