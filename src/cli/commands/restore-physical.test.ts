/**
 * `lifeboat restore --dry-run` of a physical (pgBackRest) dataset shows the recovery point,
 * where the new cluster would go and the pgbackrest command, and changes nothing: no cluster
 * started, no file written beside the plan, no row in the state store, no backup set in the
 * repository, the primary still the primary. Options the physical path does not take are
 * refused, and a restore over a non-empty directory asks its confirmation.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openPhysicalDataset, readableTarget } from '../../protect/methods/physical/dataset.js';
import { backupPhysical } from '../../protect/methods/physical/backup.js';
import { startSandboxPrimary, type SandboxPrimary } from '../../protect/methods/physical/sandbox-primary.js';
import { pgbackrestInfo } from '../../engines/pgbackrest/runner.js';
import { newestAudit } from '../testing/audit.js';
import { runCli, type CliRun } from '../testing/run-cli.js';
import { fileListing, processesMentioning, stateRowCounts } from '../testing/world.js';

describe('lifeboat restore --dry-run of a physical dataset', { timeout: 240_000 }, () => {
  let primary: SandboxPrimary;
  const plan = () => join(primary.workDir, 'lifeboat.yaml');
  const lifeboat = (...args: string[]) =>
    runCli([...args, '--plan', plan()], { cwd: primary.workDir, timeoutMs: 120_000 });
  const noStack = (run: CliRun) => assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);

  // The primary archives WAL by itself whenever a segment fills or times out: its archive and
  // archive-push logs move with or without us, so they are left out of the comparison.
  const ownArchiving = (path: string) => /(^|\/)archive\/|archive-push/.test(path);
  const world = async () => ({
    files: Object.fromEntries(Object.entries(fileListing(primary.workDir)).filter(([p]) => !ownArchiving(p))),
    rows: stateRowCounts(join(primary.workDir, '.lifeboat', 'state.db')),
    backupSets: (
      await pgbackrestInfo(readableTarget(await openPhysicalDataset(primary.context, 'db')))
    ).backups.map((b) => b.label),
    processes: processesMentioning(primary.workDir).filter((p) => !p.includes('archive-push')),
    inRecovery: await primary.pg.psql('SELECT pg_is_in_recovery()'),
  });

  const unchangedBy = async (...args: string[]): Promise<CliRun> => {
    const before = await world();
    const run = await lifeboat(...args);
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    noStack(run);
    assert.deepEqual(await world(), before, `lifeboat ${args.join(' ')} changed something`);
    return run;
  };

  before(async () => {
    primary = await startSandboxPrimary({ datasets: ['db'] });
    await primary.pg.psqlScript("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('one');");
    await backupPhysical(primary.context, 'db', {
      archiving: { confirmed: true, restart: primary.restart },
      actor: 'test',
    });
    // Closes the state store the backup opened, so that only the CLI writes it from here.
    await primary.context.close();
  });

  after(async () => {
    await primary?.cleanup();
  });

  test('to the latest: the plan and the pgbackrest command, exit 0, nothing started or written', async () => {
    const run = await unchangedBy('restore', 'db', '--dry-run');
    assert.match(run.stdout, /recover to: the end of the archived WAL \(latest\)/);
    assert.match(run.stdout, /from backup set: \d{8}-\d{6}F/);
    assert.match(run.stdout, /new cluster: \S+\/\.lifeboat\/restores\/db-\d{8}T\d{6}Z\/data, port \d+/);
    assert.match(
      run.stdout,
      /command: \S*pgbackrest --config=\S+ --stanza=db --pg1-path=\S+ --set=\S+ .*restore$/m,
    );
    assert.match(run.stdout, /\(dry run: nothing was changed\)/);
    assert.ok(!existsSync(join(primary.workDir, '.lifeboat', 'restores')));
  });

  test('to a time, into a named directory and port, as JSON', async () => {
    // pgBackRest records a backup's end in whole seconds, rounded up: a time in the same second
    // as a backup that just ended is before it. Let that second pass.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const at = new Date().toISOString();
    const to = join(primary.workDir, 'pitr', 'data');
    const run = await unchangedBy(
      'restore',
      'db',
      '--dry-run',
      '--at',
      at,
      '--to',
      to,
      '--port',
      '5999',
      '--json',
    );
    const body = JSON.parse(run.stdout) as {
      dryRun: boolean;
      plan: { dataDir: string; port: number; portChosen: boolean; delta: boolean; command: string[] };
    };
    assert.equal(body.dryRun, true);
    assert.equal(body.plan.dataDir, to);
    assert.equal(body.plan.port, 5999);
    assert.equal(body.plan.portChosen, false);
    assert.equal(body.plan.delta, false);
    assert.ok(body.plan.command.includes('--type=time'), body.plan.command.join(' '));
    assert.ok(body.plan.command.includes('--target-action=promote'));
    assert.ok(!existsSync(to));
  });

  test('over a non-empty directory with --force: says it would ask, and asks (exit 4 without --yes)', async () => {
    const to = join(primary.workDir, 'occupied', 'data');
    mkdirSync(to, { recursive: true, mode: 0o700 });
    writeFileSync(join(to, 'keep.txt'), 'mine\n');
    const run = await unchangedBy('restore', 'db', '--dry-run', '--force', '--to', to);
    assert.match(run.stdout, /is not empty: restored over with --delta, after a typed confirmation/);
    assert.match(run.stdout, /--delta/);

    const refused = await lifeboat('restore', 'db', '--force', '--to', to);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /--yes/);
    noStack(refused);
    assert.deepEqual(Object.keys(fileListing(to)), ['keep.txt']);
    assert.equal(readFileSync(join(to, 'keep.txt'), 'utf8'), 'mine\n');
    const audit = await newestAudit(plan(), 'restore.run');
    assert.equal(audit?.outcome, 'refused');
  });

  test('on a host with no pgBackRest configuration yet: read from a temporary copy, none left', async () => {
    const config = join(primary.workDir, '.lifeboat', 'pgbackrest', 'db', 'pgbackrest.conf');
    renameSync(config, `${config}.away`);
    try {
      const before = fileListing(primary.workDir);
      const run = await lifeboat('restore', 'db', '--dry-run');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /from backup set: /);
      assert.deepEqual(
        Object.keys(fileListing(primary.workDir)).filter((p) => !ownArchiving(p)),
        Object.keys(before).filter((p) => !ownArchiving(p)),
      );
    } finally {
      renameSync(`${config}.away`, config);
    }
  });

  test('options the physical path does not take: exit 2, what it takes instead, nothing run', async () => {
    for (const args of [
      ['--database', 'app'],
      ['--database', 'app', '--dry-run'],
    ]) {
      const before = await world();
      const run = await lifeboat('restore', 'db', ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(
        run.stderr,
        new RegExp(`${args[0]} does not apply to 'db', a physical \\(pgBackRest\\) dataset`),
      );
      assert.match(run.stderr, /--at TIME, --lsn LSN or --restore-point NAME|new data directory/);
      noStack(run);
      assert.deepEqual(await world(), before);
    }
    // --snapshot names one backup (its label): one that does not exist is a usage error too.
    for (const args of [
      ['--snapshot', 'abc123'],
      ['--snapshot', 'abc123', '--dry-run'],
    ]) {
      const before = await world();
      const run = await lifeboat('restore', 'db', ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /no recovery point with a snapshot id starting with abc123/);
      noStack(run);
      assert.deepEqual(await world(), before);
    }
  });

  test('backup --dry-run and prune --dry-run of the physical plan change nothing either', async () => {
    const backup = await unchangedBy('backup', '--dry-run');
    assert.match(backup.stdout, /db\s+postgres\s+physical/);
    const prune = await unchangedBy('prune', '--dry-run');
    assert.match(prune.stdout, /pgbackrest expire would apply/);
  });
});
