/**
 * `lifeboat standby create` from a plan whose RPO is 0, on a throwaway primary: it asks
 * before making the primary wait for a synchronous standby, then builds one that outlives
 * the command, and failover --dry-run sees it in sync.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTempDir, osUser, removeDir, runningAsRoot, stopAll } from '../../system/instance.js';
import { startPostgres } from '../../stores/postgres/sandbox.js';
import { managedFromHost } from '../../respond/failover/server-host.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { hasStackTrace, writeTestPlan } from '../testing/failover.js';

after(() => stopAll());

test('standby create: confirmation, a synchronous standby that streams, its lag and plan lines', async (t) => {
  const primary = await startPostgres({ extraConf: { wal_log_hints: true, fsync: false } });
  const parent = makeTempDir('standby-cli', runningAsRoot() ? osUser('postgres') : undefined);
  const dataDir = join(parent, 'standby');
  const made = writeTestPlan({ primaryUrl: primary.url, primaryDataDir: primary.dataDir, rpo: '0s' });
  const standby = managedFromHost({ name: 'standby1', url: 'postgres://unused', dataDir });
  try {
    const unconfirmed = await made.run(['standby', 'create', 'users', '--to', dataDir]);
    assert.equal(unconfirmed.code, 4, unconfirmed.stderr);
    assert.match(
      unconfirmed.stderr,
      /a synchronous standby makes every commit on 127\.0\.0\.1:\d+ wait for it/,
    );
    assert.equal(hasStackTrace(unconfirmed.stderr), false);
    assert.equal(existsSync(dataDir), false, 'nothing was built');
    assert.deepEqual(await query(primary.url, 'SELECT slot_name FROM pg_replication_slots'), []);

    const { run, body } = await made.json(['standby', 'create', 'users', '--to', dataDir, '--yes']);
    assert.equal(run.code, 0, run.stderr);
    t.diagnostic(`standby create: ${run.ms} ms`);
    assert.equal(body.name, 'standby1');
    assert.equal(body.sync, true);
    assert.equal(body.dataDir, dataDir);
    const url = String(body.url);
    assert.equal(url, `postgres://postgres@127.0.0.1:${body.port}/postgres`);
    assert.deepEqual((body.lag as { syncState: string }).syncState, 'sync');
    assert.match(
      String(body.plan),
      // The primary's url has a password, so the standby's has too: never written into a plan.
      /standby: env:STANDBY_URL\n\s+standby_name: standby1/,
    );

    // It outlived the command, streams synchronously, and replays what the primary writes.
    assert.deepEqual(
      await query(primary.url, 'SELECT application_name, state, sync_state FROM pg_stat_replication'),
      [{ application_name: 'standby1', state: 'streaming', sync_state: 'sync' }],
    );
    await query(primary.url, 'CREATE TABLE marks AS SELECT 42 AS v');
    const withPassword = new URL(url);
    withPassword.password = new URL(primary.url).password;
    await pollUntil(
      async () => (await query(withPassword.toString(), 'SELECT v FROM marks')).length === 1,
      10_000,
      'the standby replays the primary',
    );

    // Named in the plan, failover sees it: in sync, so a failover would lose nothing.
    const named = writeTestPlan({
      primaryUrl: primary.url,
      primaryDataDir: primary.dataDir,
      standbyUrl: withPassword.toString(),
      standbyDataDir: dataDir,
      rpo: '0s',
    });
    try {
      const preview = await named.json(['failover', 'users', '--dry-run', '--force']);
      assert.equal(preview.run.code, 0, preview.run.stderr);
      assert.equal((preview.body.lag as { syncState: string }).syncState, 'sync');
      assert.deepEqual(preview.body.expectedLoss, { sync: true, bytes: 0, seconds: 0 });
    } finally {
      named.remove();
    }
  } finally {
    await standby.stop('immediate').catch(() => undefined);
    await primary.stop();
    removeDir(parent);
    made.remove();
  }
});
