/**
 * `lifeboat status` against a real primary that archives WAL through pgBackRest, with a
 * streaming standby: the built CLI, as a monitor runs it. One throwaway primary for the
 * whole file; the tests run in order, the last one breaks archiving for good.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../cli/testing/run-cli.js';
import { managedFromInstance } from '../respond/failover/server.js';
import { createStandby, type StandbyServer } from '../respond/failover/standby.js';
import { openStateStore } from '../state/store.js';
import { observeReplication } from './exposure/replication.js';
import { parsePgUrl } from '../stores/postgres/psql.js';
import { preparePhysicalDataset } from './methods/physical/dataset.js';
import { datasetExposure } from './methods/physical/exposure.js';
import { startSandboxPrimary, type SandboxPrimary } from './methods/physical/sandbox-primary.js';
import {
  applyArchiving,
  checkArchiving,
  ensureStanza,
  planDatasetArchiving,
} from './methods/physical/setup.js';
import type { StatusRow } from './status.js';

let primary: SandboxPrimary;
let standby: StandbyServer;
let planFile: string;
// The sandbox keeps its state under its own directory, whatever the test's environment says.
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.LIFEBOAT_HOME;
delete env.LIFEBOAT_DATABASE_URL;

/** Every file and directory under `dir`, with its size and modification time. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((path) => {
      const stat = statSync(join(dir, path));
      return `${path} ${stat.size} ${stat.mtimeMs}`;
    });
}

async function status(...extra: string[]) {
  const result = await runCli(['status', '--plan', planFile, '--json', ...extra], {
    env,
    timeoutMs: 60_000,
  });
  assert.ok(result.code === 0 || result.code === 1, result.stderr);
  const report = JSON.parse(result.stdout) as { compliant: boolean; datasets: StatusRow[] };
  return { ...result, db: report.datasets.find((d) => d.dataset === 'db')!, report };
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  primary = await startSandboxPrimary({ datasets: ['db'], rpo: '5m' });
  const dataset = await preparePhysicalDataset(primary.context, 'db');
  await applyArchiving(dataset, planDatasetArchiving(dataset), { confirmed: true, restart: primary.restart });
  await ensureStanza(dataset);
  await checkArchiving(dataset);
  standby = await createStandby(managedFromInstance(primary.pg, { name: 'primary' }), {
    name: 'standby1',
    extraConf: { fsync: false },
  });
  // The sandbox's own plan, with the standby: the same directory, so the same state and repository.
  planFile = join(primary.workDir, 'status.yaml');
  const standbyUrl = standby.instance.urlFor('postgres');
  writeFileSync(
    planFile,
    readFileSync(join(primary.workDir, 'lifeboat.yaml'), 'utf8').replace(
      '    retention: { last: 3 }\n',
      `    retention: { last: 3 }\n    replication: { standby: "${standbyUrl}", max_lag: 1m }\n`,
    ),
  );
  // What a backup and a verification record, so that recency and proof hold and only the
  // live measurements decide (both are tested on their own).
  const state = await openStateStore({ path: join(primary.workDir, '.lifeboat', 'state.db'), env: {} });
  const point = await state.insertPendingSnapshot({
    dataset: 'db',
    repository: 'sandbox',
    sourceType: 'postgres',
  });
  await state.markSnapshotComplete(point.id, { resticSnapshotId: '20260101-000000F' });
  await state.recordVerification({
    snapshotId: point.id,
    dataset: 'db',
    startedAt: new Date().toISOString(),
    ok: true,
  });
  await state.close();
});

after(async () => {
  await standby?.stop();
  await primary?.cleanup();
});

describe('lifeboat status, live, on a real primary', { timeout: 150_000 }, () => {
  test('archiving that works and a streaming standby: ok, within the RPO, lag shown, --check exits 0', async () => {
    await primary.pg.psqlScript('CREATE TABLE t AS SELECT g FROM generate_series(1, 20000) g;');
    const [[segment]] = (await primary.pg.psql('SELECT pg_walfile_name(pg_switch_wal())')) as [[string]];
    await eventually(
      async () => {
        const e = await datasetExposure(primary.context, 'db');
        return (e.lastArchivedWal ?? '').slice(0, 24) >= segment ? e : undefined;
      },
      30_000,
      `segment ${segment} archived`,
    );
    const { code, db, report } = await status('--check');
    assert.equal(code, 0, JSON.stringify(db, null, 2));
    assert.equal(report.compliant, true);
    assert.equal(db.compliant, true);
    assert.deepEqual(db.warnings, []);
    const exposure = db.exposure!;
    assert.equal(exposure.status, 'ok');
    assert.equal(exposure.withinRpo, true);
    assert.equal(exposure.rpoSeconds, 300);
    assert.ok(exposure.exposureSeconds !== null && exposure.exposureSeconds < 300);
    assert.ok(exposure.bytesNotArchived !== null && exposure.bytesNotArchived >= 0);
    assert.ok((exposure.lastArchived?.wal ?? '').slice(0, 24) >= segment);
    assert.ok(exposure.lastArchived!.ageSeconds! < 300);
    assert.equal(exposure.failures.failing, false);
    assert.equal(exposure.error, null);

    const replication = db.replication!;
    assert.equal(replication.status, 'streaming', replication.reason);
    assert.equal(replication.applicationName, 'standby1');
    assert.equal(replication.syncState, 'async');
    assert.ok(replication.replayLagBytes !== null && replication.replayLagBytes >= 0);
    assert.ok(replication.replayLagSeconds !== null && replication.replayLagSeconds >= 0);
    assert.equal(replication.maxLagSeconds, 60);

    const text = await runCli(['status', '--plan', planFile], { env, timeoutMs: 60_000 });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\ndb\s+[0-9A-F]{24}\S*\s+\S+\s+0\s+\S+.*\s+5m\s+ok\n/);
    assert.match(text.stdout, /\ndb\s+standby1\s+streaming \(async\)\s+\d/);
  });

  test('status and the metrics read pgBackRest and write nothing where its configuration lives', async () => {
    const dir = join(primary.workDir, '.lifeboat', 'pgbackrest');
    // A file that differs from what the plan renders: a command that acts would rewrite it,
    // a read must leave it as it is.
    appendFileSync(join(dir, 'db', 'pgbackrest.conf'), '# read paths leave this line\n');
    const before = listing(dir);
    assert.ok(
      before.some((line) => line.startsWith('db/pgbackrest.conf ')),
      before.join('\n'),
    );
    const { db } = await status();
    // Measured, so pgBackRest's repository was read through that configuration.
    assert.equal(db.exposure?.status, 'ok');
    const metrics = await runCli(['status', '--plan', planFile, '--format', 'prometheus'], {
      env,
      timeoutMs: 60_000,
    });
    assert.ok(metrics.code === 0 || metrics.code === 1, metrics.stderr);
    assert.match(metrics.stdout, /lifeboat_dataset_wal_exposure_status\{[^}]*status="ok"\} 1/);
    assert.deepEqual(listing(dir), before);
  });

  test('a standby that replays behind: the lag in bytes, from the primary', async () => {
    // Paused replay keeps receiving, so the primary sees the standby flush but not replay.
    await standby.instance.psql('SELECT pg_wal_replay_pause()');
    await primary.pg.psqlScript('INSERT INTO t SELECT generate_series(1, 20000);');
    const standbyUrl = standby.instance.urlFor('postgres');
    const primaryConn = parsePgUrl(primary.pg.url);
    await eventually(
      async () => {
        const lag = await observeReplication(primaryConn, standbyUrl);
        return (lag.replayLagBytes ?? 0) > 0 ? lag : undefined;
      },
      30_000,
      'a replay lag on the primary',
    );
    const { code, db } = await status('--check');
    assert.equal(code, 0);
    assert.equal(db.replication?.status, 'streaming');
    assert.ok((db.replication?.replayLagBytes ?? 0) > 0);
    await standby.instance.psql('SELECT pg_wal_replay_resume()');
  });

  test('a standby that stops: a warning, not a breach', async () => {
    await standby.stop();
    const { code, db } = await status('--check');
    assert.equal(code, 0);
    assert.equal(db.replication?.status, 'unreachable');
    assert.equal(db.replication?.error?.port, standby.instance.port);
    assert.match(
      db.warnings.join('\n'),
      /^standby postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres: .*unreachable/,
    );
  });

  test('archiving that fails: failing, with the failed segment; the dataset is not compliant', async () => {
    await primary.pg.psqlScript("ALTER SYSTEM SET archive_command = '/bin/false'; SELECT pg_reload_conf();");
    await eventually(
      async () =>
        (await primary.pg.psql('SHOW archive_command'))[0]?.[0] === '/bin/false' ? true : undefined,
      10_000,
      'the reload',
    );
    await primary.pg.psqlScript('INSERT INTO t SELECT generate_series(1, 1000);');
    await primary.pg.psql('SELECT pg_switch_wal()');
    await eventually(
      async () => ((await datasetExposure(primary.context, 'db')).failedCount > 0 ? true : undefined),
      30_000,
      'pg_stat_archiver.failed_count > 0',
    );
    const { code, db, report } = await status('--check');
    assert.equal(code, 1);
    assert.equal(report.compliant, false);
    assert.equal(db.compliant, false);
    const exposure = db.exposure!;
    assert.equal(exposure.status, 'failing');
    assert.equal(exposure.failures.failing, true);
    assert.ok(exposure.failures.count > 0);
    assert.match(exposure.failures.lastWal ?? '', /^[0-9A-F]{24}$/);
    assert.ok(exposure.failures.lastAt);
    assert.ok((exposure.bytesNotArchived ?? 0) > 0);
    assert.equal(db.reasons.length, 1);
    assert.match(
      db.reasons[0]!,
      /^WAL archiving is failing: \d+ failed attempts, the last for [0-9A-F]{24} at /,
    );
    assert.ok(db.reasons[0]!.includes(exposure.failures.lastWal!));
    // Without --check, status reports and exits 0, whatever it finds.
    assert.equal((await status()).code, 0);
  });
});
