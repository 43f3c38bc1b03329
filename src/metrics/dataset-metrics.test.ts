/**
 * Status rows as metrics: rows made by the real `datasetStatus` from records and live
 * observations written inline, the exposition checked by promtool and read back sample by sample.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import { assessExposure } from '../protect/methods/physical/exposure.js';
import { exposureReport, unknownExposure, type ReplicationReport } from '../protect/exposure/live.js';
import { datasetStatus, type DatasetRecords } from '../protect/status.js';
import type { SnapshotRecord, VerificationRecord } from '../state/store.js';
import { datasetMetrics } from './dataset-metrics.js';
import { renderExposition } from './exposition.js';
import { promtoolCheck } from './testing/promtool.js';
import { exposedSamples } from './testing/samples.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
const epoch = (iso: string) => Date.parse(iso) / 1000;

const plan = {
  version: 1,
  organization: 'Metrics Test',
  datasets: {
    db: {
      rpo: '5m',
      source: { type: 'postgres', url: 'postgres://x/db' },
      backup: { every: '1h', method: 'physical' },
      replication: { standby: 'postgres://standby/db', max_lag: '1m' },
    },
    down: {
      rpo: '5m',
      source: { type: 'postgres', url: 'postgres://y/db' },
      backup: { every: '1h', method: 'physical' },
    },
    docs: { rpo: '1h', source: { type: 'files', paths: ['./files'] }, backup: { every: '15m' } },
    cdn: { source: { type: 'external' } },
  },
} as unknown as Plan;

const verification = (ok: boolean, finished: number): VerificationRecord => ({
  id: `v${finished}`,
  snapshotId: 's1',
  dataset: 'db',
  startedAt: ago(finished + 60),
  finishedAt: ago(finished),
  ok,
  details: null,
  error: ok ? null : 'row count differs',
});

const complete = {
  id: 's1',
  startedAt: ago(120),
  resticSnapshotId: 'r1',
  runId: 'run1',
  durationMs: 2500,
  totalBytes: 1048576,
  bytesAdded: 4096,
} as SnapshotRecord;

const db: DatasetRecords = {
  newestComplete: complete,
  newestFailed: { id: 's2', startedAt: ago(30), error: 'pg_dump: connection refused' } as SnapshotRecord,
  pending: [],
  backupRunning: false,
  latestVerification: verification(false, 10),
  latestOkVerification: verification(true, 600),
  verifiedSnapshot: complete,
};

const streaming: ReplicationReport = {
  standby: 'postgres://standby/db',
  status: 'streaming',
  reason: 'standby1 streams',
  applicationName: 'standby1',
  state: 'streaming',
  syncState: 'async',
  replayLagBytes: 8192,
  replayLagSeconds: 1.5,
  maxLagSeconds: 60,
  withinMaxLag: true,
  error: null,
};

const failingArchive = exposureReport(
  assessExposure(
    {
      now: NOW,
      archiveMode: 'on',
      inRecovery: false,
      currentLsn: '0/5001000',
      segmentBytes: 16 * 1024 * 1024,
      archivedCount: 4,
      lastArchivedWal: '000000010000000000000004',
      lastArchivedTime: new Date(NOW.getTime() - 600_000),
      failedCount: 7,
      lastFailedWal: '000000010000000000000005',
      lastFailedTime: new Date(NOW.getTime() - 5_000),
    },
    300,
  ),
);

function exposition(): string {
  const records = { db };
  const rows = datasetStatus(plan, records, NOW, {
    db: { exposure: failingArchive, replication: streaming },
    down: {
      exposure: unknownExposure(300, 'PostgreSQL at y:5432 is unreachable', {
        message: 'unreachable',
        host: 'y',
        port: 5432,
      }),
      replication: null,
    },
  });
  return renderExposition(datasetMetrics({ rows, records, at: NOW, durationMs: 1234 }));
}

describe('datasetMetrics', () => {
  const text = exposition();
  const values = exposedSamples(text);
  const value = (series: string) => values.get(series);

  test('the exposition passes promtool check metrics (format and naming conventions)', () => {
    assert.equal(promtoolCheck(text), '');
  });

  test('targets, recovery points and verification in base units, times in seconds since the epoch', () => {
    assert.equal(value('lifeboat_dataset_rpo_seconds{dataset="db"}'), 300);
    assert.equal(value('lifeboat_dataset_backup_interval_seconds{dataset="db"}'), 3600);
    assert.equal(
      value('lifeboat_dataset_last_recovery_point_timestamp_seconds{dataset="db"}'),
      epoch(ago(120)),
    );
    assert.equal(value('lifeboat_dataset_last_verified_timestamp_seconds{dataset="db"}'), epoch(ago(600)));
    assert.equal(
      value('lifeboat_dataset_last_verified_recovery_point_timestamp_seconds{dataset="db"}'),
      epoch(ago(120)),
    );
    assert.equal(value('lifeboat_backup_last_duration_seconds{dataset="db"}'), 2.5);
    assert.equal(value('lifeboat_backup_last_size_bytes{dataset="db"}'), 1048576);
    assert.equal(value('lifeboat_backup_last_added_bytes{dataset="db"}'), 4096);
    assert.equal(value('lifeboat_backup_failing{dataset="db"}'), 1);
    assert.equal(value('lifeboat_backup_last_failure_timestamp_seconds{dataset="db"}'), epoch(ago(30)));
    assert.equal(value('lifeboat_verify_failing{dataset="db"}'), 1);
    assert.equal(value('lifeboat_status_collected_timestamp_seconds'), epoch(NOW.toISOString()));
    assert.equal(value('lifeboat_status_collect_duration_seconds'), 1.234);
  });

  test('a failing WAL archive: not compliant, its status, exposure and failure counter', () => {
    assert.equal(value('lifeboat_dataset_compliant{dataset="db"}'), 0);
    assert.equal(value('lifeboat_dataset_wal_exposure_status{dataset="db",status="failing"}'), 1);
    assert.equal(value('lifeboat_dataset_wal_exposure_status{dataset="db",status="ok"}'), 0);
    assert.equal(value('lifeboat_dataset_archive_failures_total{dataset="db"}'), 7);
    assert.equal(value('lifeboat_dataset_archive_failing{dataset="db"}'), 1);
    assert.equal(
      value('lifeboat_dataset_wal_exposure_seconds{dataset="db"}'),
      failingArchive.exposureSeconds,
    );
    assert.equal(
      value('lifeboat_dataset_wal_unarchived_bytes{dataset="db"}'),
      failingArchive.bytesNotArchived,
    );
    assert.equal(
      value('lifeboat_dataset_wal_last_archived_timestamp_seconds{dataset="db"}'),
      epoch(ago(600)),
    );
    assert.match(text, /# TYPE lifeboat_dataset_archive_failures_total counter/);
  });

  test('the standby: status set and replay lag', () => {
    assert.equal(value('lifeboat_dataset_standby_status{dataset="db",status="streaming"}'), 1);
    assert.equal(value('lifeboat_dataset_standby_status{dataset="db",status="unreachable"}'), 0);
    assert.equal(value('lifeboat_dataset_standby_replay_lag_bytes{dataset="db"}'), 8192);
    assert.equal(value('lifeboat_dataset_standby_replay_lag_seconds{dataset="db"}'), 1.5);
    assert.equal(value('lifeboat_dataset_standby_max_lag_seconds{dataset="db"}'), 60);
  });

  test('what was not measured has no sample: an unreachable primary, a dataset never backed up', () => {
    assert.equal(value('lifeboat_dataset_wal_exposure_status{dataset="down",status="unknown"}'), 1);
    for (const absent of [
      'lifeboat_dataset_archive_failures_total{dataset="down"}',
      'lifeboat_dataset_archive_failing{dataset="down"}',
      'lifeboat_dataset_wal_exposure_seconds{dataset="down"}',
      'lifeboat_dataset_last_recovery_point_timestamp_seconds{dataset="down"}',
      'lifeboat_backup_last_duration_seconds{dataset="down"}',
      'lifeboat_dataset_standby_status{dataset="down",status="unknown"}',
      'lifeboat_dataset_standby_replay_lag_bytes{dataset="docs"}',
    ])
      assert.equal(values.has(absent), false, absent);
    assert.doesNotMatch(text, /NaN/);
  });

  test('a dataset Lifeboat does not protect: protected 0 and no verdict', () => {
    assert.equal(value('lifeboat_dataset_protected{dataset="cdn"}'), 0);
    assert.equal(value('lifeboat_dataset_protected{dataset="docs"}'), 1);
    assert.equal(values.has('lifeboat_dataset_compliant{dataset="cdn"}'), false);
    assert.equal(values.has('lifeboat_backup_failing{dataset="cdn"}'), false);
    assert.equal(value('lifeboat_dataset_compliant{dataset="docs"}'), 0);
  });
});
