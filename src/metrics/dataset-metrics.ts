/**
 * What `lifeboat status` found, as metric families: one series per dataset (label
 * `dataset`) for each fact the status rows and the state store's records hold. Pure.
 *
 * Times are gauges in seconds since the epoch (`time() - x` is an age); durations and
 * sizes are in seconds and bytes. States with several values (the WAL exposure, the
 * standby) are one 0/1 series per possible value, label `status`, so an alert can match
 * one value and a dashboard can show them all.
 */
import type { ReplicationStatus } from '../protect/exposure/live.js';
import type { ExposureStatus } from '../protect/methods/physical/exposure.js';
import type { DatasetRecords, StatusRecords, StatusRow } from '../protect/status.js';
import type { MetricFamily, MetricType, Sample } from './exposition.js';

/** What one computation of the status produced. */
export interface StatusSnapshot {
  rows: StatusRow[];
  records: StatusRecords;
  /** When it was computed. */
  at: Date;
  durationMs: number;
}

// Records make the compiler name every status, so a new one cannot be left without a series.
const EXPOSURE_STATUSES = Object.keys({
  ok: 0,
  breached: 0,
  failing: 0,
  'not-archiving': 0,
  standby: 0,
  unknown: 0,
} satisfies Record<ExposureStatus, 0>);
const REPLICATION_STATUSES = Object.keys({
  streaming: 0,
  'not-streaming': 0,
  unreachable: 0,
  'not-standby': 0,
  unknown: 0,
} satisfies Record<ReplicationStatus, 0>);

