/**
 * `lifeboat backup` and `lifeboat snapshots` as a user runs them: the built CLI against a
 * plan for a throwaway PostgreSQL and a directory of files, into a local restic repository.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../system/free-port.js';
import { startPostgres, type PostgresInstance } from '../../stores/postgres/sandbox.js';
import { runCli } from '../testing/run-cli.js';

let dir: string;
let pg: PostgresInstance;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-backup-'));
  pg = await startPostgres({ fast: true });
  await pg.psql('CREATE DATABASE app');
  await pg.psqlScript(
    'CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 5000) g;',
    'app',
  );
  mkdirSync(join(dir, 'files', 'nested'), { recursive: true });
  writeFileSync(join(dir, 'files', 'a.txt'), 'hello\n');
  writeFileSync(join(dir, 'files', 'nested', 'b.bin'), Buffer.alloc(50_000, 7));
  const closed = await freePort();
  writeFileSync(
    join(dir, 'lifeboat.yaml'),
    `version: 1
organization: Backup Test
document: { next_review: 2099-01-01 }
datasets:
  app:
    rpo: 1h
    source: { type: postgres, url: "${pg.urlFor('app')}", databases: [app] }
    backup: { every: 15m }
    verify: {}
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
    verify: {}
  unreachable:
    rpo: 1h
    source: { type: postgres, url: "postgres://postgres@127.0.0.1:${closed}/app" }
    backup: { every: 15m }
    verify: {}
`,
  );
});

after(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const plan = () => join(dir, 'lifeboat.yaml');

describe('lifeboat backup', () => {
  test('backs up a database and files into complete, tagged restic snapshots', async () => {
    const result = await runCli(['backup', 'app', 'docs', '--plan', plan(), '--json'], {
      timeoutMs: 120_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      results: { dataset: string; ok: boolean; snapshotId: string; units: unknown[] }[];
    };
    assert.deepEqual(
      report.results.map((r) => [r.dataset, r.ok]),
      [
        ['app', true],
        ['docs', true],
      ],
    );
    // --json progress goes to stderr as JSON lines, one event each.
    const events = result.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string });
    assert.ok(events.some((e) => e.event === 'dataset-done'));

    const restic = execFileSync(
      'restic',
      [
        '-r',
        join(dir, '.lifeboat', 'repository'),
        '--password-file',
        join(dir, '.lifeboat', 'repository.key'),
        'snapshots',
        '--json',
        '--tag',
        'dataset=app',
      ],
      { encoding: 'utf8' },
    );
    const snapshots = JSON.parse(restic) as { id: string; paths: string[]; tags: string[] }[];
    const manifest = report.results[0]!.snapshotId;
    assert.ok(
      snapshots.some((s) => s.id === manifest && s.tags.includes('lifeboat:complete')),
      'the manifest snapshot is complete-tagged',
    );
    assert.ok(
      snapshots.some((s) => s.paths.some((p) => p.includes('postgres__app'))),
      'the database dump is stored',
    );

    const listed = await runCli(['snapshots', '--plan', plan(), '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const records = (
      JSON.parse(listed.stdout) as {
        snapshots: { dataset: string; status: string; resticSnapshotId: string }[];
      }
    ).snapshots;
    assert.deepEqual(records.map((r) => r.dataset).sort(), ['app', 'docs']);
    assert.ok(records.every((r) => r.status === 'complete'));
  });

  test('one id per recovery point: backup prints it, snapshots --json and the table show it, restore takes it', async () => {
    const backup = await runCli(['backup', 'docs', '--plan', plan(), '--json'], { timeoutMs: 120_000 });
    assert.equal(backup.code, 0, backup.stderr);
    const made = (JSON.parse(backup.stdout) as { results: { snapshotId: string }[] }).results[0]!.snapshotId;
    const listed = await runCli(['snapshots', 'docs', '--plan', plan(), '--json']);
    const rows = (JSON.parse(listed.stdout) as { snapshots: { id: string; recordId: string }[] }).snapshots;
    assert.equal(rows[0]!.id, made, 'snapshots --json id is the id backup printed');
    assert.notEqual(rows[0]!.recordId, made);
    const table = await runCli(['snapshots', 'docs', '--plan', plan()]);
    assert.match(table.stdout, new RegExp(`^${made.slice(0, 8)} +docs `, 'm'));
    for (const given of [rows[0]!.id, made.slice(0, 8), made.slice(0, 8).toUpperCase()]) {
      const dry = await runCli([
        'restore',
        'docs',
        '--snapshot',
        given,
        '--to',
        join(dir, 'never'),
        '--dry-run',
        '--json',
        '--plan',
        plan(),
      ]);
      assert.equal(dry.code, 0, `--snapshot ${given}: ${dry.stderr}`);
      const point = (JSON.parse(dry.stdout) as { plan: { recoveryPoint: { snapshotId: string } } }).plan;
      assert.equal(point.recoveryPoint.snapshotId, made);
    }
  });

  test('an unreachable source fails with its host and port, is recorded, and leaves no good snapshot', async () => {
    const result = await runCli(['backup', 'unreachable', '--plan', plan()], { timeoutMs: 60_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:\\d+`));
    assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+\)?\n/);
    const listed = await runCli(['snapshots', 'unreachable', '--all', '--plan', plan(), '--json']);
    const records = (JSON.parse(listed.stdout) as { snapshots: { status: string; error: string }[] })
      .snapshots;
    assert.equal(records.length, 1);
    assert.equal(records[0]!.status, 'failed');
    assert.match(records[0]!.error, /127\.0\.0\.1/);
  });

  test('an unknown dataset names the known ones (exit 2)', async () => {
    const result = await runCli(['backup', 'nope', '--plan', plan()]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown dataset 'nope'/);
    assert.match(result.stderr, /app, docs, unreachable/);
  });

  test('--dry-run lists what would be backed up and touches nothing', async () => {
    const result = await runCli(['backup', '--dry-run', '--plan', plan(), '--json']);
    assert.equal(result.code, 0, result.stderr);
    const planned = JSON.parse(result.stdout) as { items: { dataset: string; repository: string }[] };
    assert.deepEqual(
      planned.items.map((i) => i.dataset),
      ['app', 'docs', 'unreachable'],
    );
  });
});
