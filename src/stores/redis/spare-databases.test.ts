/** Staging in spare databases, on throwaway servers with few databases. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RefusedError } from '../../errors.js';
import { stopAll } from '../../system/instance.js';
import { startRedis } from './sandbox.js';
import { clearStaged, stageSpares, surveyKeyspace, swapIn } from './spare-databases.js';

describe('spare databases', () => {
  after(() => stopAll());

  test('a server without enough empty databases is refused, and nothing is marked', async () => {
    const redis = await startRedis({ extraArgs: ['--databases', '4'] });
    for (const db of [0, 1, 2]) await redis.cli(['SET', 'k', String(db)], db);
    await assert.rejects(stageSpares(redis.url, 'aaaaaaaa', true, [0]), (error: unknown) => {
      assert.ok(error instanceof RefusedError);
      assert.match(error.message, /has 1 empty database\(s\) of 4; the restore needs 3/);
      return true;
    });
    const space = await surveyKeyspace(redis.url);
    assert.equal(space.databases, 4);
    assert.deepEqual(
      space.used.map((d) => d.state),
      ['live', 'live', 'live'],
    );
  });

  test('the switch moves every database at once and keeps the replaced keys, TTLs and all', async () => {
    const redis = await startRedis({ extraArgs: ['--databases', '6'] });
    await redis.cli(['SET', 'v', 'old'], 0);
    await redis.cli(['SET', 'session', 'old', 'EX', '3600'], 0);
    await redis.cli(['SET', 'only-live', 'x'], 1);
    // Without force, live keys are refused.
    await assert.rejects(stageSpares(redis.url, 'bbbbbbbb', false, [0]), RefusedError);
    const pairs = await stageSpares(redis.url, 'bbbbbbbb', true, [0]);
    assert.deepEqual(pairs, [
      { live: 0, spare: 5 },
      { live: 1, spare: 4 },
    ]);
    await redis.cli(['SET', 'v', 'restored'], 5);
    // The marked spares are not live data: a survey tells them apart.
    assert.deepEqual(
      (await surveyKeyspace(redis.url)).used.map((d) => [d.db, d.state, d.by]),
      [
        [0, 'live', undefined],
        [1, 'live', undefined],
        [4, 'staged', 'bbbbbbbb'],
        [5, 'staged', 'bbbbbbbb'],
      ],
    );
    const replaced = await swapIn(redis.url, 'bbbbbbbb', true, pairs);
    assert.deepEqual(replaced, [
      { live: 0, spare: 5, keys: 2 },
      { live: 1, spare: 4, keys: 1 },
    ]);
    assert.equal((await redis.cli(['GET', 'v'], 0)).trim(), 'restored');
    assert.equal((await redis.cli(['DBSIZE'], 0)).trim(), '1', 'the mark went with the switch');
    assert.equal((await redis.cli(['DBSIZE'], 1)).trim(), '0', 'a database the backup lacks is emptied');
    assert.equal((await redis.cli(['GET', 'v'], 5)).trim(), 'old');
    assert.ok(Number(await redis.cli(['TTL', 'session'], 5)) > 3000);
    // Kept aside, not a leftover: nothing to clear.
    assert.deepEqual(await clearStaged(redis.url, undefined), []);
    assert.deepEqual(
      (await surveyKeyspace(redis.url)).used.map((d) => [d.db, d.state]),
      [
        [0, 'live'],
        [4, 'replaced'],
        [5, 'replaced'],
      ],
    );
  });

  test('a switch whose staged copy lost its mark changes nothing', async () => {
    const redis = await startRedis({ extraArgs: ['--databases', '4'] });
    await redis.cli(['SET', 'v', 'old'], 0);
    const pairs = await stageSpares(redis.url, 'cccccccc', true, [0]);
    await redis.cli(['FLUSHDB'], pairs[0]!.spare);
    await assert.rejects(swapIn(redis.url, 'cccccccc', true, pairs), /was changed by someone else/);
    assert.equal((await redis.cli(['GET', 'v'], 0)).trim(), 'old');
  });
});
