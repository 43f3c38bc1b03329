/** datasetStatus with live measurements: what a live breach, or a measurement missing, does to compliance. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import type { SnapshotRecord, VerificationRecord } from '../state/store.js';
import { assessExposure, type ArchiverObservation } from './methods/physical/exposure.js';
import {
  exposureReport,
  liveTargets,
  unknownExposure,
  type LiveObservation,
  type ReplicationReport,
} from './exposure/live.js';
import { datasetStatus, type DatasetRecords } from './status.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

const plan = {
  version: 1,
  organization: 'Status Exposure Test',
  datasets: {
    db: {
      rpo: '5m',
      source: { type: 'postgres', url: 'postgres://x/db' },
      backup: { every: '1h', method: 'physical' },
      replication: { standby: 'postgres://standby/db', max_lag: '1m' },
    },
    logical: { source: { type: 'postgres', url: 'postgres://x/db' }, backup: { every: '1h' } },
    noarchive: {
      source: { type: 'postgres', url: 'postgres://x/db' },
      backup: { method: 'physical', wal_archive: false },
    },
    documented: {
      source: { type: 'postgres', url: 'postgres://x/db' },
      replication: { standby: 'db2 in the other room' },
    },
    secret: { source: { type: 'postgres', url: 'postgres://x/db' }, replication: { standby: 'env:STANDBY' } },
    cdn: { source: { type: 'external' } },
  },
} as unknown as Plan;

const ok = {
  id: 'v1',
  snapshotId: null,
  dataset: 'db',
  startedAt: ago(120),
  finishedAt: ago(60),
  ok: true,
  details: null,
  error: null,
} satisfies VerificationRecord;

/** Records of a dataset that is compliant on recency and proof. */
const fresh: DatasetRecords = {
  newestComplete: { id: 's1', startedAt: ago(60), resticSnapshotId: 'r1', runId: 'run1' } as SnapshotRecord,
  newestFailed: undefined,
  pending: [],
  backupRunning: false,
  latestVerification: ok,
  latestOkVerification: ok,
  verifiedSnapshot: undefined,
};

const observation: ArchiverObservation = {
  now: NOW,
  archiveMode: 'on',
  inRecovery: false,
  currentLsn: '0/5001000',
  segmentBytes: 16 * 1024 * 1024,
  archivedCount: 4,
  lastArchivedWal: '000000010000000000000004',
  lastArchivedTime: new Date(NOW.getTime() - 60_000),
  failedCount: 0,
  lastFailedWal: undefined,
  lastFailedTime: undefined,
};

const streaming: ReplicationReport = {
  standby: 'postgres://standby/db',
  status: 'streaming',
  reason: 'standby1 streams (async), replay 0 bytes, 0 s behind',
  applicationName: 'standby1',
  state: 'streaming',
  syncState: 'async',
  replayLagBytes: 0,
  replayLagSeconds: 0,
  maxLagSeconds: 60,
  withinMaxLag: true,
  error: null,
};

function rowWith(live: LiveObservation, records: DatasetRecords = fresh) {
  return datasetStatus(plan, { db: records }, NOW, { db: live }).find((r) => r.dataset === 'db')!;
}

