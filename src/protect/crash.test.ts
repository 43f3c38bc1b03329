/**
 * Crash safety of a backup (principle 2: a crash leaves a consistent state).
 *
 * `lifeboat backup` of a throwaway PostgreSQL (pgbench scale 20: a dump of ~200 MB that
 * takes seconds) runs as a child process and is SIGKILLed at several moments: early (0.5 s,
 * 1.5 s, 3 s: start-up, source checks, fingerprint), while the dump streams into restic,
 * and while the manifest is written. The whole process group is killed, as a host crash
 * would kill node, restic and pg_dump together. Once, only the node process is killed,
 * and what its orphaned restic and pg_dump do is observed.
 *
 * Then: no run of those is a recovery point (no complete manifest); `lifeboat status`
 * shows the interrupted backup with its reason; the next `lifeboat backup` succeeds and
 * removes restic's stale locks itself, after which `restic check` passes; the killed runs
 * are recorded failed; and `lifeboat prune` removes what they left in the repository.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { groupMembers } from '../cli/testing/cli-process.js';
import { BIN, runCli } from '../cli/testing/run-cli.js';
import type { SnapshotRecord } from '../state/store.js';
import type { PruneReport } from './prune.js';
import { parseSnapshots, type Snapshot } from '../engines/restic/output.js';
import { startPostgres, type PostgresInstance } from '../stores/postgres/sandbox.js';
import type { StatusRow } from './status.js';

const exec = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let dir: string;
let pg: PostgresInstance;
const plan = () => join(dir, 'lifeboat.yaml');
const home = () => join(dir, '.lifeboat');
const resticEnv = () => ({
  ...process.env,
  RESTIC_REPOSITORY: join(home(), 'repository'),
  RESTIC_PASSWORD_FILE: join(home(), 'repository.key'),
});
const started = Date.now();
const groups: number[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-crash-'));
  pg = await startPostgres({ fast: true });
  await pg.psql('CREATE DATABASE bench');
  await exec('pgbench', [
    '-i',
    '-s',
    '20',
    '-q',
    '-h',
    pg.socketDir,
    '-p',
    String(pg.port),
    '-U',
    'postgres',
    'bench',
  ]);
  writeFileSync(
    plan(),
    `version: 1
organization: Crash Test
document: { next_review: 2099-01-01 }
datasets:
  db:
    rpo: 1h
    source: { type: postgres, url: "${pg.urlFor('bench')}", databases: [bench] }
    backup: { every: 15m }
`,
  );
});

after(async () => {
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

interface Backup {
  pid: number;
  events: { event: string; unit?: string; run?: string }[];
  exited: Promise<void>;
}

/** `lifeboat backup --json` in its own process group; its progress events are collected. */
function startBackup(): Backup {
  const child = spawn(process.execPath, [BIN, 'backup', '--plan', plan(), '--json'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  groups.push(child.pid!);
  const backup: Backup = {
    pid: child.pid!,
    events: [],
    exited: new Promise((r) => child.on('close', () => r())),
  };
  let buffer = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        const event = JSON.parse(line) as Backup['events'][number];
        if (event.event !== 'progress') backup.events.push(event);
      } catch {
        // not an event line
      }
    }
  });
  return backup;
}

async function until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(50);
  }
}

const dumpStarted = (b: Backup) =>
  b.events.some((e) => e.event === 'unit-start' && e.unit === 'postgres/bench.dump');
const dumpDone = (b: Backup) =>
  b.events.some((e) => e.event === 'unit-done' && e.unit === 'postgres/bench.dump');

async function repositorySnapshots(): Promise<Snapshot[]> {
  try {
    return parseSnapshots(
      (await exec('restic', ['snapshots', '--json', '--no-lock'], { env: resticEnv() })).stdout,
    );
  } catch {
    return []; // no repository yet (every run killed before restic init)
  }
}

