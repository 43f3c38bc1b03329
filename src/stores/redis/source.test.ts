import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError, RefusedError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import { stopAll } from '../../system/instance.js';
import { startRedis, type RedisInstance } from './sandbox.js';
import { compareFingerprints } from '../fingerprint.js';
import { parseRedisUrl, redisCli } from './client.js';
import { redisSource } from './source.js';
import type { StreamUnit } from '../store.js';
import { pipeProducer } from '../../system/tool.js';

describe('redis source', () => {
  let source: RedisInstance;
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-redis-test-'));

  before(async () => {
    source = await startRedis({ password: 'redis-secret' });
    const conn = parseRedisUrl(source.url);
    const cli = (command: string[], db = 0): Promise<string> => redisCli(conn, command, db);
    await cli(['SET', 'greeting', 'hello world']);
    await cli(['SET', 'counter', '42']);
    await cli(['EVAL', "return redis.call('SET', KEYS[1], string.char(0, 255, 10, 13, 0))", '1', 'binary']);
    await cli(['RPUSH', 'queue', 'a', 'b', 'c', 'a']);
    await cli(['SADD', 'tags', 'x', 'y', 'z']);
    await cli(['ZADD', 'scores', '1.5', 'ann', '-2', 'bob', '1e10', 'cy']);
    await cli(['HSET', 'user:1', 'name', 'Ada', 'born', '1815']);
    await cli(['XADD', 'events', '1-1', 'type', 'login']);
    await cli(['XADD', 'events', '2-1', 'type', 'logout', 'why', 'idle']);
    await cli(['SET', 'session', 'short-lived', 'EX', '3600']);
    await cli(['EVAL', "for i = 0, 699 do redis.call('HSET', KEYS[1], 'f' .. i, i) end", '1', 'big'], 3);
    await cli(['SET', 'in-db-3', 'yes'], 3);
    await cli(['SADD', 'set-3', '1', '2'], 3);
  });

  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an RDB taken over the replication protocol restores with the same keys and values', async () => {
    const redis = redisSource({ type: 'redis', url: source.url });
    await redis.check();
    const [unit] = (await redis.units()) as StreamUnit[];
    assert.equal(unit?.filename, 'redis/dump.rdb');
    assert.ok(!unit.producer.args.join(' ').includes('redis-secret'));
    const file = join(dir, 'dump.rdb');
    await pipeProducer(unit.producer, createWriteStream(file));
    assert.equal(readFileSync(file).subarray(0, 5).toString(), 'REDIS');

    const restoreDir = mkdtempSync(join(dir, 'restore-'));
    await redis.restoreUnit(unit.filename, createReadStream(file), { kind: 'directory', path: restoreDir });
    await assert.rejects(
      redis.restoreUnit(unit.filename, createReadStream(file), { kind: 'directory', path: restoreDir }),
      RefusedError,
    );

    const expected = await redis.fingerprint();
    assert.deepEqual(Object.keys(expected.items), ['db0', 'db3']);
    assert.equal(expected.items.db0?.keys, 8);
    assert.deepEqual(expected.info, { db0: { keysWithTtl: 1 } });
    assert.deepEqual(
      compareFingerprints(expected, await redis.fingerprintOf({ kind: 'directory', path: restoreDir })),
      {
        equal: true,
        differences: [],
      },
    );

    // A copy that lost a key, or has one value changed, is caught.
    const copy = await startRedis({ rdbFile: join(restoreDir, 'dump.rdb') });
    await copy.cli(['HSET', 'big', 'f7', 'changed'], 3);
    await copy.cli(['DEL', 'queue']);
    const changed = compareFingerprints(
      expected,
      await redis.fingerprintOf({ kind: 'server', url: copy.url }),
    );
    assert.equal(changed.equal, false);
    assert.ok(changed.differences.includes('db0: keys expected 8, got 7'));
    assert.ok(changed.differences.some((d) => d.startsWith('db3: digest expected')));
  });

  test('an unreachable server is an EnvironmentError naming host and port, not the password', async () => {
    const port = await freePort();
    const redis = redisSource({ type: 'redis', url: `redis://:hunter2secret@127.0.0.1:${port}` });
    await assert.rejects(redis.check(), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(JSON.stringify({ m: error.message, d: error.details, h: error.hint }), /hunter2/);
      return true;
    });
  });

  test('a wrong password is an EnvironmentError too', async () => {
    const redis = redisSource({ type: 'redis', url: `redis://:wrong-one@127.0.0.1:${source.port}` });
    await assert.rejects(redis.check(), EnvironmentError);
  });
});
