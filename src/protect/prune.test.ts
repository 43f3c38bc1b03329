/**
 * Retention against a real restic repository: real backups (a files dataset) and runs made
 * by hand with chosen times (`restic backup --time`) for the cases real backups cannot
 * reach quickly (runs days apart, interrupted runs of yesterday).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError } from '../errors.js';
import { loadPlanFile } from '../plan/load.js';
import { planBackup, runBackup } from './backup.js';
import { createProtectContext, type ProtectContext } from './context.js';
import { applyPrune, datasetLockKey, lockDir, planPrune } from './prune.js';
import { acquireLock } from '../engines/restic/lock.js';
import { parseSnapshots, type Snapshot } from '../engines/restic/output.js';

const exec = promisify(execFile);

let dir: string;
let context: ProtectContext;

const PLAN = `version: 1
organization: Prune Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
    retention: { last: 2 }
  made:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1d }
    retention: { daily: 2 }
  vendor:
    source: { type: external, vendor: cdn }
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-prune-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'a.txt'), 'one\n');
  writeFileSync(join(dir, 'lifeboat.yaml'), PLAN);
  context = createProtectContext(loadPlanFile(join(dir, 'lifeboat.yaml')), {
    ...process.env,
    LIFEBOAT_HOME: join(dir, '.lifeboat'),
  });
});

after(async () => {
  await context?.close();
  rmSync(dir, { recursive: true, force: true });
});

const resticEnv = () => ({
  ...process.env,
  RESTIC_REPOSITORY: join(context.homeDir, 'repository'),
  RESTIC_PASSWORD_FILE: join(context.homeDir, 'repository.key'),
  TZ: 'UTC',
});

async function resticSnapshots(tag: string): Promise<Snapshot[]> {
  return parseSnapshots(
    (await exec('restic', ['snapshots', '--json', `--tag=${tag}`], { env: resticEnv() })).stdout,
  );
}

/** A snapshot written by hand, tagged as backup.ts tags them, at a chosen time (UTC). */
async function fabricate(
  dataset: string,
  run: string,
  unit: string,
  time: string,
  state: 'complete' | 'pending' = 'complete',
) {
  const tags = [
    'lifeboat',
    `lifeboat:${state}`,
    `dataset=${dataset}`,
    `run=${run}`,
    `unit=${unit}`,
    'source=files',
    'plan=test',
    'org=prune-test',
  ];
  await exec(
    'sh',
    [
      '-c',
      `echo ${run} ${unit} | restic backup -q --stdin --stdin-filename=${unit.replaceAll('/', '__')} --tag=${tags.join(',')} --time="${time}"`,
    ],
    {
      env: resticEnv(),
    },
  );
}

async function backupDocs(): Promise<string> {
  const [result] = await runBackup(
    context,
    planBackup(context.plan, ['docs'], (id) => context.repositoryOf(id)),
  );
  assert.ok(result?.ok, result?.error);
  return result.snapshotId!;
}

describe('planPrune', () => {
  test('groups protected datasets by repository with their policies, and skips the rest', () => {
    const plan = planPrune(context.plan);
    assert.deepEqual(plan.tags, ['lifeboat', 'org=prune-test']);
    assert.deepEqual(plan.repositories, [
      {
        repository: 'local',
        datasets: [
          { dataset: 'docs', policy: { last: 2 }, defaultPolicy: false },
          { dataset: 'made', policy: { daily: 2 }, defaultPolicy: false },
        ],
      },
    ]);
    assert.deepEqual(plan.skipped, [{ dataset: 'vendor', reason: 'kept by a vendor (external source)' }]);
  });
});

