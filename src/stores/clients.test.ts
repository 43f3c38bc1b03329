import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvironmentError } from '../errors.js';
import { compareFingerprints, newFingerprint } from './fingerprint.js';
import { parseMysqlUrl } from './mysql/client.js';
import { parseCsv, parsePgUrl } from './postgres/psql.js';
import { parseRedisUrl } from './redis/client.js';
import { redact, runTool } from '../system/tool.js';

describe('connection urls keep passwords out of args', () => {
  test('postgres', () => {
    const conn = parsePgUrl(
      'postgresql://app:p%40ss%2Fw@db.example:6543/appdb?sslmode=require&password=override',
    );
    assert.equal(conn.uri, 'postgresql://app@db.example:6543/appdb?sslmode=require');
    assert.deepEqual(
      [conn.host, conn.port, conn.user, conn.database, conn.password],
      ['db.example', 6543, 'app', 'appdb', 'override'],
    );
    assert.equal(conn.env.PGPASSWORD, 'override');
    assert.equal(
      conn.withDatabase('other db').uri,
      'postgresql://app@db.example:6543/other%20db?sslmode=require',
    );
    const socket = parsePgUrl('postgres://postgres@/postgres?host=/var/run/postgresql');
    assert.deepEqual([socket.host, socket.port, socket.password], ['/var/run/postgresql', 5432, undefined]);
    assert.equal(socket.env.PGPASSWORD, undefined);
  });

  test('mysql and redis', () => {
    const my = parseMysqlUrl('mysql://backup:s3cr%3At@10.0.0.5:3307/shop');
    assert.deepEqual(my.args, [
      '--no-defaults',
      '--host=10.0.0.5',
      '--port=3307',
      '--user=backup',
      '--protocol=TCP',
    ]);
    assert.deepEqual([my.env, my.database], [{ MYSQL_PWD: 's3cr:t' }, 'shop']);
    const redis = parseRedisUrl('rediss://worker:pw@cache:6380/2');
    assert.deepEqual(redis.args, ['-h', 'cache', '-p', '6380', '--user', 'worker', '--tls']);
    assert.deepEqual(redis.env, { REDISCLI_AUTH: 'pw' });
    assert.deepEqual(parseRedisUrl('redis://:only-pw@cache').args, ['-h', 'cache', '-p', '6379']);
  });
});

describe('tools', () => {
  test('a missing binary is an EnvironmentError naming the Debian package', async () => {
    await assert.rejects(
      runTool('pg_dump', ['--version'], { env: { PATH: '/nonexistent' } }),
      (error: unknown) => {
        assert.ok(error instanceof EnvironmentError);
        assert.equal(error.hint, 'Install it: apt-get install postgresql-client');
        return true;
      },
    );
  });

  test('secrets are removed from tool output', () => {
    assert.equal(
      redact('FATAL: password "hunter2" wrong; hunter2', ['hunter2']),
      'FATAL: password "***" wrong; ***',
    );
  });

  test("psql's CSV: quotes, newlines, empty strings and NULL", () => {
    assert.deepEqual(parseCsv('1,"a,b","say ""hi""\nthere",,\\N\n2,x,"",\\N,\n'), [
      ['1', 'a,b', 'say "hi"\nthere', '', null],
      ['2', 'x', '', null, ''],
    ]);
    assert.deepEqual(parseCsv(''), []);
  });
});

describe('compareFingerprints', () => {
  test('names each differing, missing and unexpected item', () => {
    const a = {
      ...newFingerprint('postgres'),
      items: { 'db/table/t': { rows: 2, checksum: 'x' }, 'db/table/gone': { rows: 1 } },
    };
    const b = {
      ...newFingerprint('postgres'),
      items: { 'db/table/t': { rows: 1, checksum: 'x' }, 'db/table/new': { rows: 0 } },
    };
    assert.deepEqual(compareFingerprints(a, b).differences, [
      'db/table/gone: missing from the restored copy',
      'db/table/new: not in the source, present in the restored copy',
      'db/table/t: rows expected 2, got 1',
    ]);
    assert.deepEqual(compareFingerprints(a, structuredClone(a)), { equal: true, differences: [] });
    assert.equal(compareFingerprints(a, { ...b, type: 'mysql' }).equal, false);
  });
});
