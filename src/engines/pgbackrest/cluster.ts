/**
 * What pgBackRest needs to know of a running PostgreSQL cluster, read from the server itself:
 * its data directory, socket, port, version and archiving settings.
 */
import { isAbsolute } from 'node:path';
import { UsageError } from '../../errors.js';
import { psqlRows, type PgConnection } from '../../stores/postgres/psql.js';

/** What Lifeboat read from the running cluster. */
export interface ObservedCluster {
  dataDir: string;
  socketDir: string | undefined;
  port: number;
  versionNum: number;
  settings: {
    archive_mode: string;
    archive_command: string;
    wal_level: string;
    archive_timeout: string;
  };
  inRecovery: boolean;
}

/** Reads what pgBackRest needs from the running server (superuser, or pg_read_all_settings). */
export async function observeCluster(source: PgConnection, dataDirOption?: string): Promise<ObservedCluster> {
  const names = [
    'data_directory',
    'unix_socket_directories',
    'port',
    'server_version_num',
    'archive_mode',
    'archive_command',
    'wal_level',
    'archive_timeout',
  ];
  const rows = await psqlRows(
    source,
    `SELECT name, setting FROM pg_settings WHERE name IN (${names.map((n) => `'${n}'`).join(', ')})
     UNION ALL SELECT 'in_recovery', pg_is_in_recovery()::text`,
  );
  const setting = new Map(rows.map(([name, value]) => [name ?? '', value ?? '']));
  const dataDir = dataDirOption ?? setting.get('data_directory');
  if (!dataDir) {
    throw new UsageError(
      `the server at ${source.host}:${source.port} does not show its data directory to this user`,
      {
        hint: 'set source.data_dir in the plan, or connect as a superuser (or a member of pg_read_all_settings)',
      },
    );
  }
  const socketDir = (setting.get('unix_socket_directories') ?? '')
    .split(',')
    .map((d) => d.trim())
    .find((d) => isAbsolute(d));
  return {
    dataDir,
    socketDir,
    port: Number(setting.get('port') ?? source.port),
    versionNum: Number(setting.get('server_version_num') ?? 0),
    settings: {
      archive_mode: setting.get('archive_mode') ?? '',
      archive_command: setting.get('archive_command') ?? '',
      wal_level: setting.get('wal_level') ?? '',
      archive_timeout: setting.get('archive_timeout') ?? '0',
    },
    inRecovery: setting.get('in_recovery') === 'true',
  };
}
