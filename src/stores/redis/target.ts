/**
 * Redis restore targets: a server (the RDB is loaded into a throwaway server and its keys
 * copied over, since Redis reads an RDB only at start-up) or a directory that gets `dump.rdb`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RefusedError } from '../../errors.js';
import { ensureDirectory, observeDirectory } from '../directory.js';
import { moveAside } from '../paths.js';
import type { RestoreIO, Source, StreamedHash } from '../store.js';
import {
  emptyObservation,
  type DirectoryTarget,
  type RedisServerTarget,
  type TargetInput,
  type TargetObservation,
} from '../target.js';
import { parseRedisUrl } from './client.js';
import { copyRedisKeys, flushRedis, redisKeyCount } from './keys.js';
import { startRedis } from './sandbox.js';

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
    return observeDirectory(spec, {
      overSource: 'run the restore command against the live system',
      into: (path, entries) =>
        entries.includes('dump.rdb')
          ? `move the existing ${join(path, 'dump.rdb')} aside (renamed, not deleted), then write the backup's`
          : `write dump.rdb into ${path}`,
    });
  }
  const keys = await redisKeyCount(spec.url);
  return keys === 0
    ? emptyObservation()
    : {
        occupied: [`Redis at ${spec.host}:${spec.port} holds ${keys} key(s)`],
        actions: [
          `FLUSHALL on ${spec.host}:${spec.port} (every key of every database is deleted), then load the backup`,
        ],
        existingDatabases: [],
      };
}

export async function restoreRedis(
  source: Source,
  spec: RedisTarget,
  io: RestoreIO,
): Promise<StreamedHash | undefined> {
  const unit = io.units[0]!;
  if (spec.kind === 'directory') {
    ensureDirectory(spec);
    await io.unit(unit, async () => {
      const aside = io.force ? moveAside(join(spec.path, 'dump.rdb')) : undefined;
      const bytes = await io.stream(unit, (s) =>
        source.restoreUnit(unit.filename, s, { kind: 'directory', path: spec.path }),
      );
      return { bytes, ...(aside ? { note: `the previous dump.rdb was moved to ${aside}` } : {}) };
    });
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-redis-restore-'));
  io.defer(async () => rmSync(dir, { recursive: true, force: true }));
  await io.unit(unit, async () => {
    const bytes = await io.stream(unit, (s) =>
      source.restoreUnit(unit.filename, s, { kind: 'directory', path: dir }),
    );
    const loaded = await startRedis({ rdbFile: join(dir, 'dump.rdb') });
    try {
      if ((await redisKeyCount(spec.url)) > 0) {
        if (!io.force)
          throw new RefusedError(
            `Redis at ${spec.host}:${spec.port} holds keys now; refusing to write into it`,
          );
        await flushRedis(spec.url);
      }
      const keys = await copyRedisKeys(loaded.url, spec.url);
      return { bytes, note: `${keys} key(s) copied` };
    } finally {
      await loaded.stop();
    }
  });
  return undefined;
}
