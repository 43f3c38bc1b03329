/**
 * A physical dataset as pgBackRest sees it: its cluster observed (data directory, socket,
 * port, archiving settings), its configuration planned, and the OS user pgBackRest must run
 * as. `openPhysicalDataset` only reads (status and every metrics scrape go through it);
 * `preparePhysicalDataset` also writes the configuration into Lifeboat's directory, for the
 * commands that act on the repository or the server.
 */
import { sep } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { EnvironmentError, UsageError } from '../../../errors.js';
import { parseCadence } from '../../../plan/duration.js';
import { effectiveRpo } from '../../../plan/graph.js';
import { resolveSecret } from '../../../plan/secret.js';
import type { ProtectContext } from '../../context.js';
import { defaultRepositoryOf } from '../kind.js';
import { effectiveRetention } from '../../retention.js';
import { osUser, runningAsRoot, type OsUser } from '../../../system/instance.js';
import { parsePgUrl, type PgConnection } from '../../../stores/postgres/psql.js';
import { observeCluster, type ObservedCluster } from '../../../engines/pgbackrest/cluster.js';
import {
  planPgbackrestConfig,
  renderPgbackrestConfig,
  type PgbackrestConfig,
} from '../../../engines/pgbackrest/config.js';
import {
  checkReachable,
  ensureOwnedDir,
  userOwning,
  writeOwnedFile,
} from '../../../engines/pgbackrest/files.js';
import {
  planPgbackrestRepository,
  type PgbackrestRepository,
} from '../../../engines/pgbackrest/repository.js';
import {
  detectCompressType,
  findPgbackrest,
  type PgbackrestTarget,
} from '../../../engines/pgbackrest/runner.js';
import { asPostgres } from '../../../stores/index.js';
import { allowPassage } from '../../../state/private-files.js';

export type { ObservedCluster } from '../../../engines/pgbackrest/cluster.js';

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
  /** The configuration file's text, secrets included: what `preparePhysicalDataset` writes. */
  configText: string;
}

export interface OpenPhysicalOptions {
  /**
   * Backup, archiving and exposure need the server; a restore must work without it, from
   * the plan and the repository alone. Default: true.
   */
  requireServer?: boolean;
}

const DEFAULT_FULL_EVERY = 'weekly';

/** The dataset with its configuration computed in memory. Writes nothing. */
export async function openPhysicalDataset(
  context: ProtectContext,
  id: string,
  options: OpenPhysicalOptions = {},
): Promise<PhysicalDataset> {
  const dataset = context.dataset(id);
  const backup = dataset.backup;
  const sourceConfig = asPostgres(context.resolvedSource(id));
  if (sourceConfig === undefined || backup?.method !== 'physical') {
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
  const repositoryId = context.repositoryOf(id);
  const repository = planPgbackrestRepository(
    context.plan,
    repositoryId,
    context.planDir,
    context.homeDir,
    defaultRepositoryOf('physical'),
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
  const configText = renderPgbackrestConfig(config, reveal);
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
    configText,
  };
}

/**
 * The dataset, its configuration written (when it changed) with the directories pgBackRest
 * writes into, and checked reachable by the user it runs as: for the commands that run
 * pgBackRest to change something (backup, expire, verify, restore, stanza-create, a restore
 * point). Read paths use `openPhysicalDataset` and the file an earlier command wrote.
 */
export async function preparePhysicalDataset(
  context: ProtectContext,
  id: string,
  options: OpenPhysicalOptions = {},
): Promise<PhysicalDataset> {
  const dataset = await openPhysicalDataset(context, id, options);
  const { config, target } = dataset;
  // A restore without the server keeps a config written while it ran: the guessed
  // pg1-path must not replace the real one that archive_command depends on.
  // pgBackRest runs as PostgreSQL's OS user, and so does archive_command between our commands:
  // that user must pass through Lifeboat's private home to the directory it owns inside.
  if (target.user && config.dir.startsWith(context.homeDir + sep)) allowPassage(context.homeDir);
  if (dataset.cluster || !existsSync(config.path)) writeConfig(config, dataset.configText, target.user);
  await checkReachable(target.user, [
    { path: config.path, access: 'read' },
    { path: config.logPath, access: 'write' },
    ...(config.localRepoPath ? [{ path: config.localRepoPath, access: 'write' as const }] : []),
  ]);
  return dataset;
}

/**
 * Where a read path runs pgBackRest: the configuration an earlier command wrote. Without
 * one, nothing was ever backed up here and there is nothing to read.
 */
export function readableTarget(dataset: PhysicalDataset): PgbackrestTarget {
  if (!existsSync(dataset.config.path)) {
    throw new EnvironmentError(`dataset '${dataset.id}' has no pgBackRest configuration yet`, {
      hint: 'a first `lifeboat backup` of the dataset writes it and creates the stanza',
    });
  }
  return dataset.target;
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
