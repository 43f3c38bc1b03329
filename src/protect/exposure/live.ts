/**
 * The live side of `lifeboat status`: for each PostgreSQL dataset, what a loss of the primary
 * right now would cost (as its protection method measures it: WAL archiving, for physical
 * datasets) and how far its streaming
 * standby runs behind. Read from the servers, never from the state store; a server that
 * cannot be reached is reported as such, with its error, and never fails the status.
 */
import { parseDuration } from '../../plan/duration.js';
import { effectiveRpo } from '../../plan/graph.js';
import type { Plan } from '../../plan/schema.js';
import { isSecretRef, resolveSecret } from '../../plan/secret.js';
import type { ProtectContext } from '../context.js';
import { datasetMethod } from '../methods/index.js';
import type { Exposure, ExposureStatus } from '../methods/physical/exposure.js';
import { parsePgUrl } from '../../stores/postgres/psql.js';
import {
  displayStandby,
  emptyReport,
  isPgUrl,
  liveError,
  observeReplication,
  type LiveError,
  type ReplicationReport,
} from './replication.js';
import { asPostgres } from '../../stores/index.js';

export type { LiveError, ReplicationReport, ReplicationStatus } from './replication.js';

/** The archive exposure as status reports it: every field present, null when unknown. */
export interface ExposureReport {
  status: ExposureStatus;
  /** One sentence for people: the assessment, or why it could not be made. */
  reason: string;
  rpoSeconds: number | null;
  /** How far back a loss now would reach, at most (0 when nothing is unarchived). */
  exposureSeconds: number | null;
  /** WAL written after the end of the last archived segment. */
  bytesNotArchived: number | null;
  withinRpo: boolean | null;
  lastArchived: { wal: string; at: string; ageSeconds: number | null } | null;
  failures: {
    count: number;
    /** The last attempt failed and nothing was archived since. */
    failing: boolean;
    lastWal: string | null;
    lastAt: string | null;
  };
  /** The primary's WAL position when measured. */
  currentLsn: string | null;
  error: LiveError | null;
}

export interface LiveObservation {
  /** Null when the dataset does not archive WAL (not physical, or `wal_archive: false`). */
  exposure: ExposureReport | null;
  /** Null when the plan gives no standby URL. */
  replication: ReplicationReport | null;
}

export type LiveRecords = Record<string, LiveObservation>;

/**
 * What to measure live for a dataset; nothing for datasets that are not PostgreSQL. A
 * standby is measured when the plan gives its URL (or a reference to one): a bare name is
 * for the document only, and need not be what the primary knows it by.
 */
export function liveTargets(plan: Plan, datasetId: string): { archive: boolean; standby: string | null } {
  const dataset = plan.datasets?.[datasetId];
  if (dataset === undefined || asPostgres(dataset.source) === undefined)
    return { archive: false, standby: null };
  const standby = dataset.replication?.standby;
  return {
    archive: datasetMethod(dataset).exposure?.applies(dataset) ?? false,
    standby: standby !== undefined && (isPgUrl(standby) || isSecretRef(standby)) ? standby : null,
  };
}

/**
 * Measures the given datasets (default: all of the plan's) at once. Datasets with nothing
 * to measure are left out.
 */
export async function readLiveExposure(context: ProtectContext, datasetIds?: string[]): Promise<LiveRecords> {
  const ids = datasetIds ?? Object.keys(context.plan.datasets ?? {});
  const measured = await Promise.all(ids.map(async (id) => [id, await observeDataset(context, id)] as const));
  const records: LiveRecords = {};
  for (const [id, observation] of measured) if (observation) records[id] = observation;
  return records;
}

async function observeDataset(context: ProtectContext, id: string): Promise<LiveObservation | undefined> {
  const targets = liveTargets(context.plan, id);
  if (!targets.archive && targets.standby === null) return undefined;
  const rpo = effectiveRpo(context.plan, id) ?? null;
  const [exposure, replication] = await Promise.all([
    targets.archive ? measureArchive(context, id, rpo) : null,
    targets.standby === null ? null : measureReplication(context, id, targets.standby),
  ]);
  return { exposure, replication };
}

async function measureArchive(
  context: ProtectContext,
  id: string,
  rpo: number | null,
): Promise<ExposureReport> {
  try {
    // Only datasets whose method measures exposure get here (liveTargets).
    return exposureReport(await datasetMethod(context.dataset(id)).exposure!.measure(context, id));
  } catch (error) {
    // The error names the server (`PostgreSQL at host:port is unreachable: ...`).
    const found = liveError(error);
    return unknownExposure(rpo, found.message, found);
  }
}

async function measureReplication(
  context: ProtectContext,
  id: string,
  standby: string,
): Promise<ReplicationReport> {
  const replication = context.dataset(id).replication;
  const maxLag = replication?.max_lag;
  const maxLagSeconds = (maxLag === undefined ? undefined : parseDuration(maxLag)) ?? null;
  let primaryUrl: string;
  let standbyRef: string;
  try {
    const source = context.resolvedSource(id);
    primaryUrl = 'url' in source ? source.url : '';
    standbyRef = resolveSecret(standby, context.planDir, context.env);
  } catch (error) {
    return unknownReplication(standby, maxLagSeconds, liveError(error));
  }
  return observeReplication(parsePgUrl(primaryUrl), standbyRef, {
    maxLagSeconds,
    applicationName: replication?.standby_name ?? null,
  });
}

/** The report of an exposure a protection method measured. */
export function exposureReport(e: Exposure): ExposureReport {
  return {
    status: e.status,
    reason: e.summary,
    rpoSeconds: e.rpoSeconds ?? null,
    exposureSeconds: e.exposureSeconds ?? null,
    bytesNotArchived: e.bytesNotArchived ?? null,
    withinRpo: e.withinRpo ?? null,
    lastArchived: e.lastArchivedWal
      ? {
          wal: e.lastArchivedWal,
          at: e.lastArchivedTime ?? '',
          ageSeconds: e.secondsSinceLastArchive ?? null,
        }
      : null,
    failures: {
      count: e.failedCount,
      failing: e.archiveFailing,
      lastWal: e.lastFailedWal ?? null,
      lastAt: e.lastFailedTime ?? null,
    },
    currentLsn: e.currentLsn ?? null,
    error: null,
  };
}

export function unknownExposure(rpo: number | null, reason: string, error: LiveError): ExposureReport {
  return {
    status: 'unknown',
    reason,
    rpoSeconds: rpo,
    exposureSeconds: null,
    bytesNotArchived: null,
    withinRpo: null,
    lastArchived: null,
    failures: { count: 0, failing: false, lastWal: null, lastAt: null },
    currentLsn: null,
    error,
  };
}

function unknownReplication(
  standby: string,
  maxLagSeconds: number | null,
  error: LiveError,
): ReplicationReport {
  return {
    ...emptyReport(displayStandby(standby), maxLagSeconds),
    reason: `the standby cannot be measured: ${error.message}`,
    error,
  };
}
