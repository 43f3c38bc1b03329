import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvironmentError, RefusedError, UsageError } from '../../../errors.js';
import { planPhysicalBackup } from './backup.js';
import { assessExposure, bytesNotArchived, type ArchiverObservation } from './exposure.js';
import { parseInfo, type StanzaInfo } from '../../../engines/pgbackrest/info.js';
import { formatLsn, parseLsn, segmentStart } from '../../../engines/pgbackrest/lsn.js';
import { planPhysicalRestore, type PhysicalRestoreInput } from '../../../engines/pgbackrest/restore-plan.js';
import { planArchiving } from './setup.js';
import { parseRecoveryTarget, parseRecoveryTime } from '../../../engines/pgbackrest/target.js';

const MB16 = 16 * 1024 * 1024;
const t = (iso: string) => Date.parse(iso) / 1000;

function backup(label: string, type: string, start: string, stop: string, lsnStop: string) {
  return {
    label,
    type,
    timestamp: { start: t(start), stop: t(stop) },
    lsn: { start: '0/2000028', stop: lsnStop },
    archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
    info: { size: 1000, delta: 1000, repository: { size: 100, delta: 100 } },
    prior: type === 'full' ? null : 'x',
    error: false,
  };
}

const info: StanzaInfo = parseInfo(
  [
    {
      name: 'db',
      status: { code: 0, message: 'ok', lock: { backup: { held: false } } },
      db: [{ id: 1, version: '15', 'system-id': 1 }],
      archive: [{ id: '15-1', min: '000000010000000000000001', max: '000000010000000000000009' }],
      backup: [
        backup(
          '20240502-000000F_20240503-000000I',
          'incr',
          '2024-05-03T00:00:00Z',
          '2024-05-03T00:00:10Z',
          '0/6000100',
        ),
        backup('20240502-000000F', 'full', '2024-05-02T00:00:00Z', '2024-05-02T00:01:00Z', '0/3000100'),
      ],
    },
  ],
  'db',
);

describe('recovery targets', () => {
  test('times: ISO 8601 in UTC, a zone moved to UTC, microseconds kept', () => {
    assert.equal(parseRecoveryTime('2024-05-01T12:00:00Z').text, '2024-05-01 12:00:00+00');
    assert.equal(parseRecoveryTime('2024-05-01 14:30:05.123456+02:00').text, '2024-05-01 12:30:05.123456+00');
    assert.equal(parseRecoveryTime('2024-05-01T12:00').text, '2024-05-01 12:00:00+00');
    assert.equal(
      parseRecoveryTime('2024-05-01T00:30:00-0100').time.toISOString(),
      '2024-05-01T01:30:00.000Z',
    );
    for (const bad of ['yesterday', '2024-02-30T00:00:00Z', '2024-05-01', '12:00'])
      assert.throws(() => parseRecoveryTime(bad), UsageError, bad);
  });

  test('one target at most; LSNs normalized', () => {
    assert.deepEqual(parseRecoveryTarget({}), { type: 'default' });
    assert.deepEqual(parseRecoveryTarget({ lsn: '0/50000d8' }), { type: 'lsn', lsn: '0/50000D8' });
    assert.deepEqual(parseRecoveryTarget({ restorePoint: 'before-migration' }), {
      type: 'name',
      name: 'before-migration',
    });
    assert.throws(
      () => parseRecoveryTarget({ at: '2024-05-01T00:00:00Z', lsn: '0/1' }),
      /one recovery target/,
    );
    assert.throws(() => parseRecoveryTarget({ lsn: '5000' }), /not a PostgreSQL LSN/);
    assert.throws(() => parseRecoveryTarget({ restorePoint: 'x'.repeat(64) }), /1 to 63 bytes/);
  });

  test('LSNs and segment names as numbers', () => {
    assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
    assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
    assert.equal(segmentStart('000000010000000000000003', MB16), 3n * BigInt(MB16));
    assert.equal(segmentStart('0000000100000001000000FF', MB16), 0x1ff000000n);
    assert.equal(segmentStart('00000002.history', MB16), undefined);
  });
});

