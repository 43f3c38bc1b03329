/**
 * Restoring into a running Redis server without ever leaving it flushed or half filled.
 * Redis reads an RDB only at start-up, so the RDB is loaded into a throwaway server first:
 * that server is the staged copy, measured and checked by the proof while the live server is
 * not touched. Committing copies its keys into spare databases of the live server
 * (`spare-databases.ts`) and switches them in with one atomic script of SWAPDBs; the keys the
 * live server held stay in the spares, kept until the user flushes them.
 *
 * What remains: a restore killed while it copies leaves the spares it marked (the live keys
 * are whole; the next restore empties them). The copy needs room for both keyspaces at once:
 * with `maxmemory` set, a copy that does not fit is refused before it starts, since an
 * eviction policy would otherwise evict live keys to make room. Clients see the switch at
 * once, in every database together; a key with a TTL keeps counting down from the copy, as
 * it did in the throwaway from the load. Redis Cluster has one database per node, so it
 * has no spare to stage in: such a restore is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RefusedError } from '../../errors.js';
import type { RestoreIO, RestoreTarget, Source } from '../store.js';
import type { RedisServerTarget } from '../target.js';
import { parseRedisUrl, redisCli } from './client.js';
import { copyRedisKeys } from './keys.js';
import { startRedis, type RedisInstance } from './sandbox.js';
import {
  clearStaged,
  liveKeys,
  stageSpares,
  surveyKeyspace,
  swapIn,
  type Keyspace,
  type SparePair,
} from './spare-databases.js';

export async function restoreIntoServer(
  source: Source,
  spec: RedisServerTarget,
  io: RestoreIO,
): Promise<undefined> {
  const unit = io.units[0]!;
  let loaded: RedisInstance | undefined;
  // Set once the live server has a spare marked for this restore: only then has discard work there.
  let touched = false;
  io.stage({
    // Read by the proof, which runs once the transfer below has loaded the copy.
    get target(): RestoreTarget {
      if (!loaded) throw new Error('the restored copy is not loaded yet');
      return { kind: 'server', url: loaded.url };
    },
    commit: async () => {
      touched = true;
      return commit(spec, loaded!.url, io);
    },
    discard: async () => {
      await loaded?.stop();
      if (touched) await clearStaged(spec.url, io.id);
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-redis-restore-'));
  io.defer(async () => rmSync(dir, { recursive: true, force: true }));
  io.defer(async () => loaded?.stop());
  await io.unit(unit, async () => {
    const bytes = await io.stream(unit, (s) =>
      source.restoreUnit(unit.filename, s, { kind: 'directory', path: dir }),
    );
    loaded = await startRedis({ rdbFile: join(dir, 'dump.rdb') });
    const copy = await surveyKeyspace(loaded.url);
    // Before the proof: a restore that could not be put in place fails without the wait.
    await checkRoom(spec, copy, loaded.url, io.force);
    return {
      bytes,
      note: `${liveKeys(copy)} key(s) loaded into a throwaway redis-server, to be switched in`,
    };
  });
  return undefined;
}

async function commit(spec: RedisServerTarget, copyUrl: string, io: RestoreIO): Promise<string[]> {
  const copy = await surveyKeyspace(copyUrl);
  const pairs = await stageSpares(
    spec.url,
    io.id,
    io.force,
    copy.used.map((d) => d.db),
  );
  const spareOf = new Map(pairs.map((p: SparePair) => [p.live, p.spare]));
  await copyRedisKeys(copyUrl, spec.url, (db) => spareOf.get(db)!);
  const replaced = await swapIn(spec.url, io.id, io.force, pairs);
  return replaced.map(
    (r) =>
      `database ${r.live} of Redis at ${spec.host}:${spec.port} was replaced; the ${r.keys} key(s) it held are kept in database ${r.spare} (remove them once the restored ones are trusted: redis-cli -h ${spec.host} -p ${spec.port} -n ${r.spare} FLUSHDB)`,
  );
}

/**
 * Refuses early what the commit would refuse: keys where there were none (without
 * `force`), too few spare databases, or too little memory for both keyspaces at once.
 */
async function checkRoom(
  spec: RedisServerTarget,
  copy: Keyspace,
  copyUrl: string,
  force: boolean,
): Promise<void> {
  const where = `Redis at ${spec.host}:${spec.port}`;
  const target = await surveyKeyspace(spec.url);
  const live = target.used.filter((d) => d.state === 'live');
  if (!force && live.length > 0) {
    throw new RefusedError(`${where} holds keys now; refusing to write into it`, {
      hint: 'confirm with --force to have them kept aside and replaced, or restore into an empty server',
    });
  }
  const replaced = new Set([...copy.used.map((d) => d.db), ...live.map((d) => d.db)]);
  const used = new Set(target.used.map((d) => d.db));
  // Spares: the empty databases, less the backup's (empty on the target, but replaced too).
  const free = target.databases - used.size - [...replaced].filter((db) => !used.has(db)).length;
  if (free < replaced.size) {
    throw new RefusedError(
      `${where} has ${free} spare database(s) of ${target.databases}; the restore needs ${replaced.size} to stage the backup's keys beside the live ones`,
      {
        hint: 'raise `databases` in its configuration (takes a restart), flush databases a previous restore kept aside, or restore into a directory (--to DIR) and start the server on that dump.rdb',
      },
    );
  }
  const memory = parseInfo(await redisCli(parseRedisUrl(spec.url), ['INFO', 'memory']));
  const needed =
    parseInfo(await redisCli(parseRedisUrl(copyUrl), ['INFO', 'memory'])).used_memory_dataset ?? 0;
  const max = memory.maxmemory ?? 0;
  if (max > 0 && (memory.used_memory ?? 0) + needed > max) {
    throw new RefusedError(
      `${where} has maxmemory ${max} bytes and uses ${memory.used_memory ?? 0}; staging the backup's ${needed} bytes beside the live keys would not fit`,
      {
        hint: 'raise maxmemory for the restore (CONFIG SET maxmemory), or restore into a directory (--to DIR) and start the server on that dump.rdb',
      },
    );
  }
}

function parseInfo(text: string): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w+):(\d+)\r?$/gm)) fields[m[1]!] = Number(m[2]);
  return fields;
}
