/**
 * The pgBackRest configuration of one physical dataset, generated (pure) into Lifeboat's own
 * directory: `<homeDir>/pgbackrest/<dataset>/pgbackrest.conf`, never /etc. Every pgBackRest
 * run, and the `archive_command`/`restore_command` PostgreSQL runs, passes `--config` with
 * this path, so the host's own /etc/pgbackrest.conf is never read and never changed.
 */
import { join } from 'node:path';
import type { RetentionPolicy } from '../../plan/schema.js';
import type { PgbackrestRepository } from './repository.js';

export type CompressType = 'zst' | 'lz4' | 'gz';

export interface ClusterLocation {
  /** The cluster's data directory (`pg1-path`). */
  dataDir: string;
  port: number;
  /** Unix socket directory pgBackRest connects through. Default: libpq's. */
  socketDir?: string;
  /** Database user pgBackRest logs in as. Default: pgBackRest's (the OS user). */
  user?: string;
}

export interface PgbackrestConfigInput {
  /** The dataset id; also the stanza name. */
  stanza: string;
  /** `.lifeboat/` beside the plan. */
  homeDir: string;
  cluster: ClusterLocation;
  repository: PgbackrestRepository;
  /** The dataset's retention (or the default); becomes `repo1-retention-full` in days. */
  retention: RetentionPolicy;
  /** Seconds between two backups (`backup.every`), for `retention.last`. */
  backupEverySeconds: number;
  compressType: CompressType;
}

/** One `key=value` line; a secret holds a reference resolved only when the file is written. */
export type ConfigEntry = { key: string; value: string } | { key: string; secret: string };

export interface PgbackrestConfig {
  stanza: string;
  /** `<homeDir>/pgbackrest/<stanza>`: the config file and the per-stanza lock, log and spool dirs. */
  dir: string;
  path: string;
  lockPath: string;
  logPath: string;
  spoolPath: string;
  /** The repository path when it is on local disk (it must exist and belong to the cluster's user). */
  localRepoPath: string | undefined;
  global: ConfigEntry[];
  stanzaSection: ConfigEntry[];
}

/**
 * Seconds pgBackRest waits for the WAL segment that ends a backup to be archived. Its
 * default, 60 s, only delays the report of a broken archive_command; 10 s is ample for a
 * local archiver that is working.
 */
const ARCHIVE_TIMEOUT_SECONDS = 10;

export function planPgbackrestConfig(input: PgbackrestConfigInput): PgbackrestConfig {
  const dir = join(input.homeDir, 'pgbackrest', input.stanza);
  const lockPath = join(dir, 'lock');
  const logPath = join(dir, 'log');
  const spoolPath = join(dir, 'spool');
  const value = (key: string, v: string | number): ConfigEntry => ({ key, value: String(v) });
  const global: ConfigEntry[] = [
    ...repositoryEntries(input.repository),
    value('repo1-retention-full-type', 'time'),
    value('repo1-retention-full', retentionFullDays(input.retention, input.backupEverySeconds)),
    // The default lock path (/tmp/pgbackrest) is shared by every stanza and user on the host.
    value('lock-path', lockPath),
    value('log-path', logPath),
    value('spool-path', spoolPath),
    value('log-level-file', 'info'),
    // Without it a backup waits for the next scheduled checkpoint, up to checkpoint_timeout.
    value('start-fast', 'y'),
    value('archive-timeout', ARCHIVE_TIMEOUT_SECONDS),
    // Synchronous archive-push: one process per segment, nothing queued in the spool dir
    // that a crash could leave behind unreported.
    value('archive-async', 'n'),
    value('compress-type', input.compressType),
  ];
  const cluster = input.cluster;
  const stanzaSection: ConfigEntry[] = [
    value('pg1-path', cluster.dataDir),
    value('pg1-port', cluster.port),
    ...(cluster.socketDir ? [value('pg1-socket-path', cluster.socketDir)] : []),
    ...(cluster.user ? [value('pg1-user', cluster.user)] : []),
  ];
  return {
    stanza: input.stanza,
    dir,
    path: join(dir, 'pgbackrest.conf'),
    lockPath,
    logPath,
    spoolPath,
    localRepoPath: input.repository.kind === 'local' ? input.repository.path : undefined,
    global,
    stanzaSection,
  };
}

