import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OperationError, UsageError } from '../errors.js';
import type { SnapshotRecord, VerificationRecord } from '../state/store.js';
import { chooseRecoveryPoint, failedVerifications, parseTime } from './recovery-points.js';

function record(
  id: string,
  startedAt: string,
  units: string[],
  status: SnapshotRecord['status'] = 'complete',
): SnapshotRecord {
  return {
    id: `rec-${id}`,
    dataset: 'db',
    repository: 'local',
    resticSnapshotId: status === 'complete' ? id : null,
    planVersionId: null,
    sourceType: 'postgres',
    status,
    startedAt,
    finishedAt: startedAt,
    bytesAdded: 1,
    totalBytes: 1,
    durationMs: 1,
    fingerprint: null,
    error: null,
    tags: [],
    runId: `run-${id}`,
    units: units.map((u) => ({ kind: 'stream', filename: 'postgres/db.dump', snapshotId: u })),
    forgettingSince: null,
  };
}

const records = [
  record('aaaa1111', '2024-05-01T10:00:00.000Z', ['cccc0001']),
  record('aaaa2222', '2024-05-02T10:00:00.000Z', ['dddd0002']),
  record('bbbb3333', '2024-05-03T10:00:00.000Z', ['eeee0003']),
  record('ffff4444', '2024-05-04T10:00:00.000Z', [], 'failed'),
];

