/**
 * Live RPO exposure of a physical dataset: what a loss of the primary right now would
 * cost. Everything written since the end of the last archived WAL segment exists only on
 * the primary; pg_stat_archiver says which segment that was, when, and whether archiving
 * is failing. assessExposure is the pure comparison with the RPO; measureExposure reads
 * the server.
 */
import { UsageError } from '../../../errors.js';
import { effectiveRpo } from '../../../plan/graph.js';
import type { ProtectContext } from '../../context.js';
import { parsePgUrl, psqlRows, type PgConnection } from '../../../stores/postgres/psql.js';
import { openPhysicalDataset, readableTarget } from './dataset.js';
import { formatLsn, parseLsn, segmentStart } from '../../../engines/pgbackrest/lsn.js';
import { pgbackrestInfo } from '../../../engines/pgbackrest/runner.js';
import { asPostgres } from '../../../stores/index.js';

export interface ArchiverObservation {
  now: Date;
  archiveMode: string;
  inRecovery: boolean;
  /** pg_current_wal_lsn(); undefined on a standby. */
  currentLsn: string | undefined;
  segmentBytes: number;
  archivedCount: number;
  lastArchivedWal: string | undefined;
  lastArchivedTime: Date | undefined;
  failedCount: number;
  lastFailedWal: string | undefined;
  lastFailedTime: Date | undefined;
  /**
   * The newest segment in the pgBackRest repository (`info`), when known. pg_stat_archiver
   * may name a `.backup` file last, which proves nothing about its own segment; the
   * repository does.
   */
  repositoryMaxWal?: string | undefined;
}

export type ExposureStatus = 'ok' | 'breached' | 'failing' | 'not-archiving' | 'standby' | 'unknown';

export interface Exposure {
  status: ExposureStatus;
  rpoSeconds: number | undefined;
  /**
   * How far back a loss now would reach, at most: 0 when nothing is unarchived, else the
   * time since the last segment was archived (the oldest unarchived write is not older).
   * Undefined when nothing was ever archived.
   */
  exposureSeconds: number | undefined;
  /** WAL bytes written after the end of the last archived segment. */
  bytesNotArchived: number | undefined;
  secondsSinceLastArchive: number | undefined;
  withinRpo: boolean | undefined;
  /** The last archive attempt failed (and nothing was archived since). */
  archiveFailing: boolean;
  failedCount: number;
  lastFailedWal: string | undefined;
  lastFailedTime: string | undefined;
  lastArchivedWal: string | undefined;
  lastArchivedTime: string | undefined;
  currentLsn: string | undefined;
  /** One sentence for people. */
  summary: string;
}

export function assessExposure(obs: ArchiverObservation, rpoSeconds: number | undefined): Exposure {
  const since = obs.lastArchivedTime
    ? Math.max(0, (obs.now.getTime() - obs.lastArchivedTime.getTime()) / 1000)
    : undefined;
  const bytes = bytesNotArchived(obs);
  const exposure = bytes === 0 ? 0 : bytes === undefined ? undefined : since;
  const archiveFailing =
    obs.failedCount > 0 &&
    obs.lastFailedTime !== undefined &&
    (obs.lastArchivedTime === undefined || obs.lastFailedTime.getTime() > obs.lastArchivedTime.getTime());
  const withinRpo = rpoSeconds === undefined || exposure === undefined ? undefined : exposure <= rpoSeconds;
  const base = {
    rpoSeconds,
    exposureSeconds: exposure,
    bytesNotArchived: bytes,
    secondsSinceLastArchive: since,
    withinRpo,
    archiveFailing,
    failedCount: obs.failedCount,
    lastFailedWal: obs.lastFailedWal,
    lastFailedTime: obs.lastFailedTime?.toISOString(),
    lastArchivedWal: obs.lastArchivedWal,
    lastArchivedTime: obs.lastArchivedTime?.toISOString(),
    currentLsn: obs.currentLsn,
  };
  if (obs.inRecovery)
    return { ...base, status: 'standby', summary: 'a standby: exposure is measured on the primary' };
  if (obs.archiveMode !== 'on' && obs.archiveMode !== 'always')
    return {
      ...base,
      status: 'not-archiving',
      summary: 'archive_mode is off: a loss now loses everything written since the last backup',
    };
  if (archiveFailing)
    return {
      ...base,
      status: 'failing',
      summary: `archiving is failing (${obs.failedCount} failures, last ${obs.lastFailedWal ?? '?'} at ${base.lastFailedTime}); unarchived WAL accumulates on the primary`,
    };
  if (exposure === undefined)
    return { ...base, status: 'unknown', summary: 'no WAL segment has been archived yet' };
  const amount = `${Math.round(exposure)} s (${bytes ?? 0} bytes of WAL not archived)`;
  if (withinRpo === false)
    return {
      ...base,
      status: 'breached',
      summary: `a loss now would cost up to ${amount}, more than the RPO of ${rpoSeconds} s`,
    };
  return {
    ...base,
    status: 'ok',
    summary: `a loss now would cost up to ${amount}${rpoSeconds === undefined ? '' : `, within the RPO of ${rpoSeconds} s`}`,
  };
}

