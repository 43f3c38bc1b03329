/**
 * `lifeboat backup` of a physically protected PostgreSQL dataset: pgBackRest does the work
 * behind the same command, and WAL archiving is never changed unasked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { preparePhysicalDataset } from '../../protect/methods/physical/dataset.js';
import { startSandboxPrimary, type SandboxPrimary } from '../../protect/methods/physical/sandbox-primary.js';
import { applyArchiving, planDatasetArchiving } from '../../protect/methods/physical/setup.js';
import { stopRestoredCluster } from '../../engines/pgbackrest/restored-cluster.js';
import { osUser, runningAsRoot } from '../../system/instance.js';
import { runCli } from '../testing/run-cli.js';

let primary: SandboxPrimary;
before(async () => {
  primary = await startSandboxPrimary({ datasets: ['orders'] });
});
after(async () => {
  await primary?.cleanup();
});

describe('lifeboat backup of a physical dataset', () => {
  test('refuses while archiving is not set up, then backs up through pgBackRest', async () => {
    const plan = join(primary.workDir, 'lifeboat.yaml');
    const refused = await runCli(['backup', 'orders', '--plan', plan], { timeoutMs: 120_000 });
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /archiving of 'orders' is not set up: .*archive_mode = on/);

    // What an operator does once: apply the settings and restart the server their way.
    const dataset = await preparePhysicalDataset(primary.context, 'orders');
    await applyArchiving(dataset, planDatasetArchiving(dataset), {
      confirmed: true,
      restart: primary.restart,
    });

    const result = await runCli(['backup', 'orders', '--plan', plan, '--json'], { timeoutMs: 180_000 });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { results: { dataset: string; ok: boolean; run: string }[] };
    assert.equal(report.results[0]!.ok, true);
    assert.match(
      report.results[0]!.run,
      /^\d{8}-\d{6}F$/,
      'the first physical backup is a full one, labelled by pgBackRest',
    );
  });
  test('one id per backup: backup prints it, snapshots lists it, restore --snapshot takes it or a unique prefix', async () => {
    const plan = join(primary.workDir, 'lifeboat.yaml');
    // A second backup the same day: its label starts with the same 8 characters as the first.
    const second = await runCli(['backup', 'orders', '--plan', plan, '--json'], { timeoutMs: 180_000 });
    assert.equal(second.code, 0, second.stderr);
    const made = (JSON.parse(second.stdout) as { results: { snapshotId: string }[] }).results[0]!.snapshotId;
    assert.match(made, /^\d{8}-\d{6}F_\d{8}-\d{6}[DI]$/, 'the id is the pgBackRest label');

    const listed = await runCli(['snapshots', 'orders', '--plan', plan, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const ids = (JSON.parse(listed.stdout) as { snapshots: { id: string }[] }).snapshots.map((r) => r.id);
    assert.equal(ids.length, 2);
    assert.equal(ids[0], made, 'snapshots --json gives the id backup printed');
    const table = await runCli(['snapshots', 'orders', '--plan', plan]);
    for (const id of ids)
      assert.ok(table.stdout.includes(id), `the table shows ${id} whole:\n${table.stdout}`);

    const dry = await runCli([
      'restore',
      'orders',
      '--snapshot',
      ids[1]!,
      '--dry-run',
      '--json',
      '--plan',
      plan,
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    const preview = JSON.parse(dry.stdout) as { plan: { set: string; command: string[] } };
    assert.equal(preview.plan.set, ids[1]);
    assert.ok(preview.plan.command.includes('--type=immediate'), preview.plan.command.join(' '));

    const ambiguous = await runCli([
      'restore',
      'orders',
      '--snapshot',
      made.slice(0, 8),
      '--dry-run',
      '--plan',
      plan,
    ]);
    assert.equal(ambiguous.code, 2, ambiguous.stderr);
    assert.match(ambiguous.stderr, /ambiguous: it matches 2 recovery points/);

    // The newest backup alone, restored by a unique prefix (lower case) into a new cluster.
    const to = join(primary.workDir, 'by-id', 'data');
    const restored = await runCli(
      [
        'restore',
        'orders',
        '--snapshot',
        made.slice(0, 18).toLowerCase(),
        '--to',
        to,
        '--json',
        '--plan',
        plan,
      ],
      { timeoutMs: 240_000 },
    );
    assert.equal(restored.code, 0, restored.stderr);
    const result = JSON.parse(restored.stdout) as { set: string; target: string; dataDir: string };
    await stopRestoredCluster({
      dataDir: result.dataDir,
      user: runningAsRoot() ? osUser('postgres') : undefined,
      binDir: primary.pg.binDir,
    });
    assert.equal(result.set, made);
    assert.equal(result.target, `the end of backup ${made}`);
  });
});
