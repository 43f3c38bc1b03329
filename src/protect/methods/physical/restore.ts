/**
 * Point-in-time recovery of a physical dataset into a NEW cluster: pgBackRest restores the
 * backup set and writes the recovery settings (target, `--target-action=promote`,
 * `archive_mode=off`), then the cluster is started on its own port and this waits until
 * recovery has really ended. The production cluster and its repository are only read.
 */
import { appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { coerceError, EnvironmentError, RefusedError, UsageError } from '../../../errors.js';
import { actor } from '../../audit.js';
import { describeError } from '../../../errors.js';
import type { ProtectContext } from '../../context.js';
import { freePort } from '../../../system/free-port.js';
import { makeTempDir, removeDir, type OsUser } from '../../../system/instance.js';
import { findPostgresBinDir } from '../../../stores/postgres/sandbox.js';
import {
  openPhysicalDataset,
  preparePhysicalDataset,
  readableTarget,
  type PhysicalDataset,
} from './dataset.js';
import { checkReachable, ensureOwnedDir, writeOwnedFile } from '../../../engines/pgbackrest/files.js';
import {
  postmasterAlive,
  socketDirFor,
  startRestoredCluster,
  type RestoredCluster,
} from '../../../engines/pgbackrest/restored-cluster.js';
import {
  planPhysicalRestore,
  type PhysicalRestorePlan,
  type TargetDirState,
} from '../../../engines/pgbackrest/restore-plan.js';
import { findRestorePointLsn } from './restore-point.js';
import { pgbackrestInfo, runPgbackrest, type PgbackrestTarget } from '../../../engines/pgbackrest/runner.js';
import type { StanzaInfo } from '../../../engines/pgbackrest/info.js';
import { parseRecoveryTarget, type RecoveryTarget } from '../../../engines/pgbackrest/target.js';
import { findRecoveryPoint } from '../../recovery-points.js';

export interface RestorePhysicalOptions {
  dataset: string;
  /** ISO 8601 time (UTC without a zone). */
  at?: string;
  lsn?: string;
  restorePoint?: string;
  /**
   * A backup by its id (`lifeboat snapshots`) or a unique prefix of it: that backup alone,
   * recovered to its own end. Default: none (the newest backup, WAL replayed to the target).
   */
  snapshot?: string;
  /** Default: `<homeDir>/restores/<dataset>-<UTC stamp>/data`. */
  toDataDir?: string;
  /** Default: a free port. */
  toPort?: number;
  /** Restore over a non-empty directory with `--delta`. Default: false (refused). */
  force?: boolean;
  /**
   * Asked before a `--delta` restore writes over a non-empty directory; throws a
   * RefusedError to refuse (audited as refused). Default: none (`force` is the consent).
   */
  confirm?: (plan: PhysicalRestorePlan) => Promise<void>;
  /** How long recovery may take before Lifeboat stops waiting. Default: 3600 s. */
  timeoutSeconds?: number;
  actor?: string;
}

export interface RestorePhysicalResult {
  dataset: string;
  dataDir: string;
  port: number;
  /** How to reach the copy: the source's user and database, on 127.0.0.1 and the new port. */
  url: string;
  socketDir: string;
  /** The target in words. */
  target: string;
  /** The backup set restored. */
  set: string;
  delta: boolean;
  /** From the start of pgbackrest restore until the copy is promoted and writable. */
  seconds: number;
  /** Of which: WAL replay (start of the server until pg_is_in_recovery() is false). */
  recoverySeconds: number;
  logFile: string;
}

/**
 * Reads the repository and the target directory, and decides. It writes pgBackRest's
 * configuration for the restore that follows (`preparePhysicalDataset`); `previewRestorePhysical`
 * is the same decision with nothing written.
 */
export async function planRestorePhysical(
  context: ProtectContext,
  options: RestorePhysicalOptions,
): Promise<{ plan: PhysicalRestorePlan; dataset: PhysicalDataset; pgVersion: string | undefined }> {
  parseRecoveryTarget(options);
  const dataset = await preparePhysicalDataset(context, options.dataset, { requireServer: false });
  return decide(context, options, dataset, await pgbackrestInfo(dataset.target));
}

/** What `--dry-run` shows: the plan, and the pgbackrest command line a restore would run. */
export interface PhysicalRestorePreview {
  plan: PhysicalRestorePlan;
  /** The backup's PostgreSQL major version, whose binaries would start the copy. */
  pgVersion: string | undefined;
  /** `pgbackrest --config=... --stanza=... restore ...`, as the restore would run it. */
  command: string[];
  /** No --port given: the port is the one free now, chosen again at restore time. */
  portChosen: boolean;
}

/**
 * The restore's plan, deciding exactly as `restorePhysical` would, without writing anything:
 * pgBackRest reads its configuration from the file an earlier command wrote, or, on a host
 * that never ran one (the primary lost with it), from a temporary copy removed afterwards.
 */
export async function previewRestorePhysical(
  context: ProtectContext,
  options: RestorePhysicalOptions,
): Promise<PhysicalRestorePreview> {
  parseRecoveryTarget(options);
  const dataset = await openPhysicalDataset(context, options.dataset, { requireServer: false });
  const info = await withReadableConfig(dataset, (target) => pgbackrestInfo(target));
  const { plan, pgVersion } = await decide(context, options, dataset, info);
  return {
    plan,
    pgVersion,
    command: [
      dataset.target.bin,
      `--config=${dataset.target.configPath}`,
      `--stanza=${dataset.target.stanza}`,
      ...plan.options,
      'restore',
    ],
    portChosen: options.toPort === undefined,
  };
}

async function withReadableConfig<T>(
  dataset: PhysicalDataset,
  read: (target: PgbackrestTarget) => Promise<T>,
): Promise<T> {
  if (existsSync(dataset.config.path)) return read(readableTarget(dataset));
  const dir = makeTempDir('pgbackrest-preview', dataset.target.user);
  try {
    const configPath = join(dir, 'pgbackrest.conf');
    writeOwnedFile(configPath, dataset.configText, dataset.target.user);
    return await read({ ...dataset.target, configPath, cwd: dir });
  } finally {
    removeDir(dir);
  }
}

async function decide(
  context: ProtectContext,
  options: RestorePhysicalOptions,
  dataset: PhysicalDataset,
  info: StanzaInfo,
): Promise<{ plan: PhysicalRestorePlan; dataset: PhysicalDataset; pgVersion: string | undefined }> {
  const target = await recoveryTarget(context, options);
  const toDataDir = resolve(options.toDataDir ?? defaultRestoreDir(context.homeDir, options.dataset));
  const plan = planPhysicalRestore({
    dataset: options.dataset,
    target,
    info,
    now: new Date(),
    toDataDir,
    toPort: options.toPort ?? (await freePort()),
    targetDirState: targetDirState(toDataDir),
    force: options.force === true,
    productionDataDir: dataset.cluster?.dataDir ?? dataset.configuredDataDir,
    restorePointLsn:
      target.type === 'name' ? await findRestorePointLsn(context, options.dataset, target.name) : undefined,
  });
  return { plan, dataset, pgVersion: info.pgVersion };
}

/** `--snapshot` names one backup by the id every command shows; the other targets are WAL positions. */
async function recoveryTarget(
  context: ProtectContext,
  options: RestorePhysicalOptions,
): Promise<RecoveryTarget> {
  const target = parseRecoveryTarget(options);
  if (options.snapshot === undefined) return target;
  if (target.type !== 'default') {
    throw new UsageError(
      'give either --snapshot or a recovery target (--at, --lsn, --restore-point), not both',
      {
        hint: '--snapshot ID restores that backup to its own end; --at TIME replays WAL from the backup before TIME',
      },
    );
  }
  const point = await findRecoveryPoint(context, options.dataset, {
    snapshot: options.snapshot,
    includeFailedVerifications: true,
  });
  return { type: 'immediate', set: point.snapshotId };
}

/** `lifeboat restore DATASET --at TIME|--lsn LSN|--restore-point NAME` for physical datasets. */
export async function restorePhysical(
  context: ProtectContext,
  options: RestorePhysicalOptions,
): Promise<RestorePhysicalResult> {
  const { plan, dataset, pgVersion } = await planRestorePhysical(context, options);
  return applyRestorePhysical(context, dataset, plan, { ...options, pgVersion });
}

export async function applyRestorePhysical(
  context: ProtectContext,
  dataset: PhysicalDataset,
  plan: PhysicalRestorePlan,
  options: {
    timeoutSeconds?: number;
    actor?: string;
    pgVersion?: string | undefined;
    confirm?: (plan: PhysicalRestorePlan) => Promise<void>;
  },
): Promise<RestorePhysicalResult> {
  const started = Date.now();
  const user = dataset.target.user;
  const audit = async (outcome: string, details: Record<string, unknown>) =>
    (await context.state()).appendAudit({
      actor: options.actor ?? actor(),
      action: 'restore.run',
      target: `dataset:${plan.dataset}`,
      outcome,
      details: {
        method: 'physical',
        target: plan.description,
        set: plan.set,
        dataDir: plan.toDataDir,
        port: plan.toPort,
        delta: plan.delta,
        ...details,
      },
    });
  if (plan.delta && options.confirm) {
    try {
      await options.confirm(plan);
    } catch (cause) {
      if (cause instanceof RefusedError) await audit('refused', { reason: cause.message });
      throw cause;
    }
  }
  try {
    ensureOwnedDir(dirname(plan.toDataDir), user, { takeExisting: false });
    // PostgreSQL refuses a data directory that others can read.
    ensureOwnedDir(plan.toDataDir, user, { mode: 0o700 });
    chmodSync(plan.toDataDir, 0o700);
    await checkReachable(user, [{ path: plan.toDataDir, access: 'write' }]);
    await runPgbackrest(dataset.target, 'restore', plan.options, { secrets: dataset.secrets });
    neverArchive(plan.toDataDir, user);
    const cluster: RestoredCluster = {
      dataDir: plan.toDataDir,
      port: plan.toPort,
      socketDir: socketDirFor(plan.toDataDir, plan.toPort, user),
      user,
      binDir: binDirFor(options.pgVersion),
      logFile: join(plan.toDataDir, 'lifeboat-restore.log'),
    };
    const { recoverySeconds } = await startRestoredCluster(cluster, {
      timeoutMs: (options.timeoutSeconds ?? 3600) * 1000,
    });
    const seconds = (Date.now() - started) / 1000;
    const source = dataset.source;
    const url = `postgres://${source.user ? `${encodeURIComponent(source.user)}@` : ''}127.0.0.1:${plan.toPort}/${encodeURIComponent(source.database ?? 'postgres')}`;
    await audit('ok', { seconds, recoverySeconds });
    return {
      dataset: plan.dataset,
      dataDir: plan.toDataDir,
      port: plan.toPort,
      url,
      socketDir: cluster.socketDir,
      target: plan.description,
      set: plan.set,
      delta: plan.delta,
      seconds,
      recoverySeconds,
      logFile: cluster.logFile,
    };
  } catch (cause) {
    await audit('failed', { error: describeError(coerceError(cause)) }).catch(() => undefined);
    throw cause;
  }
}

/**
 * pgBackRest's --archive-mode=off already wrote `archive_mode = 'off'`; this makes it the
 * last word of postgresql.auto.conf whatever the backup carried, and gives a Debian-style
 * data directory (configuration kept in /etc) the files a standalone start needs.
 */
function neverArchive(dataDir: string, user: OsUser | undefined): void {
  const auto = join(dataDir, 'postgresql.auto.conf');
  appendFileSync(
    auto,
    "\n# Lifeboat: a restored copy never archives into the production repository.\narchive_mode = 'off'\n",
  );
  for (const [file, text] of [
    [
      'postgresql.conf',
      "# Written by Lifeboat: the backup had no postgresql.conf (kept in /etc).\nlisten_addresses = 'localhost'\n",
    ],
    [
      'pg_hba.conf',
      'local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n',
    ],
    ['pg_ident.conf', ''],
  ] as const) {
    if (!existsSync(join(dataDir, file))) writeOwnedFile(join(dataDir, file), text, user);
  }
  // PostgreSQL 12+ reads recovery settings from postgresql.auto.conf, older ones from recovery.conf.
  const written = [auto, join(dataDir, 'recovery.conf')]
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
  if (!/restore_command = '.*--config=/.test(written)) {
    throw new EnvironmentError(`pgbackrest restore wrote no restore_command with --config into ${dataDir}`, {
      hint: 'the restored cluster would read /etc/pgbackrest.conf; check `pgbackrest version` (2.x expected)',
    });
  }
}

function targetDirState(dir: string): TargetDirState {
  if (!existsSync(dir)) return 'missing';
  if (!statSync(dir).isDirectory()) return 'not-empty';
  if (postmasterAlive(dir)) return 'running';
  return readdirSync(dir).length === 0 ? 'empty' : 'not-empty';
}

export function defaultRestoreDir(homeDir: string, dataset: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return join(homeDir, 'restores', `${dataset}-${stamp}`, 'data');
}

/** The server binaries of the backup's major version (a 15 backup needs 15's postgres). */
function binDirFor(pgVersion: string | undefined): string {
  const versioned = pgVersion ? `/usr/lib/postgresql/${pgVersion}/bin` : undefined;
  if (versioned && existsSync(join(versioned, 'pg_ctl'))) return versioned;
  return findPostgresBinDir();
}
