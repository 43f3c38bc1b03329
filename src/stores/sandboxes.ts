/** Throwaway servers for verification, drills and tests: one file per kind. */
export { freePort, portIsClosed } from '../system/free-port.js';
export { stopAll, withCleanup, type Instance } from '../system/instance.js';
export { startMariadb, type MariadbInstance, type StartMariadbOptions } from './mysql/sandbox.js';
export {
  findPostgresBinDir,
  startPostgres,
  type PostgresInstance,
  type StartPostgresOptions,
} from './postgres/sandbox.js';
export { startRedis, type RedisInstance, type StartRedisOptions } from './redis/sandbox.js';
