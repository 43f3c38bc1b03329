/**
 * Bad inputs against real servers: each refusal is a clear message, and afterwards the
 * primary still takes writes, the standby is still a standby and pgbouncer still routes
 * clients to the primary without holding them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startNetworkPath, type NetworkPath } from '../../drill/failover-network.js';
import { EnvironmentError, RefusedError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import { stopAll } from '../../system/instance.js';
import { planFailover } from './failover-plan.js';
import { samplePrimary } from './monitor.js';
import { observeFailover } from './observe.js';
import { pgbouncerRouter } from './route-pgbouncer.js';
import { dropClient, query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { startTestCluster, type TestCluster } from './testing/cluster.js';

let cluster: TestCluster;
let replication: NetworkPath | undefined;
before(async () => {
  // Replication through a relay that can be cut, to make the standby fall behind on purpose.
  cluster = await startTestCluster({
    bouncer: true,
    upstream: async (primary) =>
      (replication = await startNetworkPath({ host: '127.0.0.1', port: primary.port })),
  });
});
after(async () => {
  await replication?.close();
  await cluster?.stop();
  await stopAll();
});

/** The primary as the monitor would report it lost, although it runs: the refusal must not touch it. */
async function pretendLost() {
  return {
    failure: 'refused' as const,
    message: 'simulated loss',
    lastSample: await samplePrimary(cluster.primary.url),
  };
}

async function assertNothingChanged(): Promise<void> {
  assert.deepEqual(await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
  assert.deepEqual(await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  assert.deepEqual(await cluster.bouncer!.check(), {
    reachable: true,
    target: `127.0.0.1:${cluster.pg.port}`,
  });
  const client = new pg.Client({ connectionString: cluster.bouncer!.url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query({
      text: 'INSERT INTO writes VALUES ($1) RETURNING inet_server_port() AS p',
      values: [Math.floor(Math.random() * 1e9)],
      query_timeout: 5000,
    } as pg.QueryConfig);
    assert.equal(
      Number(result.rows[0].p),
      cluster.pg.port,
      'clients still reach the primary through pgbouncer',
    );
  } finally {
    dropClient(client);
  }
}

describe('failover refuses bad inputs and changes nothing', () => {
  test('no standby', async () => {
    const observed = await observeFailover(
      { ...cluster.topology, standbys: [] },
      { loss: await pretendLost() },
    );
    assert.throws(
      () => planFailover(observed, { mode: 'failover' }),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        error.message === 'primary has no standby to failover to' &&
        /Create a streaming standby/.test(error.hint ?? ''),
    );
    await assertNothingChanged();
  });

  test('an unreachable pgbouncer', async () => {
    const router = pgbouncerRouter({
      adminHost: '127.0.0.1',
      adminPort: await freePort(),
      iniPath: cluster.bouncer!.iniPath,
      database: 'postgres',
    });
    const observed = await observeFailover({ ...cluster.topology, router }, { loss: await pretendLost() });
    assert.throws(
      () => planFailover(observed, { mode: 'failover' }),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        /^the router pgbouncer 127\.0\.0\.1:\d+ is unreachable: pgbouncer at 127\.0\.0\.1:\d+ failed SHOW DATABASES/.test(
          error.message,
        ),
    );
    await assertNothingChanged();
  });

  test('a standby lagging more than the RPO at failover', async (t) => {
    replication!.cut();
    try {
      await query(
        cluster.primary.url,
        'CREATE TABLE bulk AS SELECT g, md5(g::text) AS v FROM generate_series(1, 20000) g',
      );
      const loss = await pretendLost();
      const replica = loss.lastSample.replicas.find((r) => r.name === 'standby1');
      t.diagnostic(`standby1 unflushed: ${replica?.unflushedBytes} bytes`);
      assert.ok((replica?.unflushedBytes ?? 0) > 64 * 1024);
      const observed = await observeFailover(cluster.topology, { loss });
      assert.throws(
        () => planFailover(observed, { mode: 'failover', rpoBytes: 64 * 1024 }),
        (error: unknown) =>
          error instanceof RefusedError &&
          /^standby1 lags \d+ bytes \/ [\d.]+ s behind, more than the RPO \(65536 bytes\)$/.test(
            error.message,
          ) &&
          /Wait for it to catch up.*or force/.test(error.hint ?? ''),
      );
      await assertNothingChanged();
    } finally {
      replication!.heal();
    }
    await pollUntil(
      async () => (await samplePrimary(cluster.primary.url)).replicas[0]?.unflushedBytes === 0,
      30_000,
      'the standby caught up after the cut healed',
    );
  });
});
