/**
 * A physical dataset ready for pgBackRest: its cluster observed (data directory, socket,
 * port, archiving settings), its configuration planned and written into Lifeboat's
 * directory, and the OS user pgBackRest must run as. Every pgBackRest operation starts here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { EnvironmentError, UsageError } from '../../errors.js';
import { parseCadence } from '../../plan/duration.js';
import { effectiveRpo } from '../../plan/graph.js';
import { resolveSecret } from '../../plan/secret.js';
import type { ProtectContext } from '../context.js';
import { effectiveRetention } from '../retention.js';
import { osUser, runningAsRoot, type OsUser } from '../../system/instance.js';
import { parsePgUrl, psqlRows, type PgConnection } from '../../stores/postgres/psql.js';
import { planPgbackrestConfig, renderPgbackrestConfig, type PgbackrestConfig } from './config.js';
import { checkReachable, ensureOwnedDir, userOwning, writeOwnedFile } from './files.js';
import { planPgbackrestRepository, type PgbackrestRepository } from './repository.js';
import { detectCompressType, findPgbackrest, type PgbackrestTarget } from './runner.js';

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

export interface PhysicalDataset {
  id: string;
  context: ProtectContext;
  /** The plan's repository id (`local` for the default one under `.lifeboat/`). */
  repositoryId: string;
  repository: PgbackrestRepository;
  config: PgbackrestConfig;
  target: PgbackrestTarget;
  /** The primary, from the plan's source url (secrets resolved). */
  source: PgConnection;
  /** Undefined when the server could not be reached (a restore after losing it). */
  cluster: ObservedCluster | undefined;
  /** `source.data_dir` from the plan, if given. */
  configuredDataDir: string | undefined;
  rpoSeconds: number | undefined;
  everySeconds: number;
  fullEverySeconds: number;
  /** Resolved secret values, to mask in any message. */
  secrets: string[];
}

export interface OpenPhysicalOptions {
  /**
   * Backup, archiving and exposure need the server; a restore must work without it, from
   * the plan and the repository alone. Default: true.
   */
  requireServer?: boolean;
}

const DEFAULT_FULL_EVERY = 'weekly';

export async function openPhysicalDataset(
  context: ProtectContext,
  id: string,
  options: OpenPhysicalOptions = {},
): Promise<PhysicalDataset> {
  const dataset = context.dataset(id);
  const backup = dataset.backup;
  const sourceConfig = context.resolvedSource(id);
  if (sourceConfig.type !== 'postgres' || backup?.method !== 'physical') {
    throw new UsageError(`dataset '${id}' is not a physical PostgreSQL dataset`, {
      hint: 'pgBackRest protects datasets with `source: { type: postgres }` and `backup: { method: physical }`',
    });
  }
  const source = parsePgUrl(sourceConfig.url);
  let cluster: ObservedCluster | undefined;
  try {
    cluster = await observeCluster(source, sourceConfig.data_dir);
  } catch (error) {
    if (options.requireServer !== false) throw error;
  }
  const dataDir = cluster?.dataDir ?? sourceConfig.data_dir;
  if (cluster && !existsSync(cluster.dataDir)) {
    throw new EnvironmentError(
      `the data directory ${cluster.dataDir} of dataset '${id}' is not on this host`,
      {
        hint: 'pgBackRest reads the data directory directly: run Lifeboat on the database host (or set source.data_dir if the server reports another path)',
      },
    );
  }
  const bin = findPgbackrest(context.env);
  const repositoryId = backup.repository ?? 'local';
  const repository = planPgbackrestRepository(
    context.plan,
    backup.repository,
    context.planDir,
    context.homeDir,
  );
  const everySeconds = parseCadence(backup.every) || 3600;
  const config = planPgbackrestConfig({
    stanza: id,
    homeDir: context.homeDir,
    cluster: {
      // Without the server and without data_dir, restore passes --pg1-path itself; the
      // placeholder only keeps the file valid.
      dataDir: dataDir ?? '/nonexistent-data-dir-set-source.data_dir',
      port: cluster?.port ?? source.port,
      ...(cluster?.socketDir ? { socketDir: cluster.socketDir } : {}),
    },
    repository,
    retention: effectiveRetention(dataset.retention),
    backupEverySeconds: everySeconds,
    compressType: await detectCompressType(bin),
  });
  const user = runAs(dataDir, config.dir);
  const secrets: string[] = [];
  const reveal = (ref: string): string => {
    const value = resolveSecret(ref, context.planDir, context.env);
    secrets.push(value);
    return value;
  };
  const text = renderPgbackrestConfig(config, reveal);
  // A restore without the server keeps a config written while it ran: the guessed
  // pg1-path must not replace the real one that archive_command depends on.
  if (cluster || !existsSync(config.path)) writeConfig(config, text, user);
  await checkReachable(user, [
    { path: config.path, access: 'read' },
    { path: config.logPath, access: 'write' },
    ...(config.localRepoPath ? [{ path: config.localRepoPath, access: 'write' as const }] : []),
  ]);
  return {
    id,
    context,
    repositoryId,
    repository,
    config,
    target: { bin, configPath: config.path, stanza: id, user, cwd: config.dir },
    source,
    cluster,
    configuredDataDir: sourceConfig.data_dir,
    rpoSeconds: effectiveRpo(context.plan, id),
    everySeconds,
    fullEverySeconds: parseCadence(backup.full_every ?? DEFAULT_FULL_EVERY) || 7 * 86_400,
    secrets,
  };
}

function writeConfig(config: PgbackrestConfig, text: string, user: OsUser | undefined): void {
  for (const dir of [config.dir, config.lockPath, config.logPath, config.spoolPath])
    ensureOwnedDir(dir, user);
  if (config.localRepoPath) ensureOwnedDir(config.localRepoPath, user);
  const current = existsSync(config.path) ? readFileSync(config.path, 'utf8') : undefined;
  if (current !== text) writeOwnedFile(config.path, text, user);
}

/**
 * The OS user pgBackRest runs as: the owner of the data directory (the server's user, who
 * also runs archive_command). Only root can switch users; anyone else runs it as themselves.
 */
function runAs(dataDir: string | undefined, configDir: string): OsUser | undefined {
  if (!runningAsRoot()) return undefined;
  for (const path of [dataDir, configDir]) {
    if (path && existsSync(path)) {
      const owner = userOwning(path);
      if (owner.uid !== 0) return owner;
    }
  }
  return osUser('postgres');
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
