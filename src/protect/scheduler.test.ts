/**
 * The scheduler: `dueWork` as a pure function of plan, records and time; the loop with
 * stand-in executors (what runs when, how often, what a failure or a stop does).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import type { SnapshotRecord, VerificationRecord } from '../state/store.js';
import { createProtectContext, type ProtectContext } from './context.js';
import {
  dueWork,
  nextBackupAt,
  retryDelay,
  runScheduler,
  slotAfter,
  type Executors,
  type ScheduleRecords,
  type SchedulerLogEntry,
} from './scheduler.js';
import type { DatasetRecords } from './status.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
const H = 3600;

const plan = {
  version: 1,
  organization: 'Scheduler Test',
  datasets: {
    db: { rpo: '1h', source: { type: 'postgres', url: 'postgres://x/db' }, backup: { every: '15m' } },
    nightly: {
      source: { type: 'files', paths: ['x'] },
      backup: { every: 'daily', at: '02:00', repository: 'offsite' },
    },
    cache: { source: { type: 'redis', url: 'redis://x' }, backup: { every: '1h' }, verify: { every: '6h' } },
    cdn: { source: { type: 'external' } },
  },
  repositories: { offsite: { url: '/tmp/offsite' } },
} as unknown as Plan;

const complete = (startedAgo: number): SnapshotRecord =>
  ({
    id: `c${startedAgo}`,
    status: 'complete',
    startedAt: ago(startedAgo),
    finishedAt: ago(startedAgo - 10),
    resticSnapshotId: 'x',
    runId: 'r',
  }) as SnapshotRecord;
const failed = (startedAgo: number): SnapshotRecord =>
  ({
    id: `f${startedAgo}`,
    status: 'failed',
    startedAt: ago(startedAgo),
    finishedAt: ago(startedAgo - 5),
    error: 'boom',
  }) as SnapshotRecord;
const verified = (finishedAgo: number, ok = true): VerificationRecord =>
  ({
    id: `v${finishedAgo}`,
    ok,
    finishedAt: ago(finishedAgo),
    startedAt: ago(finishedAgo + 60),
  }) as VerificationRecord;

function dataset(fields: Partial<DatasetRecords> = {}): DatasetRecords {
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

const keys = (records: ScheduleRecords, now = NOW) => dueWork(plan, records, now).map((w) => w.key);

describe('slots', () => {
  test('slotAfter is the first HH:MM UTC after a time', () => {
    assert.equal(
      slotAfter(new Date('2026-11-23T01:59:00Z'), '02:00').toISOString(),
      '2026-11-23T02:00:00.000Z',
    );
    assert.equal(
      slotAfter(new Date('2026-11-23T02:00:00Z'), '02:00').toISOString(),
      '2026-11-24T02:00:00.000Z',
    );
    assert.equal(
      slotAfter(new Date('2026-11-23T23:30:00Z'), '02:00').toISOString(),
      '2026-11-24T02:00:00.000Z',
    );
  });

  test('a daily backup at 02:00 stays at 02:00, whenever the last one started', () => {
    const next = (last: string) => nextBackupAt(plan, 'nightly', new Date(last)).toISOString();
    assert.equal(next('2026-11-23T02:00:00Z'), '2026-11-24T02:00:00.000Z', 'on time');
    assert.equal(next('2026-11-23T02:00:05Z'), '2026-11-24T02:00:00.000Z', 'a few seconds late');
    assert.equal(next('2026-11-23T02:40:00Z'), '2026-11-24T02:00:00.000Z', 'started late');
    assert.equal(next('2026-11-23T15:00:00Z'), '2026-11-24T02:00:00.000Z', 'run by hand in the afternoon');
    assert.equal(
      next('2026-11-23T01:59:00Z'),
      '2026-11-23T02:00:00.000Z',
      'a run just before the slot does not replace it',
    );
  });

  test('without at, or below a day, the next backup is simply `every` after the last', () => {
    assert.equal(
      nextBackupAt(plan, 'db', new Date('2026-11-23T10:07:00Z')).toISOString(),
      '2026-11-23T10:22:00.000Z',
    );
  });

  test('retry delay: a quarter of the cadence, between a minute and an hour', () => {
    assert.equal(retryDelay(900), 225);
    assert.equal(retryDelay(60), 60);
    assert.equal(retryDelay(86_400), 3600);
  });
});

describe('dueWork', () => {
  test('nothing recorded: a backup of every protected dataset, nothing else', () => {
    assert.deepEqual(keys({ datasets: {}, prunes: {} }), ['backup:db', 'backup:nightly', 'backup:cache']);
    const [first] = dueWork(plan, { datasets: {}, prunes: {} }, NOW);
    assert.deepEqual(first, {
      kind: 'backup',
      key: 'backup:db',
      dataset: 'db',
      repository: 'local',
      reason: 'no recovery point yet',
    });
  });

  test('backups fall due by cadence (and at their slot), then verifications and prunes', () => {
    const records: ScheduleRecords = {
      datasets: {
        db: dataset({
          newestComplete: complete(16 * 60),
          latestOkVerification: verified(H),
          latestVerification: verified(H),
        }),
        nightly: dataset({ newestComplete: complete(10 * H) }), // last at 02:00, next at 02:00 tomorrow
        cache: dataset({
          newestComplete: complete(10 * 60),
          latestOkVerification: verified(7 * H),
          latestVerification: verified(7 * H),
        }),
      },
      prunes: { local: { lastOk: ago(2 * H) } },
    };
    assert.deepEqual(keys(records), ['backup:db', 'verify:nightly', 'verify:cache', 'prune:offsite']);
    const db = dueWork(plan, records, NOW)[0]!;
    assert.equal(db.reason, 'newest recovery point is 16m old, every 15m');
    // The next day at 02:00 the nightly backup is due, with its slot in the reason.
    const tomorrow = new Date('2026-11-24T02:00:00Z');
    const nightly = dueWork(plan, records, tomorrow).find((w) => w.key === 'backup:nightly');
    assert.match(nightly!.reason, /every 1d at 02:00 UTC/);
  });

  test('a failed backup waits for the retry delay; so does one the scheduler saw fail', () => {
    const records = (
      fields: Partial<DatasetRecords>,
      failures?: Record<string, string>,
    ): ScheduleRecords => ({
      datasets: {
        db: dataset(fields),
        nightly: dataset({ newestComplete: complete(60), backupRunning: true }),
        cache: dataset({ newestComplete: complete(60) }),
      },
      prunes: {},
      ...(failures ? { failures } : {}),
    });
    const due = (r: ScheduleRecords) => keys(r).filter((k) => k.startsWith('backup:'));
    assert.deepEqual(
      due(records({ newestComplete: complete(2 * H), newestFailed: failed(60) })),
      [],
      'failed a minute ago: wait',
    );
    assert.deepEqual(
      due(records({ newestComplete: complete(2 * H), newestFailed: failed(300) })),
      ['backup:db'],
      'retry after 225 s',
    );
    assert.deepEqual(
      due(records({ newestComplete: complete(2 * H) }, { 'backup:db': ago(30) })),
      [],
      'failure seen by the scheduler',
    );
    assert.deepEqual(
      due(records({ newestComplete: complete(2 * H), newestFailed: failed(3 * H) })),
      ['backup:db'],
      'an old failure does not hold',
    );
  });

  test('a backup running elsewhere (its lock is held) is not started again', () => {
    const records: ScheduleRecords = { datasets: { db: dataset({ backupRunning: true }) }, prunes: {} };
    assert.ok(!keys(records).includes('backup:db'));
  });

  test('verify: due when no pass within verify.every (default daily); a recent failure holds it', () => {
    const withVerify = (ok?: VerificationRecord, last?: VerificationRecord): ScheduleRecords => ({
      datasets: {
        db: dataset({
          newestComplete: complete(60),
          latestOkVerification: ok,
          latestVerification: last ?? ok,
        }),
      },
      prunes: { local: { lastOk: ago(60) } },
    });
    assert.ok(keys(withVerify()).includes('verify:db'));
    assert.ok(!keys(withVerify(verified(23 * H))).includes('verify:db'));
    assert.ok(keys(withVerify(verified(25 * H))).includes('verify:db'));
    assert.ok(
      !keys(withVerify(verified(25 * H), verified(10 * 60, false))).includes('verify:db'),
      'failed 10 min ago: wait an hour',
    );
    assert.ok(keys(withVerify(verified(25 * H), verified(2 * H, false))).includes('verify:db'));
  });

  test('prune: daily per repository holding a recovery point; a failure is retried after an hour', () => {
    const r = (prune: ScheduleRecords['prunes'][string]): ScheduleRecords => ({
      datasets: { db: dataset({ newestComplete: complete(60), latestOkVerification: verified(60) }) },
      prunes: { local: prune },
    });
    assert.ok(keys(r({})).includes('prune:local'));
    assert.ok(!keys(r({ lastOk: ago(23 * H) })).includes('prune:local'));
    assert.ok(keys(r({ lastOk: ago(25 * H) })).includes('prune:local'));
    assert.ok(!keys(r({ lastOk: ago(25 * H), lastFailed: ago(60) })).includes('prune:local'));
    assert.ok(!keys(r({})).includes('prune:offsite'), 'nothing to prune where nothing was backed up');
  });
});

// ---------------------------------------------------------------------------------------------
// The loop

describe('runScheduler', () => {
  let dir: string;
  let context: ProtectContext;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-scheduler-'));
    writeFileSync(
      join(dir, 'lifeboat.yaml'),
      `version: 1
organization: Scheduler Loop
document: { next_review: 2099-01-01 }
repositories:
  offsite: { url: ./offsite }
datasets:
  a: { rpo: 1h, source: { type: files, paths: [./a] }, backup: { every: 15m } }
  b: { rpo: 1h, source: { type: files, paths: [./b] }, backup: { every: 15m } }
  c: { rpo: 1h, source: { type: files, paths: [./c] }, backup: { every: 15m, repository: offsite } }
`,
    );
    context = createProtectContext(loadPlanFile(join(dir, 'lifeboat.yaml')), {
      ...process.env,
      LIFEBOAT_HOME: join(dir, '.lifeboat'),
    });
  });
  after(async () => {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  /** Executors that only record what ran, and when. */
  function recorder(behaviour: (dataset: string, signal: AbortSignal) => Promise<void> = () => sleep(50)) {
    const calls: { key: string; start: number; end: number }[] = [];
    const active = new Set<string>();
    let overlapSameRepository = false;
    const wrap =
      (kind: string, repositoryOf: (target: string) => string) =>
      async (_c: ProtectContext, target: string, signal: AbortSignal) => {
        const repository = repositoryOf(target);
        if (active.has(repository)) overlapSameRepository = true;
        active.add(repository);
        const call = { key: `${kind}:${target}`, start: Date.now(), end: 0 };
        calls.push(call);
        try {
          await behaviour(target, signal);
          return { ok: true, message: 'done' };
        } finally {
          call.end = Date.now();
          active.delete(repository);
        }
      };
    const repositoryOf = (d: string) => (d === 'c' ? 'offsite' : 'local');
    const executors: Executors = {
      backup: wrap('backup', repositoryOf),
      verify: wrap('verify', repositoryOf),
      prune: wrap('prune', (r) => r),
    };
    return { calls, executors, overlap: () => overlapSameRepository };
  }

  test('--once runs each due piece once, one per repository at a time, repositories side by side', async () => {
    const { calls, executors, overlap } = recorder(() => sleep(150));
    const log: SchedulerLogEntry[] = [];
    const summary = await runScheduler(context, {
      once: true,
      tickMs: 20,
      executors,
      log: (e) => log.push(e),
    });
    assert.deepEqual(calls.map((c) => c.key).sort(), ['backup:a', 'backup:b', 'backup:c']);
    assert.equal(overlap(), false, 'never two pieces of work on one repository at once');
    const [a, b, c] = ['backup:a', 'backup:b', 'backup:c'].map((k) => calls.find((x) => x.key === k)!);
    assert.ok(b!.start >= a!.end, 'b waited for a (same repository)');
    assert.ok(c!.start < a!.end, 'c (another repository) ran beside a');
    assert.deepEqual(summary, { started: 3, ok: 3, failed: 0 });
    const events = log.map((e) => e.event);
    assert.equal(events[0], 'scheduler-start');
    assert.equal(events.at(-1), 'scheduler-stop');
    assert.equal(events.filter((e) => e === 'start').length, 3);
    assert.equal(events.filter((e) => e === 'ok').length, 3);
    assert.equal(log[1]!.reason, 'no recovery point yet');
  });

  test('a failing piece of work is logged and not retried before its delay; the rest goes on', async () => {
    const { calls, executors } = recorder();
    executors.backup = async (_c, dataset) => {
      calls.push({ key: `backup:${dataset}`, start: Date.now(), end: Date.now() });
      if (dataset === 'a') throw new Error('disk on fire');
      await sleep(5);
      return { ok: dataset !== 'b', message: dataset === 'b' ? 'source unreachable' : 'ok' };
    };
    const stop = new AbortController();
    const log: SchedulerLogEntry[] = [];
    const running = runScheduler(context, {
      tickMs: 20,
      executors,
      signal: stop.signal,
      log: (e) => log.push(e),
    });
    await sleep(400); // ~20 ticks
    stop.abort();
    const summary = await running;
    assert.equal(calls.filter((c) => c.key === 'backup:a').length, 1, 'a failure waits for its retry delay');
    assert.equal(calls.filter((c) => c.key === 'backup:b').length, 1);
    const failure = log.find((e) => e.event === 'failed' && e.dataset === 'a');
    assert.match(failure!.message!, /internal error: Error: disk on fire/);
    assert.equal(log.find((e) => e.event === 'failed' && e.dataset === 'b')?.message, 'source unreachable');
    // c "succeeds" without recording anything, so it stays due: it ran again, tick after tick.
    assert.ok(calls.filter((c) => c.key === 'backup:c').length > 1);
    assert.equal(summary.failed, 2);
  });

  test('a stop aborts the running backup, starts nothing new, and returns once it has ended', async () => {
    const { calls, executors } = recorder(
      (_d, signal) =>
        new Promise<void>((resolve) => {
          // Stands in for restic: ends soon after it is told to stop.
          signal.addEventListener('abort', () => setTimeout(resolve, 100), { once: true });
        }),
    );
    const stop = new AbortController();
    const log: SchedulerLogEntry[] = [];
    const running = runScheduler(context, {
      tickMs: 20,
      executors,
      signal: stop.signal,
      log: (e) => log.push(e),
    });
    await sleep(200);
    const startedBeforeStop = calls.length;
    const stoppedAt = Date.now();
    stop.abort();
    stop.abort(); // a second signal changes nothing
    await running;
    assert.equal(calls.length, startedBeforeStop, 'nothing started after the stop');
    assert.equal(startedBeforeStop, 2, 'one per repository was running: a and c');
    assert.ok(
      calls.every((c) => c.end >= stoppedAt),
      'the scheduler waited for the aborted work to end',
    );
    assert.equal(log.filter((e) => e.event === 'scheduler-stop').length, 1);
    assert.equal(log.filter((e) => e.event === 'stopping').length, 1);
  });
});
