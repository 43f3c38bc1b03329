/** PostgreSQL: logical dumps (pg_dump per database, pg_dumpall for roles) restored into a server. */
import { describeServerTarget, serverUnitDestination } from '../database-server.js';
import { urlLocation } from '../location.js';
import type { KindConfig, Store } from '../store.js';
import type { PostgresTarget } from '../target.js';
import { parsePgUrl, psqlRows } from './psql.js';
import { clearPostgresLeftovers, restorePostgres } from './restore.js';
import { startPostgres } from './sandbox.js';
import { postgresSource } from './source.js';
import { POSTGRES_HINT, observePostgres, pgDatabaseUrl, resolvePostgresTarget } from './target.js';

/** The major version in `pg_dump (PostgreSQL) 15.20 (Debian ...)`. */
export function postgresMajor(versionLine: string): number | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(versionLine);
  return m ? Number(m[1]) : undefined;
}

export const postgresStore: Store<KindConfig<'postgres'>, PostgresTarget> = {
  kind: 'postgres',
  protectable: true,
  label: 'PostgreSQL',
  source: (config) => postgresSource(config),
  location: (config) => urlLocation(config.url, '5432'),

  databases: true,
  databaseOf(filename) {
    const m = /^postgres\/(.+)\.dump$/.exec(filename);
    return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
  },
  targetHint: POSTGRES_HINT,
  resolveTarget: resolvePostgresTarget,
  describeTarget: (spec) => describeServerTarget('PostgreSQL', spec),
  unitDestination: serverUnitDestination,
  observeTarget: observePostgres,
  restore: (source, _config, spec, io) => restorePostgres(source, spec, io),
  clearLeftovers: clearPostgresLeftovers,

  proof: 'fingerprint',
  sql: {
    async query(url, database, sql) {
      const rows = await psqlRows(parsePgUrl(url).withDatabase(database), sql);
      return rows[0]?.[0] ?? null;
    },
    databaseUrl: pgDatabaseUrl,
  },
  maintenanceDatabase: 'postgres',
  async throwaway() {
    const pg = await startPostgres({ fast: true });
    // The server url without a database: every backed-up database keeps its name.
    return {
      to: pg.urlFor(''),
      describe: `PostgreSQL on port ${pg.port}`,
      stop: () => pg.stop(),
    };
  },

  tools: [
    { tool: 'pg_dump', args: ['--version'], purpose: 'PostgreSQL backups' },
    { tool: 'pg_dumpall', args: ['--version'], purpose: 'PostgreSQL roles' },
    { tool: 'pg_restore', args: ['--version'], purpose: 'PostgreSQL restores' },
    { tool: 'psql', args: ['--version'], purpose: 'PostgreSQL checks and restores' },
  ],
  versionedClient: {
    tool: 'pg_dump',
    major: postgresMajor,
    async server(config) {
      const conn = parsePgUrl(config.url);
      const [row] = await psqlRows(conn.withDatabase(conn.database ?? 'postgres'), 'SHOW server_version');
      const version = row?.[0] ?? '?';
      return { version, major: Number.parseInt(version, 10), where: `${conn.host}:${conn.port}` };
    },
    package: (major) => `postgresql-client-${major}`,
  },
};
