/**
 * Every `--dry-run` of a logical plan changes nothing: the files beside the plan (state
 * store, repository, keys, locks, restore targets, the backed-up files), the state store's
 * rows (audit log included: a dry run is no action), the repository's snapshots, the
 * server's databases and the processes started from the plan's directory are the same
 * before and after. Options a dataset does not take are refused, not ignored.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PostgresInstance } from '../stores/postgres/sandbox.js';
import { runCli, type CliRun } from './testing/run-cli.js';
import { fileListing, processesMentioning, resticSnapshotIds, stateRowCounts } from './testing/world.js';

describe('--dry-run of a logical plan changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-dry-run-'));
  const home = join(dir, '.lifeboat');
  let pg: PostgresInstance;

  const lifeboat = (...args: string[]) =>
    runCli([...args, '--plan', join(dir, 'lifeboat.yaml')], { cwd: dir, timeoutMs: 60_000 });
  const noStack = (run: CliRun) => assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);

  const world = async () => ({
    files: fileListing(dir),
    rows: stateRowCounts(join(home, 'state.db')),
    snapshots: resticSnapshotIds(join(home, 'repository'), join(home, 'repository.key')),
    databases: (await pg.psql('SELECT datname FROM pg_database ORDER BY datname')).map((r) => r[0]),
    rowsInApp: await pg.psql('SELECT count(*), max(note) FROM orders', 'app'),
    processes: processesMentioning(dir),
  });

  /** Runs the dry run and asserts that it exits 0 and that nothing it could touch moved. */
  const unchangedBy = async (...args: string[]): Promise<CliRun> => {
    const before = await world();
    const run = await lifeboat(...args, '--dry-run');
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    noStack(run);
    assert.deepEqual(await world(), before, `lifeboat ${args.join(' ')} --dry-run changed something`);
    return run;
  };

  before(async () => {
    pg = await startPostgres({ fast: true });
    await pg.psql('CREATE DATABASE app');
    await pg.psqlScript(
      "CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 500) g;",
      'app',
    );
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', 'a.txt'), 'hello\n');
    writeFileSync(
      join(dir, 'lifeboat.yaml'),
      `version: 1
organization: Dry Run Test
document: { next_review: 2099-01-01 }
datasets:
  app:
    rpo: 1h
    source: { type: postgres, url: "${pg.urlFor('postgres')}", databases: [app] }
    backup: { every: 15m }
    retention: { last: 1 }
    verify: {}
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
    retention: { last: 1 }
    verify: {}
`,
    );
    // Two runs each, so that a prune would have one to remove.
    for (let i = 0; i < 2; i++) {
      const backup = await lifeboat('backup');
      assert.equal(backup.code, 0, backup.stderr);
    }
    // A restore target that holds data, for the dry runs that would replace it.
    mkdirSync(join(dir, 'occupied'));
    writeFileSync(join(dir, 'occupied', 'keep.txt'), 'mine\n');
  });

  after(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('backup --dry-run', async () => {
    const run = await unchangedBy('backup');
    assert.match(run.stdout, /app .*postgres/);
  });

  test('prune --dry-run: names the run it would remove, removes none', async () => {
    const run = await unchangedBy('prune');
    assert.match(run.stdout, /would be removed/);
  });

  test('catalog rebuild --dry-run', async () => {
    const run = await unchangedBy('catalog', 'rebuild');
    assert.match(run.stdout, /dry run: nothing is changed/);
  });

  test('restore --dry-run into a new database, a new directory, and over data (--force)', async () => {
    const newDb = await unchangedBy('restore', 'app', '--to', pg.urlFor('app_copy'));
    assert.match(newDb.stdout, /\(dry run: nothing was changed\)/);
    const newDir = await unchangedBy('restore', 'docs', '--to', 'restored');
    assert.match(newDir.stdout, /the target is new or empty/);
    assert.ok(!existsSync(join(dir, 'restored')));
    const over = await unchangedBy('restore', 'docs', '--to', 'occupied', '--force', '--yes');
    assert.match(over.stdout, /needs: typing the dataset name/);
    const source = await unchangedBy('restore', 'app', '--to', 'source', '--force', '--yes', '--json');
    assert.equal(JSON.parse(source.stdout).plan.needsConfirmation, true);
  });

  test('options a logical dataset does not take are refused (exit 2, what it takes instead), nothing run', async () => {
    for (const [option, value] of [
      ['--lsn', '0/3000060'],
      ['--restore-point', 'before-change'],
      ['--port', '5999'],
    ] as const) {
      const before = await world();
      const run = await lifeboat('restore', 'docs', '--to', 'restored', option, value);
      assert.equal(run.code, 2, `${option}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`${option} does not apply to 'docs', a logical dataset`));
      assert.match(run.stderr, /--snapshot ID or --at TIME|the server --to names/);
      noStack(run);
      assert.deepEqual(await world(), before);
    }
    const database = await lifeboat('restore', 'docs', '--to', 'restored', '--database', 'app');
    assert.equal(database.code, 2, database.stderr);
    assert.match(database.stderr, /--database applies to PostgreSQL and MySQL datasets; 'docs' is files/);
  });
});

describe('--dry-run on a plan that never ran writes nothing beside it', () => {
  const dirs: string[] = [];
  /** A new directory with a plan and the files it backs up, and nothing else. */
  const freshPlan = () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-dry-run-fresh-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', 'a.txt'), 'hello\n');
    writeFileSync(
      join(dir, 'lifeboat.yaml'),
      `version: 1
organization: Fresh
document: { next_review: 2099-01-01 }
datasets:
  docs: { rpo: 1d, source: { type: files, paths: [./files] }, backup: { every: 1h }, verify: {} }
`,
    );
    return dir;
  };
  const unchangedBy = async (command: string[]) => {
    const dir = freshPlan();
    const before = fileListing(dir);
    const run = await runCli([...command, '--plan', join(dir, 'lifeboat.yaml'), '--dry-run'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(fileListing(dir), before);
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('backup --dry-run', () => unchangedBy(['backup']));

  // A dry run's context opens a state store that does not exist yet in memory and makes no
  // repository key: nothing appears beside the plan.
  for (const command of [['prune'], ['catalog', 'rebuild']])
    test(`${command.join(' ')} --dry-run`, () => unchangedBy(command));
});