function repositoryEntries(repo: PgbackrestRepository): ConfigEntry[] {
  if (repo.kind === 'local') return [{ key: 'repo1-path', value: repo.path }];
  const entries: ConfigEntry[] = [
    { key: 'repo1-type', value: 's3' },
    { key: 'repo1-path', value: repo.path },
    { key: 'repo1-s3-endpoint', value: repo.endpoint },
    { key: 'repo1-s3-bucket', value: repo.bucket },
    { key: 'repo1-s3-region', value: repo.region },
    // Path style works with every S3 implementation (MinIO, Ceph, s3rver); host style
    // needs a DNS name per bucket.
    { key: 'repo1-s3-uri-style', value: 'path' },
  ];
  if (repo.port !== undefined) entries.push({ key: 'repo1-storage-port', value: String(repo.port) });
  if (!repo.verifyTls) entries.push({ key: 'repo1-storage-verify-tls', value: 'n' });
  if (repo.caFile) entries.push({ key: 'repo1-storage-ca-file', value: repo.caFile });
  // In the file, not the environment: archive_command runs inside the PostgreSQL server,
  // which never sees Lifeboat's environment. The file is 0600 and belongs to the server user.
  if (repo.key) entries.push({ key: 'repo1-s3-key', secret: repo.key });
  if (repo.keySecret) entries.push({ key: 'repo1-s3-key-secret', secret: repo.keySecret });
  if (repo.token) entries.push({ key: 'repo1-s3-token', secret: repo.token });
  return entries;
}

const DAY = 86_400;
const RULE_SECONDS = { hourly: 3600, daily: DAY, weekly: 7 * DAY, monthly: 30 * DAY, yearly: 365 * DAY };

/**
 * The restic-style policy as pgBackRest's time-based full retention: keep full backups (and
 * the WAL needed to recover from them) for as many days as the policy's widest rule reaches
 * back (`monthly: 12` → 360 days; `last: 3` with `every: 4h` → 1 day). pgBackRest keeps a
 * full backup until a newer one is at least that old, so every point in the window stays
 * recoverable.
 */
export function retentionFullDays(retention: RetentionPolicy, backupEverySeconds: number): number {
  let window = (retention.last ?? 0) * backupEverySeconds;
  for (const [rule, seconds] of Object.entries(RULE_SECONDS)) {
    window = Math.max(window, (retention[rule as keyof typeof RULE_SECONDS] ?? 0) * seconds);
  }
  return Math.max(1, Math.ceil(window / DAY));
}

/** The file's text. `reveal` turns a secret reference into its value (or a mask for display). */
export function renderPgbackrestConfig(config: PgbackrestConfig, reveal: (ref: string) => string): string {
  const line = (entry: ConfigEntry): string =>
    `${entry.key}=${'secret' in entry ? reveal(entry.secret) : entry.value}`;
  return [
    '# Generated by Lifeboat from the plan; edits are overwritten. pgbackrest --config=<this file>',
    '[global]',
    ...config.global.map(line),
    '',
    `[${config.stanza}]`,
    ...config.stanzaSection.map(line),
    '',
  ].join('\n');
}

/** A shell word: archive_command and restore_command go through `sh -c`. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The archive_command that pushes each WAL segment into this dataset's repository. */
export function archiveCommand(pgbackrestBin: string, config: PgbackrestConfig): string {
  return [
    shellQuote(pgbackrestBin),
    shellQuote(`--config=${config.path}`),
    shellQuote(`--stanza=${config.stanza}`),
    'archive-push',
    '%p',
  ].join(' ');
}