describe('status with live exposure', () => {
  test('what is measured live: archiving for physical datasets that archive, a standby when named', () => {
    assert.deepEqual(liveTargets(plan, 'db'), { archive: true, standby: 'postgres://standby/db' });
    assert.deepEqual(liveTargets(plan, 'logical'), { archive: false, standby: null });
    assert.deepEqual(liveTargets(plan, 'noarchive'), { archive: false, standby: null });
    assert.deepEqual(liveTargets(plan, 'cdn'), { archive: false, standby: null });
    assert.deepEqual(
      liveTargets(plan, 'documented'),
      { archive: false, standby: null },
      'a name is for people',
    );
    assert.deepEqual(liveTargets(plan, 'secret'), { archive: false, standby: 'env:STANDBY' });
  });

  test('archiving that works and a standby that streams: compliant, every field present', () => {
    const row = rowWith({
      exposure: exposureReport(assessExposure(observation, 300)),
      replication: streaming,
    });
    assert.equal(row.compliant, true);
    assert.deepEqual(row.reasons, []);
    assert.deepEqual(row.warnings, []);
    assert.deepEqual(row.exposure, {
      status: 'ok',
      reason: 'a loss now would cost up to 60 s (4096 bytes of WAL not archived), within the RPO of 300 s',
      rpoSeconds: 300,
      exposureSeconds: 60,
      bytesNotArchived: 4096,
      withinRpo: true,
      lastArchived: { wal: '000000010000000000000004', at: ago(60), ageSeconds: 60 },
      failures: { count: 0, failing: false, lastWal: null, lastAt: null },
      currentLsn: '0/5001000',
      error: null,
    });
    assert.equal(row.replication, streaming);
  });

  test('failing archiving makes a fresh, verified dataset non-compliant, naming the failed segment', () => {
    const failing = assessExposure(
      {
        ...observation,
        failedCount: 3,
        lastFailedWal: '000000010000000000000005',
        lastFailedTime: new Date(NOW.getTime() - 10_000),
      },
      300,
    );
    const row = rowWith({ exposure: exposureReport(failing), replication: null });
    assert.equal(row.compliant, false);
    assert.equal(row.reasons.length, 1);
    assert.match(
      row.reasons[0]!,
      /^WAL archiving is failing: 3 failed attempts, the last for 000000010000000000000005 at 2026-11-23T11:59:50.000Z; 4096 bytes of WAL exist only on the primary$/,
    );
  });

  test('an exposure beyond the RPO, or archive_mode off, is a breach', () => {
    const late = exposureReport(
      assessExposure({ ...observation, lastArchivedTime: new Date(NOW.getTime() - 600_000) }, 300),
    );
    assert.match(rowWith({ exposure: late, replication: null }).reasons[0]!, /up to 10m of writes, RPO 5m/);
    const off = exposureReport(assessExposure({ ...observation, archiveMode: 'off' }, 300));
    assert.match(
      rowWith({ exposure: off, replication: null }).reasons[0]!,
      /^WAL is not archived: archive_mode is off/,
    );
  });

  test('a primary that cannot be reached: a warning with the error, compliance from the records alone', () => {
    const error = { message: 'PostgreSQL at db1:5432 is unreachable: refused', host: 'db1', port: 5432 };
    const unknown = { exposure: unknownExposure(300, error.message, error), replication: null };
    const row = rowWith(unknown);
    assert.equal(row.compliant, true);
    assert.deepEqual(row.warnings, ['live exposure unknown: PostgreSQL at db1:5432 is unreachable: refused']);
    assert.equal(row.exposure?.error?.host, 'db1');

    const behind = rowWith(unknown, { ...fresh, newestComplete: undefined });
    assert.deepEqual(behind.reasons, ['no recovery point yet']);
    assert.equal(behind.warnings.length, 1, 'a warning that explains no breach stays a warning');
  });

  test('a standby not streaming, or lagging beyond max_lag: warnings', () => {
    const down = rowWith({
      exposure: null,
      replication: {
        ...streaming,
        status: 'unreachable',
        reason: 'PostgreSQL at standby:5432 is unreachable: connection refused',
        replayLagBytes: null,
        replayLagSeconds: null,
        withinMaxLag: null,
        error: {
          message: 'PostgreSQL at standby:5432 is unreachable: connection refused',
          host: 'standby',
          port: 5432,
        },
      },
    });
    assert.equal(down.compliant, true);
    assert.deepEqual(down.warnings, [
      'standby postgres://standby/db: PostgreSQL at standby:5432 is unreachable: connection refused',
    ]);
    const lagging = rowWith({
      exposure: null,
      replication: { ...streaming, replayLagSeconds: 90, withinMaxLag: false },
    });
    assert.deepEqual(lagging.warnings, [
      'standby postgres://standby/db replays 1m30s behind, more than max_lag 1m',
    ]);
  });

  test('without live measurements the row says so with nulls', () => {
    const row = datasetStatus(plan, { db: fresh }, NOW).find((r) => r.dataset === 'db')!;
    assert.equal(row.exposure, null);
    assert.equal(row.replication, null);
    assert.equal(row.compliant, true);
  });
});
