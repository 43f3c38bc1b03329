/** Throwaway servers for verification, drills and tests: one file per kind. */
export { freePort, portIsClosed } from './free-port.js';
export { stopAll, withCleanup, type Instance } from './instance.js';
export { startMariadb, type MariadbInstance, type StartMariadbOptions } from './mariadb.js';
export {
  findPostgresBinDir,
  startPostgres,
  type PostgresInstance,
  type StartPostgresOptions,
} from './postgres.js';
export { startRedis, type RedisInstance, type StartRedisOptions } from './redis.js';
