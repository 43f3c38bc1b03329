import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { REPLACED_MARK, STAGING_MARK } from '../store.js';
import type { MysqlTarget } from '../target.js';
import { parseMysqlUrl } from './client.js';
import { clearMysqlLeftovers, markedName } from './restore.js';
import { startMariadb, type MariadbInstance } from './sandbox.js';

test('a marked name fits MySQL’s 64 characters, shortened by whole characters', () => {
  assert.equal(markedName('shop', STAGING_MARK, '0123abcd'), 'shop__lifeboat_restore_0123abcd');
  const long = 'ü'.repeat(60);
  const marked = markedName(long, REPLACED_MARK, '0123abcd');
  assert.equal([...marked].length, 64);
  assert.ok(marked.endsWith(`${REPLACED_MARK}0123abcd`));
  assert.ok(marked.startsWith('ü'.repeat(64 - `${REPLACED_MARK}0123abcd`.length)));
});

describe('clearing what killed MySQL restores left', () => {
  let maria: MariadbInstance;
  const long = `l${'o'.repeat(50)}ng`;

  before(async () => {
    maria = await startMariadb({ fast: true });
  });
  after(() => stopAll());

  const spec = (): MysqlTarget => ({
    kind: 'mysql',
    url: maria.url,
    host: '127.0.0.1',
    port: maria.port,
    databases: { shop: 'shop', big: long },
    source: false,
  });
  const names = async () =>
    (
      await maria.query(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%lifeboat%' ORDER BY 1",
      )
    ).map((r) => r[0]);

  test('drops only staged copies of the target’s databases that no client uses', async () => {
    const create = [
      'shop__lifeboat_restore_0123abcd',
      'shop__lifeboat_restore_feedbeef',
      'shop__lifeboat_replaced_0123abcd',
      'shop__lifeboat_restore_notanid',
      'other__lifeboat_restore_0123abcd',
      markedName(long, STAGING_MARK, '89abcdef'),
    ];
    await maria.query(create.map((name) => `CREATE DATABASE \`${name}\`;`).join('\n'));
    // A restore still loading this one: a client has it as its database.
    const conn = parseMysqlUrl(maria.url);
    const busy = spawn(
      'mariadb',
      [...conn.args, '--database=shop__lifeboat_restore_feedbeef', '-e', 'SELECT SLEEP(20)'],
      {
        env: { ...process.env, ...conn.env },
        stdio: 'ignore',
      },
    );
    try {
      const deadline = Date.now() + 10_000;
      while (
        (
          await maria.query(
            "SELECT 1 FROM information_schema.PROCESSLIST WHERE DB = 'shop__lifeboat_restore_feedbeef'",
          )
        ).length === 0
      ) {
        assert.ok(Date.now() < deadline, 'the busy client connected');
        await new Promise((r) => setTimeout(r, 50));
      }
      const removed = await clearMysqlLeftovers(spec());
      assert.deepEqual(
        removed.map((line) => /`([^`]+)`/.exec(line)?.[1]),
        [markedName(long, STAGING_MARK, '89abcdef'), 'shop__lifeboat_restore_0123abcd'].sort(),
      );
      assert.match(removed.join('\n'), /a partial copy an interrupted restore left/);
      assert.deepEqual(await names(), [
        'other__lifeboat_restore_0123abcd',
        'shop__lifeboat_replaced_0123abcd',
        'shop__lifeboat_restore_feedbeef',
        'shop__lifeboat_restore_notanid',
      ]);
    } finally {
      busy.kill('SIGKILL');
    }
  });
});