describe('chooseRecoveryPoint', () => {
  test('latest complete run by default; failed runs never count', () => {
    const point = chooseRecoveryPoint('db', records);
    assert.equal(point.snapshotId, 'bbbb3333');
    assert.equal(point.chosenBy, 'latest');
  });

  test('--snapshot: a prefix of the manifest id or of a unit snapshot id', () => {
    assert.equal(chooseRecoveryPoint('db', records, { snapshot: 'aaaa1' }).snapshotId, 'aaaa1111');
    assert.equal(chooseRecoveryPoint('db', records, { snapshot: 'DDDD' }).snapshotId, 'aaaa2222');
  });

  test('an ambiguous prefix is a UsageError listing the matches', () => {
    assert.throws(
      () => chooseRecoveryPoint('db', records, { snapshot: 'aaaa' }),
      (e: unknown) =>
        e instanceof UsageError &&
        /ambiguous/.test(e.message) &&
        /aaaa1111/.test(e.message) &&
        /aaaa2222/.test(e.message),
    );
  });

  test('an unknown or malformed id is a UsageError', () => {
    assert.throws(() => chooseRecoveryPoint('db', records, { snapshot: '1234' }), UsageError);
    assert.throws(() => chooseRecoveryPoint('db', records, { snapshot: 'x/y z' }), /not a recovery point id/);
    assert.throws(() => chooseRecoveryPoint('db', records, { snapshot: 'ffff' }), UsageError); // a failed run's id
  });

  test('a pgBackRest label is one id: whole, by a unique prefix in any case, ambiguous by its day', () => {
    const physical = [
      record('20261204-101500F', '2026-12-04T10:15:00.000Z', []),
      record('20261204-101500F_20261204-121500I', '2026-12-04T12:15:00.000Z', []),
    ];
    assert.equal(
      chooseRecoveryPoint('db', physical, { snapshot: '20261204-101500F' }).snapshotId,
      '20261204-101500F',
    );
    assert.equal(
      chooseRecoveryPoint('db', physical, { snapshot: '20261204-101500f_2' }).snapshotId,
      '20261204-101500F_20261204-121500I',
    );
    assert.throws(
      () => chooseRecoveryPoint('db', physical, { snapshot: '20261204' }),
      (e: unknown) =>
        e instanceof UsageError &&
        /ambiguous: it matches 2 recovery points/.test(e.message) &&
        /20261204-101500F_20261204-121500I \(/.test(e.message),
    );
    assert.throws(() => chooseRecoveryPoint('db', physical, { snapshot: '2026 12' }), UsageError);
  });

  test('--at: the newest run that started at or before the time', () => {
    assert.equal(chooseRecoveryPoint('db', records, { at: '2024-05-02T10:00:00Z' }).snapshotId, 'aaaa2222');
    assert.equal(chooseRecoveryPoint('db', records, { at: '2024-05-02 09:59Z' }).snapshotId, 'aaaa1111');
    assert.equal(chooseRecoveryPoint('db', records, { at: '2030-01-01' }).snapshotId, 'bbbb3333');
    assert.equal(chooseRecoveryPoint('db', records, { at: '2024-05-02T12:30+02:00' }).snapshotId, 'aaaa2222');
  });

  test('--at before the first backup says when the first recovery point is', () => {
    assert.throws(
      () => chooseRecoveryPoint('db', records, { at: '2024-04-30 12:00Z' }),
      (e: unknown) =>
        e instanceof UsageError && e.message.includes('2024-05-01T10:00:00.000Z') && e.exitCode === 2,
    );
  });

  test('no recovery point at all is an OperationError pointing at lifeboat backup', () => {
    assert.throws(
      () => chooseRecoveryPoint('db', [records[3]!]),
      (e: unknown) => e instanceof OperationError && e.hint === 'lifeboat backup db',
    );
  });

  test('--snapshot and --at together is a UsageError', () => {
    assert.throws(
      () => chooseRecoveryPoint('db', records, { snapshot: 'aaaa1', at: '2024-05-01' }),
      UsageError,
    );
  });
});

describe('parseTime', () => {
  test('ISO 8601 with a zone, and YYYY-MM-DD HH:MM in local time', () => {
    assert.equal(parseTime('2024-05-01T14:30:00Z').toISOString(), '2024-05-01T14:30:00.000Z');
    assert.equal(parseTime('2024-05-01T14:30:00.250-03:00').toISOString(), '2024-05-01T17:30:00.250Z');
    assert.equal(parseTime('2024-05-01 14:30 +0200').toISOString(), '2024-05-01T12:30:00.000Z');
    assert.equal(parseTime('2024-05-01 14:30').getTime(), new Date(2024, 4, 1, 14, 30).getTime());
    assert.equal(parseTime('2024-05-01').getTime(), new Date(2024, 4, 1).getTime());
  });

  test('rejects what is not a time', () => {
    for (const bad of [
      'yesterday',
      '2024-13-01',
      '2024-02-30 10:00',
      '2024-05-01 25:00',
      '2024-05-01T10:61Z',
      '',
    ]) {
      assert.throws(() => parseTime(bad), UsageError, bad);
    }
  });
});

describe('recovery points that failed their verification', () => {
  const check = (snapshotId: string, finishedAt: string, ok: boolean): VerificationRecord => ({
    id: `v-${snapshotId}-${finishedAt}`,
    snapshotId: `rec-${snapshotId}`,
    dataset: 'db',
    startedAt: finishedAt,
    finishedAt,
    ok,
    details: null,
    error: ok ? null : 'fingerprint differs',
  });

  test('only the last verification of each point counts', () => {
    const failed = failedVerifications([
      check('bbbb3333', '2024-05-05T00:00:00.000Z', false),
      check('aaaa2222', '2024-05-04T00:00:00.000Z', true),
      check('aaaa2222', '2024-05-03T12:00:00.000Z', false),
    ]);
    assert.deepEqual([...failed.keys()], ['rec-bbbb3333']);
  });

  test('latest and --at pass over them and say so; --snapshot still takes one', () => {
    const failed = failedVerifications([check('bbbb3333', '2024-05-05T00:00:00.000Z', false)]);
    const latest = chooseRecoveryPoint('db', records, {}, failed);
    assert.equal(latest.snapshotId, 'aaaa2222');
    assert.deepEqual(
      latest.skipped.map((s) => s.snapshotId),
      ['bbbb3333'],
    );
    assert.match(
      latest.chosenBy,
      /^latest that has not failed verification \(skipped bbbb3333: its verification failed at 2024-05-05T00:00:00.000Z: fingerprint differs\)$/,
    );
    assert.equal(
      chooseRecoveryPoint('db', records, { at: '2024-05-03T12:00Z' }, failed).snapshotId,
      'aaaa2222',
    );
    const named = chooseRecoveryPoint('db', records, { snapshot: 'bbbb' }, failed);
    assert.equal(named.snapshotId, 'bbbb3333');
    assert.deepEqual(named.skipped, []);
  });

  test('when every point failed, an OperationError says how to get a good one', () => {
    const failed = failedVerifications(
      ['aaaa1111', 'aaaa2222', 'bbbb3333'].map((id) => check(id, '2024-05-05T00:00:00.000Z', false)),
    );
    assert.throws(
      () => chooseRecoveryPoint('db', records, {}, failed),
      (e: unknown) =>
        e instanceof OperationError &&
        /every recovery point of 'db' failed its verification; the newest, bbbb3333/.test(e.message) &&
        /--snapshot bbbb3333/.test(e.hint ?? ''),
    );
  });

  test('a point a prune is forgetting is no recovery point', () => {
    const forgetting = records.map((r) =>
      r.resticSnapshotId === 'bbbb3333' ? { ...r, forgettingSince: '2024-05-06T00:00:00.000Z' } : r,
    );
    assert.equal(chooseRecoveryPoint('db', forgetting).snapshotId, 'aaaa2222');
  });
});
