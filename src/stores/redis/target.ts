/**
 * Redis restore targets: a server (the RDB is loaded into a throwaway server, proven there,
 * then switched in through spare databases: `server-restore.ts`) or a directory that gets
 * `dump.rdb`, staged beside it and renamed into place (`rdb-staging.ts`). Neither ever holds
 * a partial restore under its final place.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDirectory, observeDirectory } from '../directory.js';
import { REPLACED_MARK } from '../store.js';
import type { RestoreIO, Source, StreamedHash } from '../store.js';
import {
  emptyObservation,
  type DirectoryTarget,
  type RedisServerTarget,
  type TargetInput,
  type TargetObservation,
} from '../target.js';
import { parseRedisUrl } from './client.js';
import { clearRdbLeftovers, isRdbLeftover, stageRdb } from './rdb-staging.js';
import { restoreIntoServer } from './server-restore.js';
import { clearStaged, liveKeys, surveyKeyspace } from './spare-databases.js';

export type RedisTarget = RedisServerTarget | DirectoryTarget;

export const REDIS_HINT =
  '--to redis://HOST:PORT (a server), --to DIR (writes DIR/dump.rdb), or --to source --force';

export function resolveRedisTarget(input: TargetInput<{ url: string }>): RedisTarget {
  if (input.isSource || /^rediss?:\/\//i.test(input.value)) {
    const url = input.isSource ? input.config.url : input.value;
    const conn = parseRedisUrl(url);
    return { kind: 'redis-server', url, host: conn.host, port: conn.port, source: input.isSource };
  }
  return input.directory();
}

export async function observeRedisTarget(spec: RedisTarget): Promise<TargetObservation> {
  if (spec.kind === 'directory') {
    const seen = observeDirectory(spec, {
      overSource: 'run the restore command against the live system',
      into: (path, entries) =>
        entries.includes('dump.rdb')
          ? `write the backup's dump.rdb beside ${join(path, 'dump.rdb')} under a name of its own, prove it, then rename it into place; the existing one is kept as dump.rdb${REPLACED_MARK}<id> (not deleted)`
          : `write dump.rdb into ${path} (staged under a name of its own until it is proven)`,
    });
    // What killed restores left is removed before the restore writes: it is no data to replace.
    return seen.occupied.length > 0 && onlyLeftovers(spec) ? emptyObservation() : seen;
  }
  const keys = liveKeys(await surveyKeyspace(spec.url));
  return keys === 0
    ? emptyObservation()
    : {
        occupied: [`Redis at ${spec.host}:${spec.port} holds ${keys} key(s)`],
        actions: [
          `copy the backup's keys into spare databases of ${spec.host}:${spec.port} beside the live ones, then switch every database at once (SWAPDB); the keys it holds now are kept in those spare databases (not deleted), and databases the backup lacks are left empty`,
        ],
        existingDatabases: [],
      };
}

function onlyLeftovers(spec: DirectoryTarget): boolean {
  return readdirSync(spec.path).every(isRdbLeftover);
}

export async function restoreRedis(
  source: Source,
  spec: RedisTarget,
  io: RestoreIO,
): Promise<StreamedHash | undefined> {
  if (spec.kind === 'redis-server') return restoreIntoServer(source, spec, io);
  const unit = io.units[0]!;
  ensureDirectory(spec);
  const staging = stageRdb(spec, io.id, io.force);
  io.stage(staging);
  await io.unit(unit, async () => {
    const bytes = await io.stream(unit, (s) => source.restoreUnit(unit.filename, s, staging.target));
    return { bytes };
  });
  return undefined;
}

/** What killed restores staged: spare databases on a server, staged RDBs in a directory. */
export async function clearRedisLeftovers(spec: RedisTarget): Promise<string[]> {
  if (spec.kind === 'directory') return clearRdbLeftovers(spec);
  return (await clearStaged(spec.url, undefined)).map(
    (c) =>
      `database ${c.db} of Redis at ${spec.host}:${spec.port}, ${c.keys} key(s) of a partial copy an interrupted restore (${c.by}) left`,
  );
}
