import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { startPostgres } from '../../stores/postgres/sandbox.js';
import { managedFromInstance } from './server.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { createStandby, readAutoConf, standbyIsSync, standbyLag } from './standby.js';

after(() => stopAll());

describe('streaming standbys', () => {
  test('async: built with pg_basebackup and a slot, streams, and its lag is measured until caught up', async (t) => {
    const pg = await startPostgres({ extraConf: { wal_log_hints: true } });
    const primary = managedFromInstance(pg, { name: 'primary' });
    try {
      const t0 = performance.now();
      const standby = await createStandby(primary, { name: 'replica_a' });
      t.diagnostic(`standby ready in ${Math.round(performance.now() - t0)} ms`);
      try {
        assert.match(readAutoConf(standby.instance.dataDir), /application_name=replica_a/);
        assert.deepEqual(
          await query(
            primary.url,
            `SELECT slot_type, active FROM pg_replication_slots WHERE slot_name = 'replica_a'`,
          ),
          [{ slot_type: 'physical', active: true }],
        );
        await query(
          primary.url,
          'CREATE TABLE t AS SELECT g, repeat(md5(g::text), 10) AS pad FROM generate_series(1, 50000) g',
        );
        const during = await standbyLag(primary, standby.server);
        t.diagnostic(
          `lag right after a 50000-row write: ${during.bytes} bytes, ${during.seconds.toFixed(3)} s`,
        );
        assert.equal(during.syncState, 'async');
        assert.ok(during.bytes >= 0 && during.unflushedBytes <= during.bytes);

        await pollUntil(
          async () => (await standbyLag(primary, standby.server)).bytes === 0,
          30_000,
          'caught up',
        );
        const caughtUp = await standbyLag(primary, standby.server);
        assert.equal(caughtUp.seconds, 0);
        assert.equal(caughtUp.replayLsn, caughtUp.primaryLsn);
        assert.deepEqual(
          await query(standby.server.url, 'SELECT count(*)::int AS n, pg_is_in_recovery() AS r FROM t'),
          [{ n: 50000, r: true }],
        );
      } finally {
        await standby.stop();
      }
    } finally {
      await pg.stop();
    }
  });

  test('sync: the primary waits for it on every commit', async () => {
    const pg = await startPostgres({ extraConf: { wal_log_hints: true } });
    const primary = managedFromInstance(pg, { name: 'primary' });
    try {
      const standby = await createStandby(primary, { sync: true });
      assert.deepEqual(await query(primary.url, 'SHOW synchronous_standby_names'), [
        { synchronous_standby_names: '"standby1"' },
      ]);
      assert.equal((await standbyLag(primary, standby.server)).syncState, 'sync');
      await query(primary.url, 'CREATE TABLE w (id int)');
      // Without its synchronous standby, a commit cannot be acknowledged.
      await standby.stop();
      await assert.rejects(query(primary.url, 'INSERT INTO w VALUES (1)', { timeoutMs: 1500 }));
    } finally {
      await pg.stop();
    }
  });

  test("the plan's mode wins; without one, an RPO of 0 means sync", () => {
    assert.equal(standbyIsSync({}, 0), true);
    assert.equal(standbyIsSync({}, 60), false);
    assert.equal(standbyIsSync({}, undefined), false);
    assert.equal(standbyIsSync({ mode: 'async' }, 0), false);
    assert.equal(standbyIsSync({ mode: 'sync' }, 3600), true);
  });

  test('a bad name is refused before anything is built', async () => {
    const pg = await startPostgres();
    try {
      await assert.rejects(
        createStandby(managedFromInstance(pg, { name: 'primary' }), { name: 'Bad-Name' }),
        /\[a-z0-9_\]/,
      );
      assert.deepEqual(await query(pg.url, 'SELECT count(*)::int AS n FROM pg_replication_slots'), [
        { n: 0 },
      ]);
    } finally {
      await pg.stop();
    }
  });
});
