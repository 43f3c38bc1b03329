/**
 * `pgbackrest info --output=json` read into typed records (pure), and the questions
 * Lifeboat asks of it: the last full backup, the earliest point that can be recovered, the
 * backup set a point-in-time target needs.
 */
import { OperationError } from '../../errors.js';
import { parseLsn } from './lsn.js';

export type BackupType = 'full' | 'diff' | 'incr';

export interface BackupSet {
  /** pgBackRest's label, e.g. `20240501-120000F_20240502-010000I`. */
  label: string;
  type: BackupType;
  startedAt: Date;
  stoppedAt: Date;
  lsnStart: string;
  /** Recovery from this set is consistent once WAL is replayed up to here. */
  lsnStop: string;
  walStart: string | undefined;
  walStop: string | undefined;
  /** Size of the cluster restored from it. */
  sizeBytes: number | undefined;
  /** Bytes this backup added to the repository (after compression). */
  repositoryDeltaBytes: number | undefined;
  repositorySizeBytes: number | undefined;
  /** The set it is based on (diff and incr). */
  prior: string | undefined;
  /** pgBackRest found page checksum errors while copying. */
  error: boolean;
}

export interface StanzaInfo {
  stanza: string;
  /** 0 ok; 1 missing stanza path; 2 no valid backups; 3 missing stanza data; others: see message. */
  statusCode: number;
  statusMessage: string;
  /** Oldest first. */
  backups: BackupSet[];
  /** WAL range in the archive of the current database, if any. */
  archive: { min: string; max: string } | undefined;
  /** A backup of this stanza is running now. */
  backupRunning: boolean;
  /** PostgreSQL major version of the current database (`15`): the binaries a restore needs. */
  pgVersion: string | undefined;
}

export function parseInfo(json: unknown, stanza: string): StanzaInfo {
  if (!Array.isArray(json)) throw malformed('not an array');
  const entry = json.find((e: unknown) => obj(e).name === stanza) ?? json[0];
  if (entry === undefined) {
    return {
      stanza,
      statusCode: 1,
      statusMessage: 'missing stanza path',
      backups: [],
      archive: undefined,
      backupRunning: false,
      pgVersion: undefined,
    };
  }
  const record = obj(entry);
  const status = obj(record.status);
  const backups = (Array.isArray(record.backup) ? record.backup : []).map(parseBackup);
  backups.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  const archives = Array.isArray(record.archive) ? record.archive.map(obj) : [];
  const current = archives.at(-1);
  const db = (Array.isArray(record.db) ? record.db.map(obj) : []).at(-1);
  return {
    stanza,
    statusCode: typeof status.code === 'number' ? status.code : -1,
    statusMessage: typeof status.message === 'string' ? status.message : 'unknown',
    backups,
    archive:
      current && typeof current.min === 'string' && typeof current.max === 'string'
        ? { min: current.min, max: current.max }
        : undefined,
    backupRunning: obj(obj(status.lock).backup).held === true,
    pgVersion: typeof db?.version === 'string' ? db.version : undefined,
  };
}

function parseBackup(value: unknown): BackupSet {
  const b = obj(value);
  const timestamp = obj(b.timestamp);
  const lsn = obj(b.lsn);
  const archive = obj(b.archive);
  const info = obj(b.info);
  const repository = obj(info.repository);
  const type = b.type;
  if (typeof b.label !== 'string' || (type !== 'full' && type !== 'diff' && type !== 'incr'))
    throw malformed('a backup without label or type');
  if (typeof timestamp.start !== 'number' || typeof timestamp.stop !== 'number')
    throw malformed(`backup ${b.label} without timestamps`);
  return {
    label: b.label,
    type,
    startedAt: new Date(timestamp.start * 1000),
    stoppedAt: new Date(timestamp.stop * 1000),
    lsnStart: String(lsn.start ?? ''),
    lsnStop: String(lsn.stop ?? ''),
    walStart: typeof archive.start === 'string' ? archive.start : undefined,
    walStop: typeof archive.stop === 'string' ? archive.stop : undefined,
    sizeBytes: num(info.size),
    repositoryDeltaBytes: num(repository.delta),
    repositorySizeBytes: num(repository.size),
    prior: typeof b.prior === 'string' ? b.prior : undefined,
    error: b.error === true,
  };
}

/** The newest full backup, if any. */
export function lastFull(info: StanzaInfo): BackupSet | undefined {
  return info.backups.filter((b) => b.type === 'full').at(-1);
}

/**
 * The earliest time and LSN a point-in-time recovery can reach: the end of the oldest
 * backup. Before it no backup is consistent. The JSON gives whole seconds, so the time is
 * rounded up to the next second (a target inside the stop second could precede the end).
 */
export function earliestRecoverable(
  info: StanzaInfo,
): { time: Date; lsn: string; label: string } | undefined {
  const oldest = info.backups[0];
  if (!oldest) return undefined;
  return { time: new Date(oldest.stoppedAt.getTime() + 1000), lsn: oldest.lsnStop, label: oldest.label };
}

/** The newest backup that ended before `time`: recovery replays WAL from it up to the target. */
export function backupBeforeTime(info: StanzaInfo, time: Date): BackupSet | undefined {
  return info.backups.filter((b) => b.stoppedAt.getTime() + 1000 <= time.getTime()).at(-1);
}

/** The newest backup whose end is at or before `lsn`. */
export function backupBeforeLsn(info: StanzaInfo, lsn: string): BackupSet | undefined {
  const target = parseLsn(lsn);
  return info.backups.filter((b) => b.lsnStop !== '' && parseLsn(b.lsnStop) <= target).at(-1);
}

function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function malformed(what: string): OperationError {
  return new OperationError(`pgbackrest info --output=json: unexpected output (${what})`, {
    hint: 'Lifeboat reads pgBackRest 2.x JSON; check `pgbackrest version`',
  });
}
