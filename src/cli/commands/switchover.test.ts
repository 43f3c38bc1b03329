/**
 * `lifeboat switchover` from a plan, on throwaway servers, under writes through pgbouncer:
 * every acknowledged write is on the new primary, and clients reach it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { isRunning } from '../../respond/failover/server.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { missingIds, startTestCluster, startTestWriter } from '../../respond/failover/testing/cluster.js';
import { hasStackTrace, writeTestPlan } from '../testing/failover.js';

after(() => stopAll());

test('switchover: refused without the primary data directory, then zero loss under writes', async (t) => {
  const cluster = await startTestCluster({ bouncer: true });
  const bouncer = cluster.bouncer!;
  const input = {
    primaryUrl: cluster.primary.url,
    standbyUrl: cluster.standby.server.url,
    bouncer: { iniPath: bouncer.iniPath, adminPort: bouncer.port },
  };
  const withoutDataDir = writeTestPlan(input);
  const made = writeTestPlan({ ...input, primaryDataDir: cluster.pg.dataDir, rpo: '0s' });
  const writer = startTestWriter(bouncer.url);
  try {
    await pollUntil(async () => writer.acks.length > 100, 30_000, 'the writer got going');

    // Lifeboat cannot stop a primary whose data directory it does not know: nothing is done.
    const refused = await withoutDataDir.run(['switchover', 'users', '--yes']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /Lifeboat cannot act on its host/);
    assert.match(refused.stderr, /datasets\.users\.source\.data_dir/);
    assert.equal(hasStackTrace(refused.stderr), false);
    assert.deepEqual(await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);

    // A switchover needs no synchronous standby to lose nothing, even with an RPO of 0.
    const { run, body } = await made.json(['switchover', 'users', '--yes']);
    assert.equal(run.code, 0, run.stderr);
    const seconds = body.seconds as Record<string, number>;
    t.diagnostic(
      `switchover: fence ${seconds.fence}s, catch-up ${seconds.catchup}s, promote ${seconds.promote}s, route ${seconds.route}s`,
    );
    assert.equal(body.mode, 'switchover');
    assert.deepEqual(
      (body.steps as { kind: string }[]).map((s) => s.kind),
      ['pause-router', 'wait-catchup', 'stop-primary', 'promote', 'route'],
    );
    const newPort = cluster.standby.instance.port;
    await pollUntil(
      async () => writer.acks.some((a) => a.port === newPort),
      30_000,
      'a write on the new primary',
    );
    await writer.stop();

    // What clients felt: from the last write the old primary took to the first on the new one.
    const lastOld = writer.acks.filter((a) => a.port === cluster.pg.port).at(-1)!;
    const firstNew = writer.acks.find((a) => a.port === newPort)!;
    const pause = (firstNew.at - lastOld.at) / 1000;
    t.diagnostic(`clients paused ${pause.toFixed(2)}s`);
    // The goal is 1 s (0.3 s measured here); a loaded CI machine gets half a second more.
    assert.ok(pause <= 1.5, `clients paused ${pause}s`);

    assert.deepEqual(await missingIds(cluster.standby.server.url, writer.acks), [], 'zero loss');
    t.diagnostic(`${writer.acks.length} acknowledged writes, none lost`);
    assert.equal(isRunning(cluster.pg.dataDir), false, 'the old primary is stopped');
    assert.deepEqual(await bouncer.check(), { reachable: true, target: `127.0.0.1:${newPort}` });
  } finally {
    await writer.stop();
    withoutDataDir.remove();
    made.remove();
    await cluster.stop();
  }
});
