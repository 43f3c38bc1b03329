import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, portIsClosed } from '../system/free-port.js';
import { stopAll, withCleanup, type Instance } from '../system/instance.js';
import { startMariadb } from './mysql/sandbox.js';
import { parsePgUrl } from './postgres/psql.js';
import { startPostgres } from './postgres/sandbox.js';
import { startRedis } from './redis/sandbox.js';

after(() => stopAll());

async function timed<T>(start: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await start();
  return [value, Math.round(performance.now() - t0)];
}

async function assertGone(instance: Instance): Promise<void> {
  assert.equal(existsSync(instance.dataDir), false, `${instance.dataDir} removed`);
  assert.equal(await portIsClosed(instance.port), true, `port ${instance.port} closed`);
}

describe('throwaway instances', () => {
  test('postgres: starts on a free loopback port, answers, stops and leaves nothing', async (t) => {
    const [pg, ms] = await timed(() => startPostgres());
    t.diagnostic(`postgres started in ${ms} ms`);
    assert.match(pg.url, /^postgres:\/\/postgres:[\w-]{32}@127\.0\.0\.1:\d+\/postgres$/);
    assert.notEqual(pg.port, 5432);
    assert.deepEqual(
      await pg.psql("SELECT current_setting('listen_addresses'), current_setting('fsync'), 1 + 1, NULL"),
      [['127.0.0.1', 'on', '2', null]],
    );
    await pg.stop();
    await pg.stop(); // A second stop is harmless.
    await assertGone(pg);
  });

  test('postgres: fast mode and extra settings; an existing data dir can be started again', async (t) => {
    const [first, ms] = await timed(() =>
      startPostgres({ fast: true, extraConf: { wal_level: 'replica', work_mem: '8MB' } }),
    );
    t.diagnostic(`postgres (fast) started in ${ms} ms`);
    try {
      assert.deepEqual(
        await first.psql(
          "SELECT current_setting('fsync'), current_setting('wal_level'), current_setting('work_mem')",
        ),
        [['off', 'replica', '8MB']],
      );
      await first.psqlScript('CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$survives a restart$$);');
      const stopped = await first.pgCtl(['stop', '-m', 'fast', '-w']);
      assert.equal(stopped.code, 0, stopped.stderr);

      // How PITR and standby work will start a restored data directory.
      const second = await startPostgres({
        dataDir: first.dataDir,
        password: parsePgUrl(first.url).password!,
      });
      assert.deepEqual(await second.psql('SELECT v FROM kept'), [['survives a restart']]);
      await second.stop();
      assert.equal(existsSync(first.dataDir), true, 'a data dir it did not create is left in place');
    } finally {
      await first.stop();
    }
    await assertGone(first);
  });

  test('mariadb: starts, answers as root with its password, stops and leaves nothing', async (t) => {
    const [db, ms] = await timed(() => startMariadb());
    t.diagnostic(`mariadb started in ${ms} ms`);
    assert.match(db.url, /^mysql:\/\/root:[\w-]{32}@127\.0\.0\.1:\d+\/$/);
    assert.notEqual(db.port, 3306);
    assert.deepEqual(
      await db.query(
        'CREATE DATABASE t; CREATE TABLE t.x (v INT); INSERT INTO t.x VALUES (7); SELECT v FROM t.x;',
      ),
      [['7']],
    );
    await db.stop();
    await assertGone(db);
  });

  test('redis: starts empty or from an RDB, stops and leaves nothing', async (t) => {
    const [redis, ms] = await timed(() => startRedis());
    t.diagnostic(`redis started in ${ms} ms`);
    assert.match(redis.url, /^redis:\/\/default:[\w-]{32}@127\.0\.0\.1:\d+\/$/);
    assert.notEqual(redis.port, 6379);
    await redis.cli(['SET', 'k', 'v']);
    assert.equal((await redis.cli(['GET', 'k'])).trim(), 'v');
    await redis.stop();
    await assertGone(redis);
  });

  test('withCleanup stops what it tracked when the work throws', async () => {
    let seen: Instance | undefined;
    await assert.rejects(
      withCleanup(async (track) => {
        seen = track(await startRedis());
        throw new Error('the test failed');
      }),
      /the test failed/,
    );
    assert.ok(seen);
    await assertGone(seen);
  });

  test('a process that exits without stopping its instances still stops them', async () => {
    // Compiled tests run from dist/ as .js; under tsx the fixture is still .ts.
    const compiled = import.meta.url.endsWith('.js');
    const fixture = fileURLToPath(
      new URL(`./testing/sandbox-exit-fixture.${compiled ? 'js' : 'ts'}`, import.meta.url),
    );
    const child = spawnSync(process.execPath, [...(compiled ? [] : ['--import', 'tsx']), fixture], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const started = JSON.parse(child.stdout) as { port: number; dataDir: string }[];
    assert.equal(started.length, 3);
    for (const instance of started) {
      for (let i = 0; i < 50 && !(await portIsClosed(instance.port)); i++) await sleep(100);
      assert.equal(await portIsClosed(instance.port), true, `port ${instance.port} closed`);
      assert.equal(existsSync(instance.dataDir), false, `${instance.dataDir} removed`);
    }
  });

  test('freePort gives a port nothing listens on', async () => {
    const port = await freePort();
    assert.ok(port > 1024);
    assert.equal(await portIsClosed(port), true);
  });
});