describe('planPhysicalRestore', () => {
  const input: PhysicalRestoreInput = {
    dataset: 'db',
    target: { type: 'default' },
    info,
    now: new Date('2024-05-04T00:00:00Z'),
    toDataDir: '/restore/data',
    toPort: 6543,
    targetDirState: 'missing',
    force: false,
    productionDataDir: '/var/lib/postgresql/15/main',
    restorePointLsn: undefined,
  };

  test('a time target picks the newest backup that ended before it, promotes, never archives', () => {
    const plan = planPhysicalRestore({
      ...input,
      target: parseRecoveryTarget({ at: '2024-05-02T12:00:00Z' }),
    });
    assert.equal(plan.set, '20240502-000000F');
    assert.deepEqual(plan.options, [
      '--pg1-path=/restore/data',
      '--set=20240502-000000F',
      '--type=time',
      '--target=2024-05-02 12:00:00+00',
      '--target-action=promote',
      '--archive-mode=off',
    ]);
    const later = planPhysicalRestore({
      ...input,
      target: parseRecoveryTarget({ at: '2024-05-03T06:00:00Z' }),
    });
    assert.equal(later.set, '20240502-000000F_20240503-000000I');
  });

  test('a time before the first backup names the earliest recoverable time', () => {
    assert.throws(
      () => planPhysicalRestore({ ...input, target: parseRecoveryTarget({ at: '2024-05-02T00:00:30Z' }) }),
      (e: unknown) =>
        e instanceof UsageError &&
        /before the first backup/.test(e.message) &&
        /2024-05-02T00:01:01.000Z/.test(e.hint ?? '') &&
        e.details?.earliestLsn === '0/3000100',
    );
    assert.throws(
      () => planPhysicalRestore({ ...input, target: parseRecoveryTarget({ lsn: '0/2FFFFFF' }) }),
      /before the first backup/,
    );
    assert.throws(
      () => planPhysicalRestore({ ...input, target: parseRecoveryTarget({ at: '2030-01-01T00:00:00Z' }) }),
      /in the future/,
    );
  });

  test('LSN and restore point targets choose their set by LSN', () => {
    const lsn = planPhysicalRestore({ ...input, target: parseRecoveryTarget({ lsn: '0/5000000' }) });
    assert.equal(lsn.set, '20240502-000000F');
    const name = planPhysicalRestore({
      ...input,
      target: parseRecoveryTarget({ restorePoint: 'rp' }),
      restorePointLsn: '0/4000000',
    });
    assert.equal(name.set, '20240502-000000F');
    assert.ok(name.options.includes('--type=name') && name.options.includes('--target=rp'));
    const unknown = planPhysicalRestore({ ...input, target: parseRecoveryTarget({ restorePoint: 'rp' }) });
    assert.equal(unknown.set, '20240502-000000F_20240503-000000I');
  });

  test('refusals: production data dir, a running or non-empty target without force', () => {
    assert.throws(
      () => planPhysicalRestore({ ...input, toDataDir: '/var/lib/postgresql/15/main/' }),
      RefusedError,
    );
    assert.throws(
      () => planPhysicalRestore({ ...input, targetDirState: 'running', force: true }),
      RefusedError,
    );
    assert.throws(() => planPhysicalRestore({ ...input, targetDirState: 'not-empty' }), RefusedError);
    const delta = planPhysicalRestore({ ...input, targetDirState: 'not-empty', force: true });
    assert.ok(delta.delta && delta.options.includes('--delta'));
  });

  test('a missing stanza and an empty one are told apart', () => {
    const missing = parseInfo([{ name: 'db', status: { code: 1, message: 'missing stanza path' } }], 'db');
    assert.throws(() => planPhysicalRestore({ ...input, info: missing }), EnvironmentError);
    const empty = parseInfo(
      [{ name: 'db', status: { code: 2, message: 'no valid backups' }, backup: [] }],
      'db',
    );
    assert.throws(() => planPhysicalRestore({ ...input, info: empty }), /no backup to restore/);
  });
});

describe('planPhysicalBackup', () => {
  const empty = parseInfo([{ name: 'db', status: { code: 2, message: 'no valid backups' } }], 'db');
  const week = 7 * 86_400;
  test('full first, full when full_every has passed, diff daily, incr otherwise', () => {
    assert.equal(
      planPhysicalBackup({ dataset: 'db', info: empty, now: new Date(), fullEverySeconds: week }).type,
      'full',
    );
    assert.equal(
      planPhysicalBackup({
        dataset: 'db',
        info: empty,
        now: new Date(),
        fullEverySeconds: week,
        requested: 'incr',
      }).type,
      'full',
    );
    const at = (iso: string) =>
      planPhysicalBackup({ dataset: 'db', info, now: new Date(iso), fullEverySeconds: week });
    assert.equal(at('2024-05-02T06:00:00Z').type, 'incr');
    assert.equal(at('2024-05-03T06:00:00Z').type, 'diff');
    assert.equal(at('2024-05-09T00:00:01Z').type, 'full');
  });
});

