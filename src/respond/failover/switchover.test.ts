import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { applyFailover } from './failover.js';
import { planFailover } from './failover-plan.js';
import { observeFailover } from './observe.js';
import { applyRejoin, observeRejoin, planRejoin } from './rejoin.js';
import { isRunning } from './server.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { missingIds, startTestCluster, startTestWriter } from './testing/cluster.js';

after(() => stopAll());

describe('switchover', () => {
  test('planned, under writes: nothing acknowledged is lost; the old primary rejoins as a standby', async (t) => {
    const cluster = await startTestCluster({ bouncer: true });
    const bouncer = cluster.bouncer!;
    const writer = startTestWriter(bouncer.url);
    try {
      await pollUntil(async () => writer.acks.length > 200, 30_000, 'the writer got going');
      const observed = await observeFailover(cluster.topology);
      assert.equal(observed.primary.reachable, true);
      const plan = planFailover(observed, { mode: 'switchover' });
      const result = await applyFailover(plan, cluster.topology);
      t.diagnostic(
        `switchover: pause+stop ${result.seconds.fence.toFixed(3)} s, catch-up ${result.seconds.catchup.toFixed(3)} s, ` +
          `promote ${result.seconds.promote.toFixed(3)} s, route ${result.seconds.route.toFixed(3)} s`,
      );
      const newPort = cluster.standby.instance.port;
      await pollUntil(
        async () => writer.acks.some((a) => a.port === newPort),
        30_000,
        'a write on the new primary',
      );
      await sleep(200);
      await writer.stop();

      assert.deepEqual(await missingIds(cluster.standby.server.url, writer.acks), [], 'zero loss');
      assert.equal(isRunning(cluster.pg.dataDir), false, 'the old primary is stopped');
      assert.deepEqual(await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'), [
        { r: false },
      ]);
      assert.deepEqual(await bouncer.check(), { reachable: true, target: `127.0.0.1:${newPort}` });
      t.diagnostic(`${writer.acks.length} acknowledged writes, none lost`);

      // The old primary comes back as a standby of the new one, never as a second primary.
      const rejoinPlan = planRejoin(await observeRejoin(cluster.primary, cluster.standby.server));
      assert.deepEqual(rejoinPlan.steps, ['rewind', 'configure', 'start', 'stream']);
      const rejoined = await applyRejoin(rejoinPlan, cluster.primary, cluster.standby.server);
      t.diagnostic(`rejoined in ${rejoined.seconds.toFixed(2)} s: ${rejoined.rewind}`);
      assert.deepEqual(await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
      await query(cluster.standby.server.url, 'INSERT INTO writes VALUES (-1)');
      await pollUntil(
        async () => (await query(cluster.primary.url, 'SELECT 1 FROM writes WHERE id = -1')).length === 1,
        30_000,
        'the rejoined standby replays the new primary',
      );
    } finally {
      await writer.stop();
      await cluster.stop();
    }
  });
});
