/**
 * Redis restores that replace live data, killed or failing: `lifeboat restore` runs as a child
 * in its own process group. Into a directory holding a dump.rdb, and into the live server
 * itself (`--to source --force`), a restore SIGKILLed while it writes leaves the live
 * dump.rdb, or the live server's keys, whole and unchanged, and no process of its own
 * running; the next restore removes what it left, says so, and succeeds, the replaced data
 * kept aside. A restore whose check fails leaves nothing staged and the target unchanged.
 * The backed-up server is a throwaway one, big enough (150,000 keys and 40 MiB of random
 * values) for a kill to land in the middle of the writing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { killGroup, processesWithEnv, spawnCli, type CliProcess } from '../cli/testing/cli-process.js';
import { runCli } from '../cli/testing/run-cli.js';
import { parseRedisUrl } from '../stores/redis/client.js';
import { startRedis, type RedisInstance } from '../stores/redis/sandbox.js';
import { redisSource } from '../stores/redis/source.js';
import { stopAll } from '../system/instance.js';
import { runToolOk } from '../system/tool.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

interface RestoreJson {
  result: { ok: boolean; warnings: string[]; replaced?: string[]; fingerprint: { equal: boolean } };
}

describe('Redis restores that replace live data, killed or failing', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-redis-crash-'));
  const plan = join(dir, 'lifeboat.yaml');
  const rdbDir = join(dir, 'rdb');
  const rdb = join(rdbDir, 'dump.rdb');
  let live: RedisInstance;
  const running: CliProcess[] = [];

  const restoreArgs = (to: string) => [
    'restore',
    'cache',
    '--to',
    to,
    '--force',
    '--yes',
    '--json',
    '--plan',
    plan,
  ];
  const restore = async (to: string, env: Record<string, string> = {}) => {
    const run = await runCli(restoreArgs(to), { timeoutMs: 300_000, env: { ...process.env, ...env } });
    return { ...run, json: run.code === 0 ? (JSON.parse(run.stdout) as RestoreJson) : undefined };
  };
  /** The restore in its own process group, its processes marked through their environment. */
  const startRestore = (to: string) => {
    const mark = randomUUID();
    const child = spawnCli(restoreArgs(to), { ...process.env, LIFEBOAT_TEST_MARK: mark });
    running.push(child);
    let exited = false;
    void child.exited.then(() => (exited = true));
    /** Waits for `condition` while the restore runs; fails with what it said once it ended. */
    const during = (what: string, condition: () => boolean | Promise<boolean>) =>
      until(what, async () => {
        if (exited)
          throw new Error(
            `the restore ended before ${what}: ${child.stdout.join('\n')} ${child.stderr.join('\n')}`,
          );
        return condition();
      });
    return { child, mark, during };
  };
  /** Stops the whole group at once (nothing of it moves on), then kills it. */
  const freezeAndKill = async (child: CliProcess) => {
    process.kill(-child.pid, 'SIGSTOP');
    await killGroup(child);
  };

  /** The live server's databases 0-2 (the backed-up ones): what a kill must leave unchanged. */
  const liveContent = async () => {
    const { items } = await redisSource({ type: 'redis', url: live.url }).fingerprint();
    return {
      db0: items.db0,
      db1: items.db1,
      db2: items.db2,
      marker: (await live.cli(['GET', 'marker'])).trim(),
    };
  };
  const keyspace = async () =>
    Object.fromEntries(
      [...(await live.cli(['INFO', 'keyspace'])).matchAll(/^db(\d+):keys=(\d+)/gm)].map((m) => [
        Number(m[1]),
        Number(m[2]),
      ]),
    ) as Record<number, number>;
  /** Databases holding a restore's staged copy (the mark of `spare-databases.ts`). */
  const stagedDatabases = async () => {
    const staged: number[] = [];
    for (const db of Object.keys(await keyspace()).map(Number))
      if ((await live.cli(['EXISTS', '__lifeboat_restore_db'], db)).trim() === '1') staged.push(db);
    return staged;
  };
  const rdbEntries = () => readdirSync(rdbDir).sort();
  /** The files in the directory and one level below, by inode. */
  const rdbFiles = () =>
    readdirSync(rdbDir, { recursive: true })
      .map((entry) => statSync(join(rdbDir, String(entry)), { throwIfNoEntry: false }))
      .filter((stat) => stat?.isFile() === true)
      .map((stat) => ({ ino: stat!.ino, size: stat!.size }));

  before(async () => {
    live = await startRedis();
    await live.cli(['EVAL', "for i = 1, 150000 do redis.call('SET', 'k:' .. i, 'v' .. i) end return 1", '0']);
    await live.cli(['SET', 'session', 'x', 'EX', '3600'], 1);
    await live.cli(['HSET', 'h', 'a', '1', 'b', '2'], 1);
    const conn = parseRedisUrl(live.url);
    for (let i = 0; i < 40; i++) {
      await runToolOk('redis-cli', [...conn.args, '-n', '2', '-x', 'SET', `blob:${i}`], {
        env: conn.env,
        stdin: randomBytes(1 << 20),
      });
    }
    writeFileSync(
      plan,
      `version: 1
organization: Redis Restore Crash Test
datasets:
  cache:
    rpo: 1h
    source: { type: redis, url: "${live.url}" }
    backup: { every: 15m }
    verify: { checks: [ { name: allowed, command: 'test -z "$LIFEBOAT_TEST_FAIL_CHECK"' } ] }
`,
    );
    const backup = await runCli(['backup', '--plan', plan], { timeoutMs: 300_000 });
    assert.equal(backup.code, 0, backup.stderr);
    // The live server moves on after the backup: a restore would take 'marker' away again.
    await live.cli(['SET', 'marker', 'live since']);
    mkdirSync(rdbDir);
    writeFileSync(rdb, 'the dump.rdb that was there before');
  });

  after(async () => {
    for (const child of running) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a directory restore over a dump.rdb puts the proven one in place and keeps the old one aside', async () => {
    const run = await restore(rdbDir);
    assert.equal(run.code, 0, run.stderr);
    const { result } = run.json!;
    assert.equal(result.ok, true);
    assert.equal(result.fingerprint.equal, true, JSON.stringify(result));
    const aside = /kept as (\S+__lifeboat_replaced_[0-9a-f]{8}) /.exec(
      result.replaced?.join('\n') ?? '',
    )?.[1];
    assert.ok(aside, result.replaced?.join('\n'));
    assert.equal(readFileSync(aside, 'utf8'), 'the dump.rdb that was there before');
    assert.deepEqual(
      rdbEntries().filter((e) => e.includes('__lifeboat_restore_')),
      [],
    );
    const loaded = await startRedis({ rdbFile: rdb });
    try {
      assert.equal((await loaded.cli(['DBSIZE'])).trim(), '150000');
      assert.equal((await loaded.cli(['GET', 'k:42'])).trim(), 'v42');
    } finally {
      await loaded.stop();
    }
  });

  test('a directory restore killed while it writes the RDB leaves dump.rdb whole; the next one clears what it left', async () => {
    const before = sha256(rdb);
    const full = statSync(rdb).size;
    const known = new Set(rdbFiles().map((f) => f.ino));
    const { child, mark, during } = startRestore(rdbDir);
    // A new file growing in the directory (staged or not): the restore writes the RDB.
    const written = () => rdbFiles().find((f) => !known.has(f.ino) && f.size > 4 << 20)?.size ?? 0;
    await during('the restore writes the RDB', () => written() > 0);
    await freezeAndKill(child);
    const partial = written();
    assert.ok(partial < full, `killed mid-write: ${partial} of ${full} bytes`);
    assert.deepEqual(processesWithEnv('LIFEBOAT_TEST_MARK', mark), [], 'no process of the restore runs on');

    assert.equal(sha256(rdb), before, 'dump.rdb is the one that was there, whole');
    const leftovers = rdbEntries().filter((e) => /^dump\.rdb__lifeboat_restore_[0-9a-f]{8}$/.test(e));
    assert.equal(leftovers.length, 1, rdbEntries().join(', '));

    const run = await restore(rdbDir);
    assert.equal(run.code, 0, run.stderr);
    const { result } = run.json!;
    assert.equal(result.ok, true);
    assert.match(
      result.warnings.join('\n'),
      new RegExp(`removed what an interrupted restore left: ${join(rdbDir, leftovers[0]!)}`),
    );
    assert.deepEqual(
      rdbEntries().filter((e) => e.includes('__lifeboat_restore_')),
      [],
    );
    assert.equal(statSync(rdb).size, full);
  });

  test('a directory restore whose check fails leaves nothing staged and dump.rdb unchanged', async () => {
    writeFileSync(rdb, 'a dump.rdb written since');
    const entries = rdbEntries();
    const run = await restore(rdbDir, { LIFEBOAT_TEST_FAIL_CHECK: '1' });
    assert.notEqual(run.code, 0, run.stdout);
    assert.ok(readFileSync(rdb).equals(Buffer.from('a dump.rdb written since')), 'dump.rdb unchanged');
    assert.deepEqual(rdbEntries(), entries, 'nothing staged, nothing moved aside');
  });

  test('a restore into the live server killed while it copies keys leaves them whole; the next one clears what it left', async () => {
    const before = await liveContent();
    assert.equal(before.marker, 'live since');
    const used = await keyspace();
    assert.deepEqual(Object.keys(used), ['0', '1', '2']);
    const { child, mark, during } = startRestore('source');
    // Keys arriving in a database that had none, or a live database changing: the restore writes.
    await during('the restore writes into the live server', async () => {
      const now = await keyspace();
      return Object.entries(now).some(([db, keys]) => (db in used ? used[Number(db)] !== keys : keys > 2000));
    });
    await freezeAndKill(child);
    assert.deepEqual(processesWithEnv('LIFEBOAT_TEST_MARK', mark), [], 'no process of the restore runs on');

    assert.deepEqual(await liveContent(), before, 'the live keys are whole and unchanged');
    assert.ok(Number(await live.cli(['TTL', 'session'], 1)) > 3000);
    const staged = await stagedDatabases();
    assert.equal(staged.length, 3, 'a partial copy is left in spare databases, marked');

    const run = await restore('source');
    assert.equal(run.code, 0, run.stderr);
    const { result } = run.json!;
    assert.equal(result.ok, true);
    for (const db of staged)
      assert.match(
        result.warnings.join('\n'),
        new RegExp(`removed what an interrupted restore left: database ${db} of Redis at`),
      );
    assert.deepEqual(await stagedDatabases(), []);
    // The backed-up keys are live again; what was live is kept in a spare database.
    assert.equal((await live.cli(['GET', 'marker'])).trim(), '');
    assert.equal((await live.cli(['DBSIZE'])).trim(), '150000');
    assert.equal((await live.cli(['DBSIZE'], 2)).trim(), '40');
    assert.ok(Number(await live.cli(['TTL', 'session'], 1)) > 3000);
    const kept =
      /database 0 of Redis at \S+ was replaced; the 150001 key\(s\) it held are kept in database (\d+)/.exec(
        result.replaced?.join('\n') ?? '',
      )?.[1];
    assert.ok(kept, result.replaced?.join('\n'));
    assert.equal((await live.cli(['GET', 'marker'], Number(kept))).trim(), 'live since');
  });

  test('a restore into the live server whose check fails leaves nothing staged on it and its keys unchanged', async () => {
    await live.cli(['SET', 'marker', 'changed again']);
    const before = await liveContent();
    const space = await keyspace();
    const run = await restore('source', { LIFEBOAT_TEST_FAIL_CHECK: '1' });
    assert.notEqual(run.code, 0, run.stdout);
    assert.deepEqual(await liveContent(), before);
    assert.deepEqual(await keyspace(), space, 'no database staged or emptied');
    assert.deepEqual(await stagedDatabases(), []);
  });
});