async function resticLocks(): Promise<string[]> {
  try {
    const out = (await exec('restic', ['list', 'locks', '--no-lock'], { env: resticEnv() })).stdout.trim();
    return out ? out.split('\n') : [];
  } catch {
    return [];
  }
}

test(
  'a backup killed at any moment leaves nothing that counts as good, and Lifeboat recovers by itself',
  { timeout: 170_000 },
  async (t) => {
    const killedRuns: string[] = [];
    const kill = async (backup: Backup, moment: string) => {
      signalGroup(backup.pid, 'SIGKILL');
      await backup.exited;
      await until(
        `the process group killed ${moment} to be gone`,
        () => groupMembers(backup.pid).length === 0,
        5000,
      );
      const run = backup.events.find((e) => e.event === 'dataset-start')?.run;
      if (run) killedRuns.push(run);
      t.diagnostic(
        `killed the whole group ${moment}; run ${run ?? '(not started)'}; events: ${backup.events.map((e) => (e.unit ? `${e.event}:${e.unit}` : e.event)).join(', ') || 'none'}`,
      );
    };

    // Early moments: start-up, reaching PostgreSQL, the fingerprint.
    for (const ms of [500, 1500, 3000]) {
      const backup = startBackup();
      await sleep(ms);
      await kill(backup, `${ms} ms in`);
    }

    // While the dump streams from pg_dump into restic.
    {
      const backup = startBackup();
      await until('the dump to start', () => dumpStarted(backup));
      await sleep(1000);
      await kill(backup, 'while the dump streams');
    }

    // While the manifest is written (the run's units are done, the run is not).
    {
      const backup = startBackup();
      await until('the dump to finish', () => dumpDone(backup));
      await kill(backup, 'while the manifest is written');
    }
    // Last, only the node process dies: what do its orphaned restic and pg_dump do? (Last, so
    // that what they leave behind is still there when the checks below look.)
    {
      const backup = startBackup();
      await until('the dump to start', () => dumpStarted(backup));
      await sleep(1000);
      const before = groupMembers(backup.pid).filter((p) => p.pid !== backup.pid);
      // Beside them: the psql sessions of the fingerprint and of the snapshot it shares with
      // pg_dump, and maybe the roles' restic still finishing.
      const names = new Set(before.map((p) => p.name));
      assert.ok(names.has('pg_dump') && names.has('restic'), 'restic and pg_dump run beside node');
      assert.deepEqual(
        [...names].filter((n) => !['pg_dump', 'restic', 'psql'].includes(n)),
        [],
      );
      const locksBefore = await resticLocks();
      const killedAt = Date.now();
      process.kill(backup.pid, 'SIGKILL');
      await backup.exited;
      await until('the orphans to end', () => groupMembers(backup.pid).length === 0, 15_000);
      const orphansLived = Date.now() - killedAt;
      const run = backup.events.find((e) => e.event === 'dataset-start')!.run!;
      killedRuns.push(run);
      const ofRun = (await repositorySnapshots()).filter((s) => s.tags.includes(`run=${run}`));
      t.diagnostic(
        `killed only node during the dump: restic and pg_dump ended ${orphansLived} ms later; ` +
          `snapshots of the run: ${ofRun.map((s) => s.tags.find((x) => x.startsWith('unit='))! + (s.tags.includes('lifeboat:complete') ? ' complete' : ' pending')).join(', ')}; ` +
          `restic locks before ${locksBefore.length}, after ${(await resticLocks()).length}`,
      );
      assert.ok(orphansLived < 10_000, 'the orphans do not run on');
      assert.ok(
        !ofRun.some(
          (s) => s.tags.includes('unit=postgres/bench.dump') && s.tags.includes('lifeboat:complete'),
        ),
        'the orphaned restic did not save the cut-off dump as complete',
      );
    }

    t.diagnostic(`kills done after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // 1. Nothing of those runs counts as good: no complete manifest.
    const snapshots = await repositorySnapshots();
    const manifests = snapshots.filter(
      (s) => s.tags.includes('unit=lifeboat-manifest.json') && s.tags.includes('lifeboat:complete'),
    );
    assert.deepEqual(manifests, [], 'no killed run has a complete manifest');
    assert.ok(killedRuns.length >= 3);
    const leftovers = snapshots.filter((s) => killedRuns.some((run) => s.tags.includes(`run=${run}`)));
    const staleLocks = await resticLocks();
    t.diagnostic(
      `leftovers in the repository: ${leftovers.length} snapshot(s); stale restic locks: ${staleLocks.length}`,
    );
    // A restic killed mid-backup usually dies without removing its lock (it depends on the
    // moment it was hit); when it did, plain restic refuses to check until someone cleans up,
    // which the next Lifeboat run below must do by itself.
    if (staleLocks.length > 0) {
      await assert.rejects(exec('restic', ['check'], { env: resticEnv() }), /already locked/);
    }

    // 2. status shows the interrupted backup, with its reason, before anything else runs.
    const status = await runCli(['status', '--plan', plan(), '--json']);
    assert.equal(status.code, 0, status.stderr);
    const row = (JSON.parse(status.stdout) as { datasets: StatusRow[] }).datasets[0]!;
    assert.equal(row.compliant, false);
    assert.equal(row.newest, null);
    assert.equal(row.lastFailure?.interrupted, true);
    assert.match(
      row.reasons.join('\n'),
      /last backup was interrupted .* ago: the process running it ended before it completed/,
    );

    // 3. The next backup succeeds, breaking the stale locks on its own.
    const next = await runCli(['backup', '--plan', plan(), '--json'], { timeoutMs: 90_000 });
    assert.equal(next.code, 0, next.stderr);
    const good = (JSON.parse(next.stdout) as { results: { snapshotId: string }[] }).results[0]!.snapshotId;
    assert.deepEqual(await resticLocks(), [], 'no restic lock is left');
    await exec('restic', ['check'], { env: resticEnv() });

    // 4. The killed runs are recorded failed, with why; status now shows the new recovery point.
    const listed = await runCli(['snapshots', '--all', '--plan', plan(), '--json']);
    const records = (JSON.parse(listed.stdout) as { snapshots: SnapshotRecord[] }).snapshots;
    const failed = records.filter((r) => r.status === 'failed');
    assert.ok(failed.length >= 3, `killed runs recorded failed: ${failed.length}`);
    assert.ok(
      failed.every((r) =>
        /^interrupted: the process running this backup ended before it completed/.test(r.error ?? ''),
      ),
    );
    assert.deepEqual(
      records.filter((r) => r.status === 'pending'),
      [],
    );
    assert.deepEqual(
      records.filter((r) => r.status === 'complete').map((r) => r.resticSnapshotId),
      [good],
    );
    const after = (
      JSON.parse((await runCli(['status', '--plan', plan(), '--json'])).stdout) as { datasets: StatusRow[] }
    ).datasets[0]!;
    assert.equal(after.newest?.snapshotId, good);
    assert.deepEqual(after.reasons, ['never verified']);

    // 5. prune removes what the killed runs left (the state store says they are dead), keeps the good run.
    const prune = await runCli(['prune', '--plan', plan(), '--json'], { timeoutMs: 90_000 });
    assert.equal(prune.code, 0, prune.stderr);
    const report = JSON.parse(prune.stdout) as PruneReport;
    assert.deepEqual(report.repositories[0]!.datasets[0]!.waiting, []);
    const goodRun = records.find((r) => r.status === 'complete')!.runId!;
    const remaining = await repositorySnapshots();
    assert.ok(
      remaining.every((s) => s.tags.includes(`run=${goodRun}`)),
      'only the good run is left',
    );
    // The good run's manifest is the one complete-tagged snapshot; its units stay pending.
    assert.deepEqual(
      remaining.filter((s) => s.tags.includes('lifeboat:complete')).map((s) => s.id),
      [good],
    );
    await exec('restic', ['check'], { env: resticEnv() });
    t.diagnostic(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
);