/**
 * WAL between the end of the last archived segment and the current position. A `.backup`
 * or `.partial` name only proves the segments before its own, so it counts from its start.
 */
export function bytesNotArchived(obs: ArchiverObservation): number | undefined {
  if (!obs.currentLsn) return undefined;
  const ends = [obs.lastArchivedWal, obs.repositoryMaxWal]
    .map((name) => (name ? archivedUpTo(name, obs.segmentBytes) : undefined))
    .filter((end): end is bigint => end !== undefined);
  if (ends.length === 0) return undefined;
  const end = ends.reduce((a, b) => (a > b ? a : b));
  const diff = parseLsn(obs.currentLsn) - end;
  return diff > 0n ? Number(diff) : 0;
}

/** Where WAL is known archived up to, given one archived file's name. */
function archivedUpTo(name: string, segmentBytes: number): bigint | undefined {
  const start = segmentStart(name, segmentBytes);
  if (start === undefined) return undefined;
  return /^[0-9A-F]{24}$/i.test(name) ? start + BigInt(segmentBytes) : start;
}

/** Reads pg_stat_archiver and the WAL position from the primary. */
export async function observeArchiver(source: PgConnection): Promise<ArchiverObservation> {
  const [row] = await psqlRows(
    source,
    `SELECT extract(epoch FROM now()), current_setting('archive_mode'), pg_is_in_recovery(),
            CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END,
            (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),
            archived_count, last_archived_wal, extract(epoch FROM last_archived_time),
            failed_count, last_failed_wal, extract(epoch FROM last_failed_time)
       FROM pg_stat_archiver`,
  );
  if (!row) throw new Error('pg_stat_archiver returned no row');
  const time = (v: string | null | undefined) => (v ? new Date(Number(v) * 1000) : undefined);
  return {
    now: time(row[0]) ?? new Date(),
    archiveMode: row[1] ?? 'off',
    inRecovery: row[2] === 't',
    currentLsn: row[3] ? formatLsn(parseLsn(row[3])) : undefined,
    segmentBytes: Number(row[4] ?? 16 * 1024 * 1024),
    archivedCount: Number(row[5] ?? 0),
    lastArchivedWal: row[6] ?? undefined,
    lastArchivedTime: time(row[7]),
    failedCount: Number(row[8] ?? 0),
    lastFailedWal: row[9] ?? undefined,
    lastFailedTime: time(row[10]),
  };
}

/**
 * The exposure of a physical dataset's PostgreSQL primary against its RPO. The repository's
 * newest segment is read too (one `pgbackrest info`); when that fails the server's view
 * alone is used, and the failure is the archiver's to report.
 */
export async function datasetExposure(
  context: ProtectContext,
  datasetId: string,
): Promise<Exposure & { dataset: string }> {
  const source = asPostgres(context.resolvedSource(datasetId));
  if (source === undefined) {
    throw new UsageError(
      `dataset '${datasetId}' is not PostgreSQL; WAL exposure applies to physical PostgreSQL datasets`,
    );
  }
  const observation = await observeArchiver(parsePgUrl(source.url));
  try {
    // Read only: the configuration is the one the last backup wrote; a status or a metrics
    // scrape changes nothing on disk.
    const dataset = await openPhysicalDataset(context, datasetId);
    observation.repositoryMaxWal = (await pgbackrestInfo(readableTarget(dataset))).archive?.max;
  } catch {
    // The repository is unreachable (or not set up yet): pg_stat_archiver's failures say so already.
  }
  return { dataset: datasetId, ...assessExposure(observation, effectiveRpo(context.plan, datasetId)) };
}