describe('planArchiving', () => {
  const current = {
    archive_mode: 'off',
    archive_command: '(disabled)',
    wal_level: 'replica',
    archive_timeout: '0',
  };
  test('archive_mode needs a restart, archive_command and archive_timeout a reload', () => {
    const plan = planArchiving({
      dataset: 'db',
      current,
      archiveCommand: 'pgbackrest ... archive-push %p',
      rpoSeconds: 300,
    });
    assert.deepEqual(
      plan.changes.map((c) => [c.name, c.to, c.takesEffect]),
      [
        ['archive_mode', 'on', 'restart'],
        ['archive_command', 'pgbackrest ... archive-push %p', 'reload'],
        ['archive_timeout', '150', 'reload'],
      ],
    );
    assert.equal(plan.restartRequired, true);
  });
  test('nothing to do when the settings hold', () => {
    const done = { archive_mode: 'on', archive_command: 'cmd', wal_level: 'logical', archive_timeout: '60' };
    assert.equal(
      planArchiving({ dataset: 'db', current: done, archiveCommand: 'cmd', rpoSeconds: 300 }).upToDate,
      true,
    );
    const minimal = planArchiving({
      dataset: 'db',
      current: { ...done, wal_level: 'minimal' },
      archiveCommand: 'cmd',
      rpoSeconds: undefined,
    });
    assert.deepEqual(
      minimal.changes.map((c) => c.name),
      ['wal_level'],
    );
  });
});

describe('assessExposure', () => {
  const now = new Date('2024-05-01T12:00:00Z');
  const obs: ArchiverObservation = {
    now,
    archiveMode: 'on',
    inRecovery: false,
    currentLsn: '0/5001000',
    segmentBytes: MB16,
    archivedCount: 4,
    lastArchivedWal: '000000010000000000000004',
    lastArchivedTime: new Date('2024-05-01T11:59:00Z'),
    failedCount: 0,
    lastFailedWal: undefined,
    lastFailedTime: undefined,
  };

  test('bytes after the end of the last archived segment; time since it was archived', () => {
    const e = assessExposure(obs, 300);
    assert.equal(e.bytesNotArchived, 0x1000);
    assert.equal(e.exposureSeconds, 60);
    assert.equal(e.status, 'ok');
    assert.equal(e.withinRpo, true);
  });

  test('nothing written since the last segment: no exposure however long ago', () => {
    const e = assessExposure(
      { ...obs, currentLsn: '0/5000000', lastArchivedTime: new Date('2024-05-01T00:00:00Z') },
      300,
    );
    assert.equal(e.exposureSeconds, 0);
    assert.equal(e.status, 'ok');
  });

  test('beyond the RPO is breached; failures since the last success are failing', () => {
    assert.equal(assessExposure(obs, 30).status, 'breached');
    const failing = assessExposure(
      {
        ...obs,
        failedCount: 3,
        lastFailedWal: '000000010000000000000005',
        lastFailedTime: new Date('2024-05-01T11:59:30Z'),
      },
      300,
    );
    assert.equal(failing.status, 'failing');
    assert.equal(failing.archiveFailing, true);
    assert.match(failing.summary, /3 failures/);
    const recovered = assessExposure(
      { ...obs, failedCount: 3, lastFailedTime: new Date('2024-05-01T11:00:00Z') },
      300,
    );
    assert.equal(recovered.archiveFailing, false);
  });

  test('archive_mode off, standby, never archived', () => {
    assert.equal(assessExposure({ ...obs, archiveMode: 'off' }, 300).status, 'not-archiving');
    assert.equal(assessExposure({ ...obs, inRecovery: true, currentLsn: undefined }, 300).status, 'standby');
    const never = assessExposure(
      { ...obs, archivedCount: 0, lastArchivedWal: undefined, lastArchivedTime: undefined },
      300,
    );
    assert.equal(never.status, 'unknown');
  });

  test('a .backup file proves only the segments before its own; the repository can prove more', () => {
    const backupFile = { ...obs, lastArchivedWal: '000000010000000000000005.00000028.backup' };
    assert.equal(bytesNotArchived(backupFile), 0x1000);
    assert.equal(bytesNotArchived({ ...backupFile, currentLsn: '0/6000000' }), MB16);
    assert.equal(
      bytesNotArchived({
        ...backupFile,
        currentLsn: '0/6000000',
        repositoryMaxWal: '000000010000000000000005',
      }),
      0,
    );
  });
});
