/**
 * Restoring into a running Redis server without ever leaving it flushed or half filled.
 * Redis reads an RDB only at start-up, so the RDB is loaded into a throwaway server first:
 * that server is the staged copy, measured and checked by the proof while the live server is
 * not touched. Committing copies its keys into spare databases of the live server
 * (`spare-databases.ts`) and switches them in with one atomic script of SWAPDBs; the keys the
 * live server held stay in the spares, kept until the user flushes them.
 *
 * What remains. The live keys are never partial: they change only in the one script that
 * switches every database at once (SWAPDB needs Redis 4.0; a server that disables EVAL or
 * SWAPDB fails the commit, and is left as it was). But:
 * - writes clients make between the copy and the switch land in the databases moved aside,
 *   not in the restored ones (as with any restore over a server in use); a database that
 *   gets keys only during the restore fails the switch rather than keep them beside it;
 * - the copy into the spares is made after the proof, from the proven throwaway, and is not
 *   measured again;
 * - both keyspaces are held at once, and the replaced one stays until the user flushes it:
 *   with `maxmemory` set, a copy that does not fit is refused before it starts, since an
 *   eviction policy would otherwise evict live keys to make room;
 * - a restore killed while it copies leaves its marked spares (memory held until the next
 *   restore into the server empties them); that next restore empties every marked spare, so
 *   one running at the same moment into the same server (another dataset's) then fails at
 *   its switch, the live keys still whole;
 * - a key with a TTL counts down from the load into the throwaway, as it did before;
 * - Redis Cluster has one database per node, so no spare to stage in: refused.
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
import { clearStaged, liveKeys, stageSpares, surveyKeyspace, swapIn } from './spare-databases.js';

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
    // The throwaway loaded its own copy: this one would only double the disk used.
    rmSync(join(dir, 'dump.rdb'), { force: true });
    // Before the proof: a restore that could not be put in place fails without the wait.
    await checkRoom(spec, await backedUpDatabases(loaded.url), loaded.url, io.force);
    const keys = liveKeys(await surveyKeyspace(loaded.url));
    return {
      bytes,
      note: `${keys} key(s) loaded into a throwaway redis-server, to be switched in`,
    };
  });
  return undefined;
}

/**
 * The databases of the backup holding keys. A backup taken while a restore was staging (or
 * after a killed one) holds its partial copy too: that is no data, and is not restored.
 */
async function backedUpDatabases(copyUrl: string): Promise<number[]> {
  return (await surveyKeyspace(copyUrl)).used.filter((d) => d.state !== 'staged').map((d) => d.db);
}

async function commit(spec: RedisServerTarget, copyUrl: string, io: RestoreIO): Promise<string[]> {
  const backedUp = await backedUpDatabases(copyUrl);
  const pairs = await stageSpares(spec.url, io.id, io.force, backedUp);
  // Only the backup's databases are copied; the spares of the others stay empty, and
  // switching them in empties those databases, as FLUSHALL did.
  await copyRedisKeys(
    copyUrl,
    spec.url,
    new Map(pairs.filter((p) => backedUp.includes(p.live)).map((p) => [p.live, p.spare])),
  );
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
  backedUp: number[],
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
  const replaced = new Set([...backedUp, ...live.map((d) => d.db)]);
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
