import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { EnvironmentError, RefusedError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import type { PatroniCluster } from './client.js';
import { patroniHandover } from './handover.js';
import { sql, startPatroniCluster, type PatroniTestCluster } from './testing/cluster.js';

let cluster: PatroniTestCluster;
before(async () => {
  cluster = await startPatroniCluster();
});
after(() => cluster?.stop());

/** What a handover would change: who leads, on which timeline. */
const leadership = (c: PatroniCluster) =>
  c.members.map((m) => `${m.name} ${m.role} timeline ${m.timeline ?? '?'}`).join(', ');

async function assertUnchanged(before: PatroniCluster): Promise<void> {
  assert.equal(leadership(await cluster.read()), leadership(before), 'nothing changed');
}

describe('patroniHandover on a real Patroni cluster', () => {
  test('dry run: picks the streaming replica, asks Patroni nothing', async () => {
    const before = await cluster.read();
    const lines: string[] = [];
    const result = await patroniHandover({
      url: cluster.node('node0').apiUrl,
      mode: 'switchover',
      dryRun: true,
      onProgress: (line) => lines.push(line),
    });
    assert.equal(result.dryRun, true);
    assert.equal(result.oldLeader, 'node0');
    assert.equal(result.newLeader, 'node1');
    assert.equal(result.seconds, 0);
    assert.deepEqual(
      result.members.map((m) => m.name),
      ['node0', 'node1'],
    );
    assert.match(lines.join('\n'), /dry run: Patroni was not asked to switchover/);
    await assertUnchanged(before);
  });

  test('refuses an unknown candidate, naming the known members; nothing changed', async () => {
    const before = await cluster.read();
    await assert.rejects(
      patroniHandover({ url: cluster.node('node1').apiUrl, mode: 'failover', candidate: 'node7' }),
      (error: unknown) =>
        error instanceof RefusedError &&
        /no member named "node7"; its members are node0, node1/.test(error.message),
    );
    await assertUnchanged(before);
  });

  test('refuses a candidate further behind than the limit; nothing changed', async () => {
    const resume = await cluster.pauseReplication('node1');
    try {
      // About 8 MB of WAL that node1 cannot receive.
      await sql(
        cluster.node('node0').pgUrl,
        "CREATE TABLE filler AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 6000) g",
      );
      let before: PatroniCluster | undefined;
      for (let i = 0; i < 100; i++) {
        before = await cluster.read();
        if ((before.members.find((m) => m.name === 'node1')?.lagBytes ?? 0) > 2_000_000) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const candidate of [undefined, 'node1']) {
        await assert.rejects(
          patroniHandover({
            url: cluster.node('node0').apiUrl,
            mode: 'switchover',
            ...(candidate ? { candidate } : {}),
          }),
          (error: unknown) =>
            error instanceof RefusedError &&
            /node1 is \d+ bytes behind the leader, more than the limit of 1048576/.test(error.message),
        );
      }
      await assertUnchanged(before!);
    } finally {
      resume();
    }
    await cluster.settled('node0');
  });

  test('an unreachable REST API: the error names the URL; nothing changed', async () => {
    const before = await cluster.read();
    const url = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      patroniHandover({ url, mode: 'switchover' }),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        error.message.includes(`${url}/cluster`) &&
        /unreachable \(ECONNREFUSED\)/.test(error.message),
    );
    await assertUnchanged(before);
  });

  test('switchover to the replica under writes: every acknowledged row is on the new leader', async (t) => {
    const node0 = cluster.node('node0');
    const node1 = cluster.node('node1');
    await sql(node0.pgUrl, 'CREATE TABLE writes (id bigint PRIMARY KEY)');
    const writer = startWriter(node0.pgUrl);
    while (writer.acked.length < 100) await new Promise((resolve) => setTimeout(resolve, 20));

    const result = await patroniHandover({ url: node0.apiUrl, mode: 'switchover' });
    const acked = await writer.stop();
    t.diagnostic(
      `switchover in ${result.seconds.toFixed(2)} s; ${acked.length} writes acknowledged by node0`,
    );

    assert.equal(result.dryRun, false);
    assert.equal(result.oldLeader, 'node0');
    assert.equal(result.newLeader, 'node1');
    assert.ok(result.seconds > 0 && result.seconds < 60, `took ${result.seconds} s`);
    assert.ok(result.lagBytesBefore >= 0);
    assert.equal(result.members.find((m) => m.role === 'leader')?.name, 'node1');
    const present = new Set((await sql(node1.pgUrl, 'SELECT id FROM writes')).map((r) => Number(r.id)));
    assert.deepEqual(
      acked.filter((id) => !present.has(id)),
      [],
      'no acknowledged write is missing on the new leader',
    );
    await sql(node1.pgUrl, 'INSERT INTO writes VALUES (-1)'); // It accepts writes.
  });

  test('failover to a named candidate: the old leader, back as a replica, takes over again', async (t) => {
    await cluster.settled('node1');
    const node0 = cluster.node('node0');
    await sql(cluster.node('node1').pgUrl, 'INSERT INTO writes SELECT -g FROM generate_series(2, 100) g');
    await cluster.settled('node1');

    const lines: string[] = [];
    const result = await patroniHandover({
      url: cluster.node('node1').apiUrl,
      mode: 'failover',
      candidate: 'node0',
      onProgress: (line) => lines.push(line),
    });
    t.diagnostic(`failover in ${result.seconds.toFixed(2)} s: ${lines.join(' | ')}`);
    assert.equal(result.oldLeader, 'node1');
    assert.equal(result.newLeader, 'node0');
    assert.equal(result.members.find((m) => m.role === 'leader')?.name, 'node0');
    assert.deepEqual(await sql(node0.pgUrl, 'SELECT count(*)::int AS n FROM writes WHERE id < 0'), [
      { n: 100 },
    ]);
    assert.deepEqual(await sql(node0.pgUrl, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
  });
});

/** Inserts increasing ids on one server until stopped or refused; returns the acknowledged ones. */
function startWriter(url: string): { acked: number[]; stop(): Promise<number[]> } {
  const acked: number[] = [];
  let stopped = false;
  const loop = (async () => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      for (let id = 1; !stopped; id++) {
        await client.query('INSERT INTO writes VALUES ($1)', [id]);
        acked.push(id);
      }
    } catch {
      // The leader shut down for the switchover: what it acknowledged so far is the test.
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return {
    acked,
    stop: async () => {
      stopped = true;
      await loop;
      return acked;
    },
  };
}
