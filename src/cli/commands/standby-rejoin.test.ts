/**
 * `lifeboat standby rejoin` on throwaway servers: after a failover, the old primary (marked
 * read-only by it, and started again) is rewound and streams from the promoted standby;
 * --dry-run changes nothing; a standby that already streams is left alone.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FENCED_NOTE } from '../../respond/failover/read-only-hold.js';
import { samplePrimary } from '../../respond/failover/monitor.js';
import { startTestCluster, writeOnce, type TestCluster } from '../../respond/failover/testing/cluster.js';
import { query } from '../../stores/postgres/sql.js';
import { stopAll } from '../../system/instance.js';
import { pollUntil } from '../../system/poll.js';
import { newestAudit } from '../testing/audit.js';
import { writeTestPlan, type TestPlan } from '../testing/failover.js';

after(() => stopAll());

const inRecovery = async (url: string) =>
  (await query(url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r as boolean;

function planFor(cluster: TestCluster): TestPlan {
  return writeTestPlan({
    primaryUrl: cluster.primary.url,
    primaryDataDir: cluster.pg.dataDir,
    standbyUrl: cluster.standby.server.url,
    standbyDataDir: cluster.standby.instance.dataDir,
    bouncer: { iniPath: cluster.bouncer!.iniPath, adminPort: cluster.bouncer!.port },
  });
}

describe('lifeboat standby rejoin', () => {
  test('after a failover, the fenced old primary is rewound into a standby of the promoted one', async () => {
    const cluster = await startTestCluster({ bouncer: true });
    const plan = planFor(cluster);
    try {
      // Before any failover the plan's standby already streams: nothing to rejoin.
      const early = await plan.run(['standby', 'rejoin', 'users', '--dry-run']);
      assert.equal(early.code, 4, early.stderr);
      assert.match(early.stderr, /already running as a standby/);

      for (let id = 1; id <= 20; id++) await writeOnce(cluster.bouncer!.url, id);
      await pollUntil(
        async () => (await samplePrimary(cluster.primary.url)).replicas[0]?.unflushedBytes === 0,
        30_000,
        'the standby caught up',
      );
      await cluster.primary.stop('immediate');
      const failover = await plan.run(['failover', 'users', '--yes']);
      assert.equal(failover.code, 0, failover.stderr);
      // Started again, as a reboot would: read-only, following nobody.
      await cluster.primary.start();
      assert.equal(await inRecovery(cluster.primary.url), true);

      const dry = await plan.json(['standby', 'rejoin', 'users', '--dry-run']);
      assert.equal(dry.run.code, 0, dry.run.stderr);
      const preview = dry.body.preview as Record<string, unknown>;
      assert.deepEqual(preview.old, {
        name: 'primary',
        address: `127.0.0.1:${cluster.pg.port}`,
        running: true,
        fenced: true,
      });
      assert.deepEqual(preview.steps, ['stop', 'rewind', 'configure', 'start', 'stream']);
      assert.match(String(preview.planUpdate), /standby_name: primary/);
      assert.equal(existsSync(join(cluster.pg.dataDir, FENCED_NOTE)), true, '--dry-run changed nothing');
      assert.deepEqual(
        await query(cluster.standby.server.url, 'SELECT count(*)::int AS n FROM pg_stat_replication'),
        [{ n: 0 }],
      );

      const done = await plan.json(['standby', 'rejoin', 'users', '--yes']);
      assert.equal(done.run.code, 0, done.run.stderr);
      assert.equal(typeof done.body.seconds, 'number');
      assert.equal(await inRecovery(cluster.primary.url), true);
      assert.equal(existsSync(join(cluster.pg.dataDir, FENCED_NOTE)), false, 'no longer fenced: a standby');
      assert.deepEqual(
        await query(
          cluster.standby.server.url,
          `SELECT state FROM pg_stat_replication WHERE application_name = 'primary'`,
        ),
        [{ state: 'streaming' }],
      );
      // A write on the new primary reaches the rejoined standby.
      assert.equal(await writeOnce(cluster.bouncer!.url, 1000), cluster.standby.instance.port);
      await pollUntil(
        async () =>
          (await query(cluster.primary.url, 'SELECT count(*)::int AS n FROM writes WHERE id = 1000'))[0]
            ?.n === 1,
        30_000,
        'the rejoined standby replays the new write',
      );
      const audit = await newestAudit(plan.file, 'standby.rejoin');
      assert.equal(audit?.outcome, 'ok');
    } finally {
      plan.remove();
      await cluster.stop();
    }
  });
});
