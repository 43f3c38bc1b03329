/** datasetStatus: compliance from records, a pure function, tested with records made inline. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import type { SnapshotRecord, VerificationRecord } from '../state/store.js';
import {
  backupInterval,
  datasetStatus,
  formatAge,
  verifyGrace,
  verifyInterval,
  type DatasetRecords,
} from './status.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
const H = 3600;

const plan = {
  version: 1,
  organization: 'Status Test',
  objectives: { rpo: '4h' },
  datasets: {
    db: { rpo: '1h', source: { type: 'postgres', url: 'postgres://x/db' }, backup: { every: '15m' } },
    files: { source: { type: 'files', paths: ['./f'] }, verify: { every: 'weekly' } },
    norpo: { source: { type: 'redis', url: 'redis://x' }, backup: { every: '6h' } },
    cdn: { source: { type: 'external', vendor: 'cloudflare' } },
    doc: { description: 'documented only' },
  },
} as unknown as Plan;

function snapshot(startedAgo: number, fields: Partial<SnapshotRecord> = {}): SnapshotRecord {
  return {
    id: `rec-${startedAgo}`,
    dataset: 'db',
    repository: 'local',
    resticSnapshotId: `restic-${startedAgo}`,
    planVersionId: null,
    sourceType: 'postgres',
    status: 'complete',
    startedAt: ago(startedAgo),
    finishedAt: ago(startedAgo - 30),
    bytesAdded: 1,
    totalBytes: 1,
    durationMs: 30_000,
    fingerprint: null,
    error: null,
    tags: [],
    runId: `run-${startedAgo}`,
    units: [],
    forgettingSince: null,
    ...fields,
  };
}

function verification(finishedAgo: number, ok = true, error: string | null = null): VerificationRecord {
  return {
    id: `v-${finishedAgo}`,
    snapshotId: null,
    dataset: 'db',
    startedAt: ago(finishedAgo + 60),
    finishedAt: ago(finishedAgo),
    ok,
    details: null,
    error,
  };
}

function records(fields: Partial<DatasetRecords>): DatasetRecords {
  return {
    newestComplete: undefined,
    newestFailed: undefined,
    pending: [],
    backupRunning: false,
    latestVerification: undefined,
    latestOkVerification: undefined,
    verifiedSnapshot: undefined,
    ...fields,
  };
}

const rowOf = (dataset: string, r: DatasetRecords | undefined) =>
  datasetStatus(plan, r ? { [dataset]: r } : {}, NOW).find((row) => row.dataset === dataset)!;

describe('datasetStatus', () => {
  test('one row per dataset in plan order', () => {
    assert.deepEqual(
      datasetStatus(plan, {}, NOW).map((r) => r.dataset),
      ['db', 'files', 'norpo', 'cdn', 'doc'],
    );
  });

  test('compliant: a fresh recovery point and a recent passing verification', () => {
    const ok = verification(2 * H);
    const row = rowOf(
      'db',
      records({
        newestComplete: snapshot(20 * 60),
        latestVerification: ok,
        latestOkVerification: ok,
        verifiedSnapshot: snapshot(3 * H),
      }),
    );
    assert.equal(row.compliant, true);
    assert.deepEqual(row.reasons, []);
    assert.equal(row.rpoSeconds, H);
    assert.equal(row.newest?.ageSeconds, 20 * 60);
    assert.equal(row.newest?.snapshotId, 'restic-1200');
    assert.equal(row.verified?.recoveryPointAgeSeconds, 3 * H);
    assert.equal(row.verified?.snapshotId, `restic-${3 * H}`);
  });

  test('nothing recorded: no recovery point and never verified', () => {
    const row = rowOf('db', undefined);
    assert.equal(row.compliant, false);
    assert.deepEqual(row.reasons, ['no recovery point yet', 'never verified']);
  });

  test('a recovery point older than the RPO breaches it; its age counts from the backup start', () => {
    const ok = verification(H);
    const row = rowOf(
      'db',
      records({ newestComplete: snapshot(3 * H), latestOkVerification: ok, latestVerification: ok }),
    );
    assert.equal(row.compliant, false);
    assert.deepEqual(row.reasons, ['newest recovery point is 3h old, RPO 1h']);
  });

  test('the RPO is inherited from objectives, or else the backup cadence is the bound', () => {
    assert.equal(rowOf('files', undefined).rpoSeconds, 4 * H);
    const norpo = { ...plan, objectives: {} } as Plan;
    const row = datasetStatus(norpo, { norpo: records({ newestComplete: snapshot(7 * H) }) }, NOW).find(
      (r) => r.dataset === 'norpo',
    )!;
    assert.equal(row.rpoSeconds, null);
    assert.equal(row.recencyTargetSeconds, 6 * H);
    assert.match(row.reasons[0]!, /7h old, backup every 6h \(no RPO in the plan\)/);
  });

  test('verification: within the cadence plus a quarter of it (at most 1h) passes; later does not', () => {
    assert.equal(verifyInterval(plan, 'db'), 86_400);
    assert.equal(verifyGrace(86_400), H);
    assert.equal(verifyGrace(H), 900);
    const within = verification(86_400 + 59 * 60);
    const late = verification(86_400 + 61 * 60);
    assert.equal(
      rowOf(
        'db',
        records({ newestComplete: snapshot(60), latestOkVerification: within, latestVerification: within }),
      ).compliant,
      true,
    );
    const row = rowOf(
      'db',
      records({ newestComplete: snapshot(60), latestOkVerification: late, latestVerification: late }),
    );
    assert.equal(row.compliant, false);
    assert.deepEqual(row.reasons, ['last verified 1d1h1m ago, verify every 1d']);
    // weekly verification for `files`
    const weekOld = verification(6 * 86_400);
    assert.equal(
      rowOf(
        'files',
        records({ newestComplete: snapshot(60), latestOkVerification: weekOld, latestVerification: weekOld }),
      ).compliant,
      true,
    );
  });

  test('a failure newer than the newest recovery point is a warning while the targets hold, a reason when not', () => {
    const ok = verification(H);
    const failed = snapshot(5 * 60, {
      status: 'failed',
      resticSnapshotId: null,
      error: 'pg_dump: connection refused',
    });
    const holding = rowOf(
      'db',
      records({
        newestComplete: snapshot(20 * 60),
        newestFailed: failed,
        latestOkVerification: ok,
        latestVerification: ok,
      }),
    );
    assert.equal(holding.compliant, true);
    assert.deepEqual(holding.reasons, []);
    assert.deepEqual(holding.warnings, ['last backup failed 5m ago: pg_dump: connection refused']);
    assert.equal(holding.lastFailure?.error, 'pg_dump: connection refused');

    const breached = rowOf(
      'db',
      records({
        newestComplete: snapshot(2 * H),
        newestFailed: failed,
        latestOkVerification: ok,
        latestVerification: ok,
      }),
    );
    assert.deepEqual(breached.reasons, [
      'newest recovery point is 2h old, RPO 1h',
      'last backup failed 5m ago: pg_dump: connection refused',
    ]);
    assert.deepEqual(breached.warnings, []);

    const older = rowOf(
      'db',
      records({
        newestComplete: snapshot(20 * 60),
        newestFailed: snapshot(H, { status: 'failed', error: 'old' }),
        latestOkVerification: ok,
      }),
    );
    assert.equal(older.lastFailure, null, 'a failure older than the newest recovery point is history');
  });

  test('a pending run whose process is gone is shown as interrupted; one whose process runs, as running', () => {
    const pending = snapshot(10 * 60, { status: 'pending', resticSnapshotId: null, finishedAt: null });
    const dead = rowOf('db', records({ newestComplete: snapshot(2 * H), pending: [pending] }));
    assert.equal(dead.lastFailure?.interrupted, true);
    assert.equal(dead.running, null);
    assert.match(
      dead.reasons.join('\n'),
      /last backup was interrupted 10m ago: the process running it ended before it completed/,
    );
    const live = rowOf(
      'db',
      records({ newestComplete: snapshot(2 * H), pending: [pending], backupRunning: true }),
    );
    assert.equal(live.lastFailure, null);
    assert.deepEqual(live.running, { since: pending.startedAt });
  });

  test('a verification that failed after the last pass is reported', () => {
    const ok = verification(5 * H);
    const bad = verification(H, false, 'fingerprint differs: public.orders');
    const row = rowOf(
      'db',
      records({ newestComplete: snapshot(60), latestOkVerification: ok, latestVerification: bad }),
    );
    assert.equal(row.compliant, true);
    assert.deepEqual(row.warnings, ['last verification failed 1h ago: fingerprint differs: public.orders']);
  });

  test('the newest recovery point failing its verification breaches; an older one failing does not', () => {
    const newest = snapshot(10 * 60);
    const ok = verification(5 * 60);
    const bad = { ...verification(2 * 60, false, 'restic: pack damaged'), snapshotId: newest.id };
    const row = rowOf(
      'db',
      records({
        newestComplete: newest,
        latestOkVerification: ok,
        latestVerification: bad,
        newestVerification: bad,
      }),
    );
    assert.equal(row.compliant, false);
    assert.deepEqual(row.reasons, [
      'newest recovery point restic-6 failed its verification 2m ago: restic: pack damaged; restore skips it until a new backup replaces it',
    ]);
    assert.equal(row.newestFailedVerification?.error, 'restic: pack damaged');

    const older = { ...bad, snapshotId: 'rec-older' };
    const fine = rowOf(
      'db',
      records({ newestComplete: newest, latestOkVerification: ok, latestVerification: older }),
    );
    assert.equal(fine.compliant, true);
    assert.equal(fine.newestFailedVerification, null);
  });

  test('datasets Lifeboat does not back up are not judged', () => {
    const cdn = rowOf('cdn', undefined);
    assert.equal(cdn.protected, false);
    assert.equal(cdn.compliant, null);
    assert.match(
      cdn.note!,
      /not protected by Lifeboat: external, kept by its provider \(vendor cloudflare\)/,
    );
    const doc = rowOf('doc', undefined);
    assert.equal(doc.compliant, null);
    assert.match(doc.note!, /no source/);
  });
});

describe('cadences and ages', () => {
  test('backup interval: backup.every, else the RPO, else daily; never below a minute', () => {
    assert.equal(backupInterval(plan, 'db'), 900);
    assert.equal(backupInterval(plan, 'files'), 4 * H);
    assert.equal(backupInterval({ ...plan, objectives: {} } as Plan, 'files'), 86_400);
    const continuous = {
      ...plan,
      datasets: { c: { source: { type: 'files', paths: ['x'] }, backup: { every: 'continuous' } } },
    } as unknown as Plan;
    assert.equal(backupInterval(continuous, 'c'), 60);
  });

  test('ages read well', () => {
    assert.equal(formatAge(42), '42s');
    assert.equal(formatAge(25 * 60 + 10), '25m');
    assert.equal(formatAge(3 * H + 29), '3h');
    assert.equal(formatAge(26 * H + 30 * 60), '1d2h30m');
    assert.equal(formatAge(3 * 86_400 + 5 * H + 20 * 60), '3d5h');
  });
});