describe('applyPrune', () => {
  test('the dataset lock prune takes is the one backups take: a backup meanwhile fails fast', async () => {
    const lock = await acquireLock(datasetLockKey(context.homeDir, 'docs'), {
      dir: lockDir(context.homeDir),
      waitMs: 0,
    });
    try {
      await assert.rejects(
        runBackup(
          context,
          planBackup(context.plan, ['docs'], (id) => context.repositoryOf(id)),
        ),
        (error: unknown) =>
          error instanceof EnvironmentError && /another Lifeboat process/.test(error.message),
      );
    } finally {
      await lock.release();
    }
  });

  test('keeps exactly the newest complete runs, whole; removes the others and what interrupted runs left', async () => {
    const manifests: string[] = [];
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(dir, 'files', 'a.txt'), `version ${i}\n`);
      manifests.push(await backupDocs());
    }
    const state = await context.state();
    // A run killed mid-way and recorded failed by the next backup: its unit is complete-tagged, it has no manifest.
    const dead = await state.insertPendingSnapshot({
      dataset: 'docs',
      repository: 'local',
      sourceType: 'files',
      runId: 'dead-run',
    });
    await state.markSnapshotFailed(dead.id, { error: 'interrupted: test' });
    // A run still recorded pending whose process is gone (nobody holds the dataset's lock).
    await state.insertPendingSnapshot({
      dataset: 'docs',
      repository: 'local',
      sourceType: 'files',
      runId: 'orphan-run',
    });
    const now = new Date();
    const iso = (msAgo: number) =>
      new Date(now.getTime() - msAgo).toISOString().replace('T', ' ').slice(0, 19);
    // (restic backup takes a shared lock: these may run at once.)
    await Promise.all([
      fabricate('docs', 'dead-run', 'files', iso(60_000)),
      fabricate('docs', 'orphan-run', 'files', iso(60_000)),
      // A snapshot left pending two days ago by a run nobody recorded.
      fabricate('docs', 'old-pending-run', 'files', iso(2 * 86_400_000), 'pending'),
      // A run without manifest from a minute ago that the state store does not know: maybe still being written elsewhere.
      fabricate('docs', 'fresh-run', 'files', iso(60_000)),
    ]);
    const before = await resticSnapshots('dataset=docs');
    assert.equal(before.length, 3 * 2 + 4);

    const dry = await applyPrune(context, planPrune(context.plan), { dryRun: true });
    const docs = dry.repositories[0]!.datasets.find((d) => d.dataset === 'docs')!;
    assert.deepEqual(
      docs.keep.map((k) => k.manifestId),
      [manifests[2], manifests[1]],
    );
    assert.deepEqual(
      docs.remove.map((r) => r.manifestId),
      [manifests[0]],
    );
    assert.deepEqual(docs.leftovers.map((l) => l.run).sort(), ['dead-run', 'old-pending-run', 'orphan-run']);
    assert.deepEqual(
      docs.waiting.map((w) => w.run),
      ['fresh-run'],
    );
    assert.equal((await resticSnapshots('dataset=docs')).length, before.length, 'a dry run changes nothing');

    const report = await applyPrune(context, planPrune(context.plan));
    const repo = report.repositories[0]!;
    assert.equal(repo.error, undefined);
    assert.ok(repo.pruned);
    assert.equal(repo.stateRecordsDeleted, 1);
    const after = await resticSnapshots('dataset=docs');
    const runsLeft = new Set(after.map((s) => s.tags.find((t) => t.startsWith('run='))));
    const keptRuns = docs.keep.map((k) => `run=${k.run}`);
    assert.deepEqual([...runsLeft].sort(), [...keptRuns, 'run=fresh-run'].sort());
    assert.equal(after.length, 2 * 2 + 1, 'each kept run keeps its unit and its manifest');
    const records = await state.listSnapshots('docs', { status: 'complete' });
    assert.deepEqual(
      records.map((r) => r.resticSnapshotId),
      [manifests[2], manifests[1]],
    );
    const [audit] = await state.listAudit({ action: 'prune.run' });
    assert.equal(audit?.outcome, 'ok');
    assert.equal(audit?.target, 'repository:local');
    await exec('restic', ['check'], { env: resticEnv() });
  });

  test('runs days apart, each straddling midnight: daily 2 keeps the two newest days, each run entire', async () => {
    const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    await Promise.all(
      [4, 3, 2].map(async (n) => {
        // units before midnight, the manifest after it: a per-snapshot policy could split the run
        await fabricate('made', `made-${n}`, 'postgres/globals.sql', `${day(n)} 23:59:40`);
        await fabricate('made', `made-${n}`, 'postgres/app.dump', `${day(n)} 23:59:50`);
        await fabricate('made', `made-${n}`, 'lifeboat-manifest.json', `${day(n - 1)} 00:00:10`);
      }),
    );
    const report = await applyPrune(context, planPrune(context.plan));
    assert.equal(report.repositories[0]!.error, undefined);
    const left = await resticSnapshots('dataset=made');
    const byRun = new Map<string, number>();
    for (const s of left) {
      const run = s.tags.find((t) => t.startsWith('run='))!;
      byRun.set(run, (byRun.get(run) ?? 0) + 1);
    }
    assert.deepEqual([...byRun].sort(), [
      ['run=made-2', 3],
      ['run=made-3', 3],
    ]);
  });

  test('a backup running when prune starts makes prune of that repository wait for later, and says so', async () => {
    const lock = await acquireLock(datasetLockKey(context.homeDir, 'made'), {
      dir: lockDir(context.homeDir),
      waitMs: 0,
    });
    try {
      const report = await applyPrune(context, planPrune(context.plan));
      assert.equal(report.repositories[0]!.error?.kind, 'environment');
      assert.match(report.repositories[0]!.error!.message, /cannot prune repository local now/);
    } finally {
      await lock.release();
    }
    const [audit] = await (await context.state()).listAudit({ action: 'prune.run' });
    assert.equal(audit?.outcome, 'failed');
  });
});
