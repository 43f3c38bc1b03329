import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startNetworkPath, type NetworkPath } from '../../drill/failover-network.js';
import { killPostgres } from '../../drill/failover-host.js';
import { EnvironmentError, RefusedError } from '../../errors.js';
import { stopAll } from '../../system/instance.js';
import { applyFailover } from './failover.js';
import { planFailover } from './failover-plan.js';
import { observeFailover } from './observe.js';
import { applyRejoin, observeRejoin, planRejoin, type RejoinObserved } from './rejoin.js';
import { isRunning } from './server.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { startTestCluster } from './testing/cluster.js';

after(() => stopAll());

describe('rejoin', () => {
  test('after a crash failover, pg_rewind undoes what only the old primary had; it streams from the new one', async (t) => {
    let network: NetworkPath | undefined;
    // Replication goes through a relay that can be cut, so the old primary can get ahead.
    const cluster = await startTestCluster({
      upstream: async (primary) =>
        (network = await startNetworkPath({ host: '127.0.0.1', port: primary.port })),
    });
    try {
      await query(cluster.primary.url, 'INSERT INTO writes SELECT generate_series(1, 100)');
      await pollUntil(
        async () =>
          (await query(cluster.standby.server.url, 'SELECT count(*)::int AS n FROM writes'))[0]?.n === 100,
        30_000,
        'replicated',
      );
      network!.cut();
      await query(cluster.primary.url, 'INSERT INTO writes SELECT generate_series(101, 200)');
      killPostgres(cluster.pg.dataDir);

      const observed = await observeFailover(cluster.topology, {
        loss: { failure: 'refused', message: 'killed' },
      });
      const result = await applyFailover(planFailover(observed, { mode: 'failover' }), cluster.topology);
      assert.equal(result.newPrimary, 'standby1');
      assert.equal(isRunning(cluster.pg.dataDir), false);
      await query(cluster.standby.server.url, 'INSERT INTO writes VALUES (-1)');

      const rejoinObserved = await observeRejoin(cluster.primary, cluster.standby.server);
      assert.equal(rejoinObserved.old.running, false);
      const plan = planRejoin(rejoinObserved);
      const rejoined = await applyRejoin(plan, cluster.primary, cluster.standby.server);
      t.diagnostic(`rejoined in ${rejoined.seconds.toFixed(2)} s: ${rejoined.rewind}`);
      assert.match(rejoined.rewind, /Done|rewind/i);
      assert.deepEqual(await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
      await pollUntil(
        async () => (await query(cluster.primary.url, 'SELECT 1 FROM writes WHERE id = -1')).length === 1,
        30_000,
        'the rejoined standby replays the new primary',
      );
      assert.deepEqual(
        await query(cluster.primary.url, 'SELECT count(*)::int AS n, max(id)::int AS top FROM writes'),
        [{ n: 101, top: 100 }],
        'the rows only the old primary had were rewound away',
      );
      const streaming = await query(
        cluster.standby.server.url,
        `SELECT state FROM pg_stat_replication WHERE application_name = 'primary'`,
      );
      assert.deepEqual(streaming, [{ state: 'streaming' }]);
    } finally {
      await network?.close();
      await cluster.stop();
    }
  });

  test('refuses what cannot or must not be rejoined', () => {
    const base: RejoinObserved = {
      old: {
        name: 'primary',
        agentReachable: true,
        dataDirAvailable: true,
        running: false,
        inRecovery: null,
        fenced: false,
      },
      newPrimary: { name: 'standby1', reachable: true, inRecovery: false },
    };
    assert.throws(
      () => planRejoin({ ...base, old: { ...base.old, dataDirAvailable: false } }),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        /no data directory/.test(error.message) &&
        /new standby/.test(error.hint ?? ''),
    );
    assert.throws(
      () => planRejoin({ ...base, old: { ...base.old, agentReachable: false } }),
      /host of primary is unreachable/,
    );
    assert.throws(
      () => planRejoin({ ...base, newPrimary: { ...base.newPrimary, inRecovery: true } }),
      (error: unknown) => error instanceof RefusedError,
    );
    assert.deepEqual(planRejoin({ ...base, old: { ...base.old, running: true, inRecovery: false } }).steps, [
      'stop',
      'rewind',
      'configure',
      'start',
      'stream',
    ]);
    assert.throws(
      () => planRejoin({ ...base, old: { ...base.old, running: true, inRecovery: true } }),
      /already running as a standby/,
    );
    assert.deepEqual(
      planRejoin({ ...base, old: { ...base.old, running: true, inRecovery: true, fenced: true } }).steps,
      ['stop', 'rewind', 'configure', 'start', 'stream'],
      'an old primary kept read-only by its fence is rewound like a stopped one',
    );
  });
});