/** Seconds since the epoch of an ISO time; undefined when there is none or it does not parse. */
export function epochSeconds(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

const bit = (value: boolean) => (value ? 1 : 0);

interface DatasetMetric {
  name: string;
  /** Default: gauge. */
  type?: MetricType;
  help: string;
  /** Only for datasets Lifeboat protects (and so judges). Default: every dataset that has a value. */
  judged?: boolean;
  /** Undefined or null: not known, no sample. */
  value?(row: StatusRow, records: DatasetRecords | undefined): number | null | undefined;
  /** For a state set: every value the state can take, each a 0/1 series with label `status`. */
  states?: string[];
  /** The current state; undefined: not measured, no series. */
  state?(row: StatusRow): string | undefined;
}

/** The exposure, when a server answered: an unreachable one measured no failure count. */
const measured = (row: StatusRow) => (row.exposure?.error === null ? row.exposure : undefined);

const DATASET_METRICS: DatasetMetric[] = [
  {
    name: 'lifeboat_dataset_protected',
    help: '1 when Lifeboat backs the dataset up; 0 for datasets without a source or with an external one.',
    value: (r) => bit(r.protected),
  },
  {
    name: 'lifeboat_dataset_compliant',
    help: '1 when the dataset meets its RPO, its verify cadence and, for physical PostgreSQL, its live WAL exposure; 0 when not (lifeboat status says why).',
    judged: true,
    value: (r) => bit(r.compliant === true),
  },
  {
    name: 'lifeboat_dataset_rpo_seconds',
    help: "The dataset's effective RPO (its rpo, else objectives.rpo).",
    value: (r) => r.rpoSeconds,
  },
  {
    name: 'lifeboat_dataset_recency_target_seconds',
    help: 'The age the newest recovery point may reach with the dataset compliant: the RPO, else the backup cadence.',
    value: (r) => r.recencyTargetSeconds,
  },
  {
    name: 'lifeboat_dataset_backup_interval_seconds',
    help: 'Time between scheduled backups (backup.every, else the RPO, else a day).',
    value: (r) => r.backupEverySeconds,
  },
  {
    name: 'lifeboat_dataset_verify_interval_seconds',
    help: 'Time between scheduled verifications (verify.every, default a day).',
    value: (r) => r.verifyEverySeconds,
  },
  {
    name: 'lifeboat_dataset_last_recovery_point_timestamp_seconds',
    help: 'When the backup of the newest complete recovery point started: the data in it may be that old.',
    value: (r) => epochSeconds(r.newest?.at),
  },
  {
    name: 'lifeboat_dataset_last_verified_timestamp_seconds',
    help: 'When the last verification that passed finished.',
    value: (r) => epochSeconds(r.verified?.at),
  },
  {
    name: 'lifeboat_dataset_last_verified_recovery_point_timestamp_seconds',
    help: 'When the backup of the recovery point that the last passing verification restored started.',
    value: (r) => epochSeconds(r.verified?.recoveryPointAt),
  },
  {
    name: 'lifeboat_dataset_backup_running',
    help: '1 while a backup of the dataset is running.',
    judged: true,
    value: (r) => bit(r.running !== null),
  },
  {
    name: 'lifeboat_dataset_wal_exposure_status',
    help: 'The live WAL archive exposure of a physical PostgreSQL dataset: 1 for its current status, 0 for the others.',
    states: EXPOSURE_STATUSES,
    state: (r) => r.exposure?.status,
  },
  {
    name: 'lifeboat_dataset_wal_exposure_seconds',
    help: 'How far back a loss of the primary now would reach: the time since the last archived WAL segment when WAL was written after it, else 0.',
    value: (r) => r.exposure?.exposureSeconds,
  },
  {
    name: 'lifeboat_dataset_wal_unarchived_bytes',
    help: 'WAL the primary wrote after the end of the last archived segment.',
    value: (r) => r.exposure?.bytesNotArchived,
  },
  {
    name: 'lifeboat_dataset_wal_last_archived_timestamp_seconds',
    help: 'When the primary last archived a WAL segment.',
    value: (r) => epochSeconds(r.exposure?.lastArchived?.at),
  },
  {
    name: 'lifeboat_dataset_archive_failures_total',
    type: 'counter',
    help: "Failed WAL archive attempts on the primary (pg_stat_archiver.failed_count, reset with the server's statistics).",
    value: (r) => measured(r)?.failures.count,
  },
  {
    name: 'lifeboat_dataset_archive_failing',
    help: '1 when the last WAL archive attempt failed and nothing was archived since.',
    value: (r) => {
      const exposure = measured(r);
      return exposure && bit(exposure.failures.failing);
    },
  },
  {
    name: 'lifeboat_dataset_standby_status',
    help: "The dataset's streaming standby as its primary sees it: 1 for its current status, 0 for the others.",
    states: REPLICATION_STATUSES,
    state: (r) => r.replication?.status,
  },
  {
    name: 'lifeboat_dataset_standby_replay_lag_bytes',
    help: 'WAL the primary has written that the standby has not replayed.',
    value: (r) => r.replication?.replayLagBytes,
  },
  {
    name: 'lifeboat_dataset_standby_replay_lag_seconds',
    help: "The standby's replay lag (pg_stat_replication.replay_lag; 0 once an idle standby has caught up).",
    value: (r) => r.replication?.replayLagSeconds,
  },
  {
    name: 'lifeboat_dataset_standby_max_lag_seconds',
    help: 'replication.max_lag: the replay lag above which status warns.',
    value: (r) => r.replication?.maxLagSeconds,
  },
  {
    name: 'lifeboat_backup_last_duration_seconds',
    help: 'How long the backup of the newest complete recovery point took.',
    value: (_r, records) => {
      const ms = records?.newestComplete?.durationMs;
      return ms === null || ms === undefined ? undefined : ms / 1000;
    },
  },
  {
    name: 'lifeboat_backup_last_size_bytes',
    help: 'The size of the data in the newest complete recovery point (what restic read).',
    value: (_r, records) => records?.newestComplete?.totalBytes,
  },
  {
    name: 'lifeboat_backup_last_added_bytes',
    help: 'What the newest complete recovery point added to its repository after deduplication.',
    value: (_r, records) => records?.newestComplete?.bytesAdded,
  },
  {
    name: 'lifeboat_backup_failing',
    help: '1 when a backup failed or was interrupted after the newest recovery point was taken.',
    judged: true,
    value: (r) => bit(r.lastFailure !== null),
  },
  {
    name: 'lifeboat_backup_last_failure_timestamp_seconds',
    help: 'When the newest failed or interrupted backup started.',
    value: (r, records) =>
      newest(epochSeconds(records?.newestFailed?.startedAt), epochSeconds(r.lastFailure?.at)),
  },
  {
    name: 'lifeboat_verify_failing',
    help: '1 when the last verification failed.',
    judged: true,
    value: (_r, records) => bit(records?.latestVerification?.ok === false),
  },
  {
    name: 'lifeboat_newest_recovery_point_verification_failed',
    help: '1 when the newest recovery point failed its last verification: it is no recovery point, restore skips it and the dataset is not compliant.',
    judged: true,
    value: (r) => bit(r.newestFailedVerification !== null),
  },
];

export function datasetMetrics(snapshot: StatusSnapshot): MetricFamily[] {
  const families: MetricFamily[] = DATASET_METRICS.map((metric) => ({
    name: metric.name,
    help: metric.help,
    type: metric.type ?? 'gauge',
    samples: snapshot.rows.flatMap((row) =>
      metric.judged && row.compliant === null ? [] : samplesOf(metric, row, snapshot.records[row.dataset]),
    ),
  }));
  families.push(
    {
      name: 'lifeboat_status_collected_timestamp_seconds',
      help: 'When the status these metrics show was computed.',
      type: 'gauge',
      samples: [{ value: snapshot.at.getTime() / 1000 }],
    },
    {
      name: 'lifeboat_status_collect_duration_seconds',
      help: 'How long computing that status took (state store and live measurements).',
      type: 'gauge',
      samples: [{ value: snapshot.durationMs / 1000 }],
    },
  );
  return families;
}

function samplesOf(metric: DatasetMetric, row: StatusRow, records: DatasetRecords | undefined): Sample[] {
  const dataset = row.dataset;
  if (metric.states && metric.state) {
    const current = metric.state(row);
    if (current === undefined) return [];
    return metric.states.map((status) => ({ labels: { dataset, status }, value: bit(status === current) }));
  }
  const value = metric.value?.(row, records);
  return value === null || value === undefined ? [] : [{ labels: { dataset }, value }];
}

function newest(...times: (number | undefined)[]): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}
