/**
 * Redis: an RDB snapshot taken over the replication protocol (`redis-cli --rdb -`), never a
 * copy of a live file, which may be half written. The server forks and streams a
 * point-in-time RDB; that needs the SYNC command (some managed services disable it).
 *
 * Restore: an RDB is loaded by a server at start-up, so a restore writes `dump.rdb` into a
 * directory. For a live server that means: stop it, put the file in its `dir` as its
 * `dbfilename`, start it with appendonly off (or rewrite the AOF afterwards). Lifeboat
 * proves a backup by starting a throwaway redis-server on the restored file.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RefusedError, UsageError } from '../../errors.js';
import { startRedis } from './sandbox.js';
import { newFingerprint, type Fingerprint } from '../fingerprint.js';
import { parseRedisUrl, redisCli, type RedisConnection } from './client.js';
import type { BackupUnit, RestoreTarget, Source, KindConfig } from '../store.js';
import { consuming, runTool } from '../../system/tool.js';

/** What the dump needs of the plan's source (its secrets already resolved by the caller). */
export type RedisSourceConfig = Pick<KindConfig<'redis'>, 'type' | 'url'>;

const rdbFile = 'redis/dump.rdb';

export function redisSource(config: RedisSourceConfig): Source {
  const server = parseRedisUrl(config.url);
  return {
    type: 'redis',

    async check() {
      await runTool('redis-cli', ['--version']);
      await redisCli(server, ['PING']);
    },

    async units(): Promise<BackupUnit[]> {
      return [
        {
          kind: 'stream',
          filename: rdbFile,
          description: 'RDB snapshot of every database',
          producer: { command: 'redis-cli', args: [...server.args, '--rdb', '-'], env: server.env },
        },
      ];
    },

    fingerprint: () => measure(server),

    restoreUnit(filename: string, input: Readable, target: RestoreTarget) {
      return consuming(input, async () => {
        if (filename !== rdbFile) throw new UsageError(`${filename} is not a Redis backup of this source`);
        if (target.kind !== 'directory') {
          throw new UsageError(
            'a Redis restore writes dump.rdb into a directory, not into a running server',
            {
              hint: "Restore into the stopped server's dir (its `dir` setting), then start it with appendonly off.",
            },
          );
        }
        const file = join(target.path, 'dump.rdb');
        if (existsSync(file)) {
          throw new RefusedError(`${file} already exists; a restore never overwrites a dump file`, {
            hint: 'Move it away first, or restore into another directory.',
          });
        }
        await pipeline(input, createWriteStream(file, { flags: 'wx' }));
      });
    },

    /** A server target is measured as it is; a directory is loaded into a throwaway redis-server first. */
    async fingerprintOf(target: RestoreTarget) {
      if (target.kind === 'server') return measure(parseRedisUrl(target.url));
      const sandbox = await startRedis({ rdbFile: join(target.path, 'dump.rdb') });
      try {
        return await measure(parseRedisUrl(sandbox.url));
      } finally {
        await sandbox.stop();
      }
    },
  };
}

/**
 * Per database: the number of keys without a TTL and a content digest over them (key, type
 * and value, with set and hash members sorted), computed server-side by a Lua script 500
 * keys at a time, so the server stays responsive between batches and only hashes cross the
 * network. Keys with a TTL are counted apart, as information: they may expire between two
 * measurements. Cost: one pass over every value; memory here grows with the key count (a
 * set of 64-bit hashes, because SCAN may return a key twice).
 */
async function measure(conn: RedisConnection): Promise<Fingerprint> {
  const fingerprint = newFingerprint('redis');
  const keyspace = await redisCli(conn, ['INFO', 'keyspace']);
  const dbs = [...keyspace.matchAll(/^db(\d+):keys=(\d+)/gm)].map((m) => Number(m[1]));
  for (const db of dbs) {
    const persistent = new Set<string>();
    const volatile = new Set<string>();
    let cursor = '0';
    do {
      const lines = (await redisCli(conn, ['EVAL', digestScript, '0', cursor, '500'], db))
        .split('\n')
        .filter((l) => l !== '');
      cursor = lines[0] ?? '0';
      for (const entry of lines.slice(1)) (entry.startsWith('v') ? volatile : persistent).add(entry.slice(1));
    } while (cursor !== '0');
    let sum = 0n;
    for (const hash of persistent) sum += BigInt(`0x${hash}`);
    fingerprint.items[`db${db}`] = { keys: persistent.size, digest: (sum % 2n ** 128n).toString(16) };
    if (volatile.size > 0) (fingerprint.info ??= {})[`db${db}`] = { keysWithTtl: volatile.size };
  }
  return fingerprint;
}

/** One SCAN step: returns the next cursor, then `p<hash>` per key without TTL and `v<hash>` per key with one. */
const digestScript = `
local function enc(parts)
  local s = {}
  for i, p in ipairs(parts) do s[i] = #p .. ':' .. p end
  return table.concat(s)
end
local r = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local out = { r[1] }
for _, key in ipairs(r[2]) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' then
    if redis.call('PTTL', key) >= 0 then
      out[#out + 1] = 'v' .. string.sub(redis.sha1hex(key), 1, 16)
    else
      local parts = { key, t }
      if t == 'string' then
        parts[3] = redis.call('GET', key)
      elseif t == 'list' then
        for _, v in ipairs(redis.call('LRANGE', key, 0, -1)) do parts[#parts + 1] = v end
      elseif t == 'set' then
        local m = redis.call('SMEMBERS', key)
        table.sort(m)
        for _, v in ipairs(m) do parts[#parts + 1] = v end
      elseif t == 'zset' then
        for _, v in ipairs(redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')) do parts[#parts + 1] = v end
      elseif t == 'hash' then
        local h = redis.call('HGETALL', key)
        local pairs_ = {}
        for i = 1, #h, 2 do pairs_[#pairs_ + 1] = enc({ h[i], h[i + 1] }) end
        table.sort(pairs_)
        for _, v in ipairs(pairs_) do parts[#parts + 1] = v end
      elseif t == 'stream' then
        for _, e in ipairs(redis.call('XRANGE', key, '-', '+')) do
          parts[#parts + 1] = e[1]
          parts[#parts + 1] = enc(e[2])
        end
      end
      out[#out + 1] = 'p' .. string.sub(redis.sha1hex(enc(parts)), 1, 16)
    end
  end
end
return out
`;
