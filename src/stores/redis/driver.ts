/** Redis: one RDB snapshot, restored into a server (keys copied in) or a directory (`dump.rdb`). */
import { join } from 'node:path';
import { describeDirectory } from '../directory.js';
import { urlLocation } from '../location.js';
import type { KindConfig, Store } from '../store.js';
import { startRedis } from './sandbox.js';
import { redisSource } from './source.js';
import { rdbToProve } from './rdb-staging.js';
import {
  REDIS_HINT,
  clearRedisLeftovers,
  observeRedisTarget,
  resolveRedisTarget,
  restoreRedis,
  type RedisTarget,
} from './target.js';

export const redisStore: Store<KindConfig<'redis'>, RedisTarget> = {
  kind: 'redis',
  protectable: true,
  label: 'Redis',
  source: (config) => redisSource(config),
  location: (config) => urlLocation(config.url, '6379'),

  databases: false,
  databaseOf: () => undefined,
  targetHint: REDIS_HINT,
  resolveTarget: resolveRedisTarget,
  describeTarget: (spec) =>
    spec.kind === 'directory'
      ? describeDirectory(spec)
      : `${spec.source ? 'the live source, ' : ''}Redis ${spec.host}:${spec.port}`,
  unitDestination: (spec) =>
    spec.kind === 'directory'
      ? join(spec.path, 'dump.rdb')
      : `every key, switched into ${spec.host}:${spec.port} through spare databases`,
  observeTarget: observeRedisTarget,
  restore: (source, _config, spec, io) => restoreRedis(source, spec, io),
  clearLeftovers: clearRedisLeftovers,

  proof: 'fingerprint',
  // An RDB proves itself by loading: it is measured and checked on a throwaway server started
  // on it (the staged copy, while it waits to be put in place). A server target's staged copy
  // is a throwaway server already.
  async proveOn(spec) {
    if (spec.kind !== 'directory') return undefined;
    const sandbox = await startRedis({ rdbFile: rdbToProve(spec) });
    return { url: sandbox.url, describe: 'a throwaway redis-server', stop: () => sandbox.stop() };
  },

  tools: [
    { tool: 'redis-cli', args: ['--version'], purpose: 'Redis backups' },
    { tool: 'redis-server', args: ['--version'], purpose: 'verifying Redis backups (throwaway server)' },
  ],
};
