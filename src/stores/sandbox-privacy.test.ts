/**
 * A throwaway server holds restored data, and PostgreSQL's superuser can run programs as the
 * server's OS user: another local user must get nowhere, over TCP or through the socket.
 * Runs the clients as `nobody` (needs root, as the sandboxes do when they switch users).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopAll } from '../system/instance.js';
import { runtimeDir } from '../system/private-dir.js';
import { postmasterPid } from '../system/process.js';
import { startMariadb, type MariadbInstance } from './mysql/sandbox.js';
import { parsePgUrl } from './postgres/psql.js';
import { startPostgres, type PostgresInstance } from './postgres/sandbox.js';
import { startRedis, type RedisInstance } from './redis/sandbox.js';

const root = process.getuid?.() === 0;
const marker = `/tmp/lifeboat-privacy-${process.pid}`;

/** Runs a client as `nobody`, with nothing of our environment (no PGPASSWORD, no HOME). */
function asNobody(command: string, args: string[]): { code: number | null; output: string } {
  const run = spawnSync(
    'runuser',
    ['-u', 'nobody', '--', 'env', '-i', `PATH=${process.env.PATH}`, command, ...args],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

let pg: PostgresInstance;
let maria: MariadbInstance;
let redis: RedisInstance;

describe(
  'throwaway servers keep other local users out',
  { skip: !root && 'needs root to switch to nobody' },
  () => {
    before(async () => {
      [pg, maria, redis] = await Promise.all([
        startPostgres({ fast: true }),
        startMariadb({ fast: true }),
        startRedis(),
      ]);
    });
    after(async () => {
      await stopAll();
      rmSync(marker, { force: true });
    });

    test('postgres over TCP asks a password, so COPY ... TO PROGRAM is out of reach', () => {
      const conninfo = `host=127.0.0.1 port=${pg.port} user=postgres dbname=postgres`;
      const select = asNobody('psql', ['-X', '-w', conninfo, '-c', 'select 1']);
      assert.notEqual(select.code, 0);
      assert.match(select.output, /password|authentication failed/i);
      const copy = asNobody('psql', [
        '-X',
        '-w',
        conninfo,
        '-c',
        `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`,
      ]);
      assert.notEqual(copy.code, 0);
      assert.equal(existsSync(marker), false, 'no program ran');
    });

    test('postgres through its socket dir: permission denied', () => {
      const run = asNobody('psql', [
        '-X',
        '-w',
        `host=${pg.socketDir} port=${pg.port} user=postgres dbname=postgres`,
        '-c',
        'select 1',
      ]);
      assert.notEqual(run.code, 0);
      assert.match(run.output, /permission denied/i);
    });

    test('postgres still answers Lifeboat, whose url carries the password', async () => {
      assert.deepEqual(await pg.psql('SELECT 1'), [['1']]);
      assert.ok(parsePgUrl(pg.url).password, 'the url has a password');
    });

    test('mariadb: root over TCP is refused without the password, the socket is unreachable', () => {
      const tcp = asNobody('mariadb', [
        '--no-defaults',
        '--protocol=TCP',
        '-h',
        '127.0.0.1',
        '-P',
        String(maria.port),
        '-u',
        'root',
        '-e',
        'select 1',
      ]);
      assert.notEqual(tcp.code, 0);
      assert.match(tcp.output, /Access denied/);
      const socket = asNobody('mariadb', [
        '--no-defaults',
        `--socket=${maria.socket}`,
        '-u',
        'root',
        '-e',
        'select 1',
      ]);
      assert.notEqual(socket.code, 0);
      assert.match(socket.output, /Can't connect|Permission denied|Access denied/i);
    });

    test('redis: every command needs the password', () => {
      const run = asNobody('redis-cli', [
        '-h',
        '127.0.0.1',
        '-p',
        String(redis.port),
        'CONFIG',
        'GET',
        'dir',
      ]);
      assert.match(run.output, /NOAUTH|Authentication required/i);
    });

    test('no password in any server process arguments', () => {
      const secrets = [pg.url, maria.url, redis.url].map((url) => decodeURIComponent(new URL(url).password));
      const pids = [
        postmasterPid(pg.dataDir)!,
        ...myRecords()
          .map((r) => r.serverPid)
          .filter((p) => p !== undefined),
      ];
      assert.ok(pids.length >= 3);
      for (const pid of pids) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        for (const secret of secrets) assert.equal(cmdline.includes(secret), false, `pid ${pid}'s arguments`);
      }
    });

    test('file modes: temp dirs and socket dir 0700, records 0600 in a 0700 directory', () => {
      assert.equal(mode(pg.tempDir), '700');
      assert.equal(mode(pg.socketDir), '700');
      assert.equal(mode(join(maria.dataDir, '..')), '700');
      assert.equal(mode(redis.dataDir), '700');
      const dir = runtimeDir();
      assert.equal(mode(dir), '700');
      const mine = myRecords().map((r) => r.file);
      assert.ok(mine.length >= 3, `records of this process: ${mine.length}`);
      for (const file of mine) assert.equal(mode(file), '600', file);
    });
  },
);

/** The records this test process wrote (its sandboxes'). */
function myRecords(): { file: string; serverPid: number | undefined }[] {
  const dir = runtimeDir();
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => {
      const file = join(dir, name);
      const record = JSON.parse(readFileSync(file, 'utf8')) as { ownerPid: number; serverPid?: number };
      return { file, ownerPid: record.ownerPid, serverPid: record.serverPid };
    })
    .filter((record) => record.ownerPid === process.pid);
}
