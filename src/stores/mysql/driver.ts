/** MySQL and MariaDB: one mariadb-dump per database, restored into a server. */
import { describeServerTarget, serverUnitDestination } from '../database-server.js';
import { urlLocation } from '../location.js';
import type { KindConfig, Store } from '../store.js';
import type { MysqlTarget } from '../target.js';
import { mysqlRows, parseMysqlUrl } from './client.js';
import { clearMysqlLeftovers, restoreMysql } from './restore.js';
import { startMariadb } from './sandbox.js';
import { mysqlSource } from './source.js';
import { MYSQL_HINT, mysqlDatabaseUrl, observeMysql, resolveMysqlTarget } from './target.js';

export const mysqlStore: Store<KindConfig<'mysql'>, MysqlTarget> = {
  kind: 'mysql',
  protectable: true,
  label: 'MySQL',
  source: (config) => mysqlSource(config),
  location: (config) => urlLocation(config.url, '3306'),

  databases: true,
  databaseOf(filename) {
    const m = /^mysql\/(.+)\.sql$/.exec(filename);
    return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
  },
  targetHint: MYSQL_HINT,
  resolveTarget: resolveMysqlTarget,
  describeTarget: (spec) => describeServerTarget('MySQL', spec),
  unitDestination: serverUnitDestination,
  observeTarget: observeMysql,
  restore: (_source, _config, spec, io) => restoreMysql(spec, io),
  clearLeftovers: clearMysqlLeftovers,

  proof: 'fingerprint',
  sql: {
    async query(url, database, sql) {
      const rows = await mysqlRows(parseMysqlUrl(url), sql, database);
      const value = rows[0]?.[0];
      return value === undefined || value === 'NULL' ? null : value;
    },
    databaseUrl: mysqlDatabaseUrl,
  },
  async throwaway() {
    const db = await startMariadb({ fast: true });
    return { to: db.url, describe: `MariaDB on port ${db.port}`, stop: () => db.stop() };
  },

  tools: [
    { tool: 'mariadb-dump', args: ['--version'], purpose: 'MySQL/MariaDB backups' },
    { tool: 'mariadb', args: ['--version'], purpose: 'MySQL/MariaDB checks and restores' },
    { tool: 'mariadbd', args: ['--version'], purpose: 'verifying MySQL backups (throwaway server)' },
  ],
};
