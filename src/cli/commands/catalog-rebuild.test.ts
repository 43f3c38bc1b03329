/**
 * `lifeboat catalog rebuild`: back up, lose the state database, rebuild it from the
 * repositories, and `snapshots` and `status` show the same recovery points as before.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { CatalogReport } from '../../protect/catalog.js';
import type { StatusRow } from '../../protect/status.js';
import type { SnapshotRecord } from '../../state/store.js';
import { runCli } from '../testing/run-cli.js';

const exec = promisify(execFile);
let dir: string;
const plan = () => join(dir, 'lifeboat.yaml');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-catalog-'));
  mkdirSync(join(dir, 'files'));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'app.conf'), 'port = 8080\n');
  writeFileSync(
    plan(),
    `version: 1
organization: Catalog Test
document: { next_review: 2099-01-01 }
repositories:
  offsite: { url: ./offsite }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
  config:
    rpo: 1d
    source: { type: files, paths: [./etc] }
    backup: { every: 1d, repository: offsite }
`,
  );
  for (const content of ['one', 'two']) {
    writeFileSync(join(dir, 'files', 'a.txt'), content);
    const result = await runCli(['backup', 'docs', '--plan', plan()], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
  }
  const config = await runCli(['backup', 'config', '--plan', plan()], { timeoutMs: 60_000 });
  assert.equal(config.code, 0, config.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function snapshots(): Promise<SnapshotRecord[]> {
  const result = await runCli(['snapshots', '--plan', plan(), '--json']);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { snapshots: SnapshotRecord[] }).snapshots;
}

async function status(): Promise<StatusRow[]> {
  const result = await runCli(['status', '--plan', plan(), '--json']);
  return (JSON.parse(result.stdout) as { datasets: StatusRow[] }).datasets;
}

/** What a recovery point is, without the state store's own row id. */
const essence = (r: SnapshotRecord) => ({
  dataset: r.dataset,
  repository: r.repository,
  resticSnapshotId: r.resticSnapshotId,
  runId: r.runId,
  status: r.status,
  startedAt: r.startedAt,
  sourceType: r.sourceType,
  units: r.units,
  fingerprint: r.fingerprint,
  totalBytes: r.totalBytes,
});

async function rebuild(...extra: string[]): Promise<CatalogReport> {
  const result = await runCli(['catalog', 'rebuild', '--plan', plan(), '--json', ...extra], {
    timeoutMs: 60_000,
  });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as CatalogReport;
}

describe('lifeboat catalog rebuild', () => {
  test('a lost state database is rebuilt with the same recovery points', async () => {
    const before = await snapshots();
    assert.equal(before.length, 3);
    const statusBefore = await status();

    for (const suffix of ['', '-wal', '-shm'])
      rmSync(join(dir, '.lifeboat', `state.db${suffix}`), { force: true });
    assert.deepEqual(await snapshots(), [], 'the state store starts empty');

    const dry = await rebuild('--dry-run');
    assert.equal(
      dry.repositories.reduce((n, r) => n + r.inserted.length, 0),
      3,
    );
    assert.deepEqual(await snapshots(), [], 'a dry run records nothing');

    const report = await rebuild();
    assert.deepEqual(
      report.repositories.map((r) => [r.repository, r.runs, r.inserted.length, r.removed.length]),
      [
        ['local', 2, 2, 0],
        ['offsite', 1, 1, 0],
      ],
    );
    const after = await snapshots();
    const byId = (a: SnapshotRecord, b: SnapshotRecord) =>
      a.resticSnapshotId!.localeCompare(b.resticSnapshotId!);
    assert.deepEqual(after.sort(byId).map(essence), before.sort(byId).map(essence));

    const statusAfter = await status();
    for (const dataset of ['docs', 'config']) {
      const was = statusBefore.find((r) => r.dataset === dataset)!;
      const now = statusAfter.find((r) => r.dataset === dataset)!;
      assert.equal(now.newest?.snapshotId, was.newest?.snapshotId);
      assert.equal(now.newest?.at, was.newest?.at);
    }
  });

  test('runs gone from the repository leave the state store; a second rebuild changes nothing', async () => {
    const records = await snapshots();
    const config = records.find((r) => r.dataset === 'config')!;
    // Someone forgot the recovery point with restic itself.
    await exec('restic', ['forget', config.resticSnapshotId!], {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: join(dir, 'offsite'),
        RESTIC_PASSWORD_FILE: join(dir, '.lifeboat', 'offsite.key'),
      },
    });
    const report = await rebuild();
    const offsite = report.repositories.find((r) => r.repository === 'offsite')!;
    assert.deepEqual(
      offsite.removed.map((r) => r.snapshotId),
      [config.resticSnapshotId],
    );
    assert.ok(!(await snapshots()).some((r) => r.dataset === 'config'));

    const again = await rebuild();
    assert.ok(again.repositories.every((r) => r.inserted.length === 0 && r.removed.length === 0));
  });
});
