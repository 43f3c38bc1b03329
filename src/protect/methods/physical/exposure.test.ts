import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { OperationError } from '../../../errors.js';
import { preparePhysicalDataset } from './dataset.js';
import { datasetExposure } from './exposure.js';
import { applyArchiving, checkArchiving, ensureStanza, planDatasetArchiving } from './setup.js';
import { startSandboxPrimary, type SandboxPrimary } from './sandbox-primary.js';

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('live RPO exposure from pg_stat_archiver (real cluster)', { timeout: 110_000 }, () => {
  let primary: SandboxPrimary;

  before(async () => {
    primary = await startSandboxPrimary({ datasets: ['db'], rpo: '5m' });
    const dataset = await preparePhysicalDataset(primary.context, 'db');
    const plan = planDatasetArchiving(dataset);
    assert.equal(plan.restartRequired, true);
    const applied = await applyArchiving(dataset, plan, { confirmed: true, restart: primary.restart });
    assert.deepEqual(applied.pendingRestart, []);
    assert.equal(applied.restarted, true);
    assert.equal(planDatasetArchiving(dataset).upToDate, true);
    await ensureStanza(dataset);
    await checkArchiving(dataset);
  });

  after(async () => {
    await primary?.cleanup();
  });

  test('archiving that works: within the RPO, nothing failing', async () => {
    await primary.pg.psqlScript('CREATE TABLE t (v int); INSERT INTO t VALUES (1);');
    const [[segment]] = (await primary.pg.psql('SELECT pg_walfile_name(pg_switch_wal())')) as [[string]];
    const exposure = await eventually(
      async () => {
        const e = await datasetExposure(primary.context, 'db');
        return (e.lastArchivedWal ?? '').slice(0, 24) >= segment ? e : undefined;
      },
      30_000,
      `segment ${segment} archived`,
    );
    assert.equal(exposure.status, 'ok');
    assert.equal(exposure.archiveFailing, false);
    assert.equal(exposure.withinRpo, true);
    assert.equal(exposure.rpoSeconds, 300);
    assert.ok((exposure.exposureSeconds ?? Infinity) < 300);
  });

  test('a broken archive_command shows as failing, with the failed segment', async () => {
    await primary.pg.psqlScript("ALTER SYSTEM SET archive_command = '/bin/false'; SELECT pg_reload_conf();");
    await eventually(
      async () =>
        (await primary.pg.psql('SHOW archive_command'))[0]?.[0] === '/bin/false' ? true : undefined,
      10_000,
      'the reload',
    );
    await primary.pg.psqlScript('INSERT INTO t SELECT generate_series(1, 1000);');
    await primary.pg.psql('SELECT pg_switch_wal()');
    const exposure = await eventually(
      async () => {
        const e = await datasetExposure(primary.context, 'db');
        return e.failedCount > 0 ? e : undefined;
      },
      30_000,
      'pg_stat_archiver.failed_count > 0',
    );
    assert.equal(exposure.status, 'failing');
    assert.equal(exposure.archiveFailing, true);
    assert.match(exposure.lastFailedWal ?? '', /^[0-9A-F]{24}$/);
    assert.ok((exposure.bytesNotArchived ?? 0) > 0);
    assert.match(exposure.summary, /archiving is failing/);
    // pgBackRest's own check refuses such an archive_command, and says what to do.
    const dataset = await preparePhysicalDataset(primary.context, 'db');
    await assert.rejects(
      checkArchiving(dataset),
      (e: unknown) =>
        e instanceof OperationError && /\[068\]/.test(e.message) && /archive_command/.test(e.hint ?? ''),
    );
  });
});
