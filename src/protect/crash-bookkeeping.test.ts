/**
 * Crash safety of the bookkeeping between restic and the state store: a real `lifeboat`
 * process is stopped at the named moment (LIFEBOAT_TEST_PAUSE_AT, see pause-point.ts) and
 * its whole process group SIGKILLed there, as a host crash would. After each kill: no
 * process of the group is left, `restic check` passes, and the next command (status,
 * snapshots, catalog rebuild, restore) finds the state store agreeing with the repository.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { killGroup, spawnCli, type CliProcess } from '../cli/testing/cli-process.js';
import { runCli } from '../cli/testing/run-cli.js';
import { parseSnapshots, type Snapshot } from '../engines/restic/output.js';
import type { SnapshotRecord } from '../state/store.js';
import type { CatalogReport } from './catalog.js';
import type { StatusRow } from './status.js';

const exec = promisify(execFile);
let dir: string;
const plan = () => join(dir, 'lifeboat.yaml');
const resticEnv = () => ({
  ...process.env,
  RESTIC_REPOSITORY: join(dir, '.lifeboat', 'repository'),
  RESTIC_PASSWORD_FILE: join(dir, '.lifeboat', 'repository.key'),
});
const running: CliProcess[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-crash-bookkeeping-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(
    plan(),
    `version: 1
organization: Crash Bookkeeping Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
    retention: { last: 1 }
`,
  );
});

after(async () => {
  for (const child of running) await killGroup(child).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the command, waits until it pauses at `phase`, and kills its whole group there. */
async function killAt(phase: string, args: string[]): Promise<void> {
  const paused = join(dir, 'paused');
  rmSync(paused, { force: true });
  const child = spawnCli([...args, '--plan', plan(), '--json'], {
    ...process.env,
    LIFEBOAT_TEST_PAUSE_AT: phase,
    LIFEBOAT_TEST_PAUSED_FILE: paused,
  });
  running.push(child);
  await waitForPause(child, paused, phase);
  await killGroup(child); // throws if any process of the group survived
  await exec('restic', ['check'], { env: resticEnv() });
}

async function waitForPause(child: CliProcess, file: string, phase: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!existsSync(file) || readFileSync(file, 'utf8') !== phase) {
    assert.ok(
      Date.now() < deadline,
      `the process did not pause at ${phase}; stderr:\n${child.stderr.join('\n')}`,
    );
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function repositorySnapshots(): Promise<Snapshot[]> {
  return parseSnapshots(
    (await exec('restic', ['snapshots', '--json', '--no-lock'], { env: resticEnv() })).stdout,
  );
}

async function manifestOf(run: (s: Snapshot) => boolean): Promise<Snapshot> {
  const manifests = (await repositorySnapshots()).filter(
    (s) => s.tags.includes('unit=lifeboat-manifest.json') && s.tags.includes('lifeboat:complete') && run(s),
  );
  assert.equal(manifests.length, 1, 'one complete manifest');
  return manifests[0]!;
}

async function records(all = true): Promise<SnapshotRecord[]> {
  const listed = await runCli(['snapshots', ...(all ? ['--all'] : []), '--plan', plan(), '--json'], {
    timeoutMs: 60_000,
  });
  assert.equal(listed.code, 0, listed.stderr);
  return (JSON.parse(listed.stdout) as { snapshots: SnapshotRecord[] }).snapshots;
}

async function backup(content: string): Promise<string> {
  writeFileSync(join(dir, 'files', 'a.txt'), content);
  const result = await runCli(['backup', '--plan', plan(), '--json'], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { results: { snapshotId: string }[] }).results[0]!.snapshotId;
}

const runOf = (s: Snapshot) => s.tags.find((t) => t.startsWith('run='))!.slice('run='.length);

test(
  'a backup killed after its manifest is stored is a recovery point at the next status, never listed twice',
  { timeout: 120_000 },
  async () => {
    writeFileSync(join(dir, 'files', 'a.txt'), 'one');
    await killAt('backup:manifest-stored', ['backup']);
    const manifest = await manifestOf(() => true);

    // status, with nothing run in between, shows the run as the newest recovery point.
    const status = await runCli(['status', '--plan', plan(), '--json'], { timeoutMs: 60_000 });
    assert.equal(status.code, 0, status.stderr);
    const row = (JSON.parse(status.stdout) as { datasets: StatusRow[] }).datasets[0]!;
    assert.equal(row.newest?.snapshotId, manifest.id);
    assert.equal(row.lastFailure, null);

    // catalog rebuild finds it known: nothing added, one record for the run.
    const rebuilt = await runCli(['catalog', 'rebuild', '--plan', plan(), '--json'], { timeoutMs: 60_000 });
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.deepEqual((JSON.parse(rebuilt.stdout) as CatalogReport).repositories[0]!.inserted, []);
    const ofRun = (await records()).filter((r) => r.runId === runOf(manifest));
    assert.deepEqual(
      ofRun.map((r) => [r.status, r.resticSnapshotId]),
      [['complete', manifest.id]],
    );
  },
);

test(
  'catalog rebuild right after such a crash records the run once, and twice running it changes nothing',
  { timeout: 120_000 },
  async () => {
    writeFileSync(join(dir, 'files', 'a.txt'), 'two');
    const before = new Set((await repositorySnapshots()).map((s) => s.id));
    await killAt('backup:manifest-stored', ['backup']);
    const manifest = await manifestOf((s) => !before.has(s.id));

    for (const round of [1, 2]) {
      const rebuilt = await runCli(['catalog', 'rebuild', '--plan', plan(), '--json'], {
        timeoutMs: 60_000,
      });
      assert.equal(rebuilt.code, 0, rebuilt.stderr);
      assert.deepEqual(
        (JSON.parse(rebuilt.stdout) as CatalogReport).repositories[0]!.inserted,
        [],
        `round ${round}`,
      );
    }
    const all = await records();
    assert.deepEqual(
      all.filter((r) => r.runId === runOf(manifest)).map((r) => [r.status, r.resticSnapshotId]),
      [['complete', manifest.id]],
    );
    const ids = all.flatMap((r) => (r.runId ? [r.runId] : []));
    assert.equal(new Set(ids).size, ids.length, 'one record per run');
  },
);

test(
  'a prune killed after restic forgot a run leaves no record of it: restoring it says it does not exist',
  { timeout: 180_000 },
  async () => {
    const older = await backup('three');
    const newer = await backup('four');
    await killAt('prune:forgotten', ['prune']);
    const left = new Set((await repositorySnapshots()).map((s) => s.id));
    assert.ok(!left.has(older), 'restic forgot the older run before the kill');
    assert.ok(left.has(newer));

    const restore = await runCli(
      ['restore', 'docs', '--snapshot', older.slice(0, 8), '--to', join(dir, 'restored'), '--plan', plan()],
      { timeoutMs: 60_000 },
    );
    assert.equal(restore.code, 2, restore.stderr);
    assert.match(
      restore.stderr,
      new RegExp(`no recovery point with a snapshot id starting with ${older.slice(0, 8)}`),
    );
    const complete = (await records(false)).map((r) => r.resticSnapshotId);
    assert.ok(!complete.includes(older), 'snapshots no longer lists the forgotten run');
    assert.ok(complete.includes(newer));
    await exec('restic', ['check'], { env: resticEnv() });
  },
);
