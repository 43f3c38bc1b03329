import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError, RefusedError, UsageError } from '../../../errors.js';
import { osUser, runningAsRoot } from '../../../system/instance.js';
import { backupPhysical, expirePhysical, PHYSICAL_SOURCE_TYPE, verifyPhysical } from './backup.js';
import { preparePhysicalDataset } from './dataset.js';
import { createRestorePoint } from './restore-point.js';
import { restorePhysical } from './restore.js';
import { restoredQuery, stopRestoredCluster } from '../../../engines/pgbackrest/restored-cluster.js';
import { pgbackrestInfo } from '../../../engines/pgbackrest/runner.js';
import { startSandboxPrimary, type SandboxPrimary } from './sandbox-primary.js';

const user = runningAsRoot() ? osUser('postgres') : undefined;

describe('pgBackRest backup and point-in-time restore (real clusters)', { timeout: 110_000 }, () => {
  let primary: SandboxPrimary;
  let firstLabel = '';
  let backupStartedAt = '';

  before(async () => {
    primary = await startSandboxPrimary({ datasets: ['db', 'never-backed-up'] });
    await primary.pg.psqlScript(
      "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('before-backup');",
    );
    backupStartedAt = new Date().toISOString();
    const made = await backupPhysical(primary.context, 'db', {
      archiving: { confirmed: true, restart: primary.restart },
      actor: 'test',
    });
    assert.equal(made.type, 'full');
    assert.equal(made.stanzaCreated, true);
    firstLabel = made.label;
  });

  after(async () => {
    await primary?.cleanup();
  });

  test('the backup is a postgres-physical snapshot labelled by pgBackRest, and audited', async () => {
    const state = await primary.context.state();
    const [snapshot] = await state.listSnapshots('db');
    assert.equal(snapshot?.sourceType, PHYSICAL_SOURCE_TYPE);
    assert.equal(snapshot?.resticSnapshotId, firstLabel);
    assert.equal(snapshot?.status, 'complete');
    assert.equal(snapshot?.repository, 'sandbox');
    const [audit] = await state.listAudit({ action: 'backup.run', target: 'dataset:db' });
    assert.equal(audit?.outcome, 'ok');
    assert.equal(audit?.details?.label, firstLabel);
    const config = readFileSync(join(primary.workDir, '.lifeboat/pgbackrest/db/pgbackrest.conf'), 'utf8');
    assert.match(config, /^lock-path=.*\/\.lifeboat\/pgbackrest\/db\/lock$/m);
    const archiveCommand = (await primary.pg.psql('SHOW archive_command'))[0]?.[0] ?? '';
    assert.match(
      archiveCommand,
      /--config=\S+\/\.lifeboat\/pgbackrest\/db\/pgbackrest\.conf --stanza=db archive-push %p$/,
    );
  });

  test('archiving for another stanza is not changed without confirmation', async () => {
    await assert.rejects(
      backupPhysical(primary.context, 'never-backed-up'),
      (e: unknown) => e instanceof RefusedError && /archive_command/.test(e.message),
    );
    const archiveCommand = (await primary.pg.psql('SHOW archive_command'))[0]?.[0] ?? '';
    assert.match(archiveCommand, /--stanza=db /);
  });

  test('the next backup is incremental', async () => {
    const made = await backupPhysical(primary.context, 'db', { actor: 'test' });
    assert.equal(made.type, 'incr');
    assert.match(made.label, new RegExp(`^${firstLabel}_.*I$`));
  });

  test('a time before the first backup: UsageError with the earliest time, nothing changed', async () => {
    const toDataDir = join(primary.workDir, 'too-early', 'data');
    const early = new Date(Date.parse(backupStartedAt) - 60_000).toISOString();
    await assert.rejects(
      restorePhysical(primary.context, { dataset: 'db', at: early, toDataDir }),
      (e: unknown) =>
        e instanceof UsageError &&
        /before the first backup of 'db'/.test(e.message) &&
        /earliest recoverable point is \d{4}-\d{2}-\d{2}T/.test(e.hint ?? ''),
    );
    assert.equal(existsSync(join(primary.workDir, 'too-early')), false);
    const restores = await (await primary.context.state()).listAudit({ action: 'restore.run' });
    assert.equal(restores.length, 0);
  });

  test('a dataset never backed up: the stanza is missing, said plainly', async () => {
    await assert.rejects(
      restorePhysical(primary.context, {
        dataset: 'never-backed-up',
        toDataDir: join(primary.workDir, 'x', 'data'),
      }),
      (e: unknown) =>
        e instanceof EnvironmentError && /stanza 'never-backed-up' does not exist/.test(e.message),
    );
  });

  test('to a restore point; the copy is promoted and never archives into the repository', async () => {
    await primary.pg.psqlScript("INSERT INTO notes VALUES ('before-point');");
    const point = await createRestorePoint(primary.context, 'db', 'before-cleanup', { actor: 'test' });
    assert.equal(point.archived, true);
    await primary.pg.psqlScript("INSERT INTO notes VALUES ('after-point'); SELECT pg_switch_wal();");
    const toDataDir = join(primary.workDir, 'copy', 'data');
    const restored = await restorePhysical(primary.context, {
      dataset: 'db',
      restorePoint: 'before-cleanup',
      toDataDir,
      timeoutSeconds: 90,
    });
    const cluster = { socketDir: restored.socketDir, port: restored.port, user };
    const rows = await restoredQuery(cluster, 'SELECT body FROM notes ORDER BY body');
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['before-backup', 'before-point'],
    );
    assert.deepEqual(await restoredQuery(cluster, 'SELECT pg_is_in_recovery()'), [['f']]);
    assert.deepEqual(await restoredQuery(cluster, 'SHOW archive_mode'), [['off']]);
    const auto = readFileSync(join(toDataDir, 'postgresql.auto.conf'), 'utf8');
    assert.match(auto, /restore_command = '.*--config=\S+pgbackrest\.conf.*archive-get/);
    // Writes and a segment switch on the promoted copy (timeline 2) must not reach the repository.
    await restoredQuery(cluster, "INSERT INTO notes VALUES ('in-the-copy'); SELECT pg_switch_wal();");
    await restoredQuery(cluster, 'CHECKPOINT');
    assert.deepEqual(
      await restoredQuery(cluster, 'SELECT archived_count, failed_count FROM pg_stat_archiver'),
      [['0', '0']],
    );
    assert.deepEqual(primary.filesOnOtherTimelines('db'), []);
    const dataset = await preparePhysicalDataset(primary.context, 'db');
    assert.match((await pgbackrestInfo(dataset.target)).archive?.max ?? '', /^00000001/);

    await stopRestoredCluster({ dataDir: toDataDir, user, binDir: primary.pg.binDir });
    await assert.rejects(
      restorePhysical(primary.context, { dataset: 'db', toDataDir }),
      (e: unknown) => e instanceof RefusedError && /not empty/.test(e.message),
    );
    const delta = await restorePhysical(primary.context, {
      dataset: 'db',
      toDataDir,
      force: true,
      timeoutSeconds: 90,
    });
    assert.equal(delta.delta, true);
    const latest = await restoredQuery(
      { socketDir: delta.socketDir, port: delta.port, user },
      'SELECT count(*) FROM notes',
    );
    assert.deepEqual(latest, [['3']]);
    await stopRestoredCluster({ dataDir: toDataDir, user, binDir: primary.pg.binDir });
  });

  test('verify reads the repository back; expire keeps what retention needs', async () => {
    const verified = await verifyPhysical(primary.context, 'db', { actor: 'test' });
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.ok, true);
    const expired = await expirePhysical(primary.context, 'db', { actor: 'test' });
    assert.deepEqual(expired.expired, []);
    assert.ok(expired.kept.includes(firstLabel));
  });

  test('with the primary gone, the plan and the repository alone restore it', async () => {
    const stopped = await primary.pg.pgCtl(['-m', 'immediate', '-w', 'stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
    const toDataDir = join(primary.workDir, 'after-loss', 'data');
    const restored = await restorePhysical(primary.context, { dataset: 'db', toDataDir, timeoutSeconds: 90 });
    const rows = await restoredQuery({ ...restored, user }, 'SELECT count(*) FROM notes');
    assert.deepEqual(rows, [['3']]);
    await stopRestoredCluster({ dataDir: toDataDir, user, binDir: primary.pg.binDir });
  });

  test('verify finds a damaged file in the repository (pgBackRest itself exits 0)', async () => {
    const [file] = findFiles(
      join(primary.repositoryDir, 'backup', 'db', firstLabel),
      (f) => f.endsWith('.zst') && statSync(f).size > 2048,
    );
    assert.ok(file, 'a compressed data file in the first backup');
    const handle = openSync(file, 'r+');
    writeSync(handle, Buffer.alloc(64, 0xa5), 0, 64, 200);
    closeSync(handle);
    const verified = await verifyPhysical(primary.context, 'db', { actor: 'test' });
    assert.equal(verified.ok, false);
    assert.ok(
      verified.problems.some((p) => /invalid checksum/.test(p)),
      verified.problems.join('; '),
    );
  });
});

function findFiles(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile() && keep(path));
}
