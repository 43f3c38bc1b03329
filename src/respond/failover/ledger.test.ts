/**
 * Failover judged by a ledger of its own: every write pgbouncer's client was told had
 * committed (id, time, the port of the server that answered), compared afterwards with the
 * rows of both servers, read directly. `lifeboat watch` runs as a user runs it (a child
 * process, `detect_after` at its default of 3s, a scenario that decides `automatic`), with
 * a synchronous standby and pgbouncer at the README's failover settings. Each fault must
 * lose no acknowledged write, let the old primary acknowledge nothing once the standby is
 * promoted, and bring writes back through pgbouncer within its RTO bound.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { query } from '../../stores/postgres/sql.js';
import { stopAll } from '../../system/instance.js';
import { killPostmasterTree, livePostmasterPid, processAlive } from '../../system/process.js';
import { FENCED_NOTE } from './read-only-hold.js';
import {
  checkLedger,
  compareLedger,
  postgresTree,
  signalEach,
  startOldPrimaryReadOnly,
  startWatchedCluster,
  watchPromotion,
  type PromotionWatch,
  type WatchedCluster,
} from './testing/ledger.js';

after(() => stopAll());

interface FailedOver {
  faultAt: number;
  promotion: PromotionWatch;
  /** Seconds from the fault to the watch's `failed-over` event (its own view, for the diagnostic). */
  eventSeconds: number;
  lostAs: unknown;
}

/** Injects the fault, then waits for the watch to fail over and the new primary to acknowledge a write. */
async function failOver(s: WatchedCluster, inject: () => void): Promise<FailedOver> {
  const promotion = watchPromotion(s.cluster.standby.server.url);
  const faultAt = Date.now();
  inject();
  const lost = await s.watcher.next('lost', 30_000);
  const done = await s.watcher.next('failed-over', 40_000);
  await s.writer.waitForAck((a) => a.port === s.newPort, 30_000);
  return {
    faultAt,
    promotion,
    eventSeconds: (Date.parse(String(done.at)) - faultAt) / 1000,
    lostAs: lost.failure,
  };
}

/** Stops the writer, reads both servers and judges the ledger: nothing lost, nothing from the old primary after promotion, the RTO. */
async function judge(
  t: TestContext,
  s: WatchedCluster,
  run: FailedOver,
  rtoBoundSeconds: number,
): Promise<void> {
  // A little more writing on the new primary: a late answer from the old one would show.
  await sleep(500);
  await s.writer.stop();
  run.promotion.stop();
  await startOldPrimaryReadOnly(s.cluster);
  const check = await checkLedger({
    acks: s.writer.acks,
    oldPort: s.oldPort,
    newPort: s.newPort,
    oldUrl: s.cluster.primary.url,
    newUrl: s.cluster.standby.server.url,
    faultAt: run.faultAt,
    promotedAt: run.promotion.promotedAt,
  });
  const rto = check.rtoSeconds;
  t.diagnostic(
    `RTO ${rto?.toFixed(2) ?? 'none'} s (bound ${rtoBoundSeconds} s); lost as ${String(run.lostAs)}; ` +
      `failed-over event at ${run.eventSeconds.toFixed(2)} s; promotion seen at ` +
      `${run.promotion.promotedAt === undefined ? '?' : ((run.promotion.promotedAt - run.faultAt) / 1000).toFixed(2)} s; ` +
      `acknowledged ${check.acknowledged} (old ${check.acknowledgedByOld}, new ${check.acknowledgedByNew}); ` +
      `unacknowledged rows on the old primary only: ${check.onOldOnly}`,
  );
  assert.deepEqual(check.lost, [], 'acknowledged writes missing on the new primary');
  assert.deepEqual(check.oldAfterPromotion, [], 'writes the old primary acknowledged after the promotion');
  assert.deepEqual(check.notWhereAcknowledged, [], 'acknowledged by a server that lacks the row');
  assert.ok(check.acknowledgedByOld > 0 && check.acknowledgedByNew > 0, 'writes on both sides of the fault');
  assert.ok(rto !== undefined && rto <= rtoBoundSeconds, `RTO ${rto} s, bound ${rtoBoundSeconds} s`);
}

/** The frozen processes that still exist (a zombie does not). */
const alive = (pids: readonly number[]) => pids.filter((pid) => processAlive(pid));

/** Sends SIGSTOP to every process of the old primary; returns them. */
function freeze(s: WatchedCluster): number[] {
  const pids = postgresTree(s.cluster.pg.dataDir);
  signalEach(pids, 'SIGSTOP');
  return pids;
}

test('the ledger check catches a lost write, a late answer from the old primary and a misplaced row', () => {
  const ack = (id: number, at: number, port: number) => ({ id, at, port, server: '' });
  // Old primary on 1, new on 2; the fault at 100, the standby seen promoted at 200.
  const acks = [ack(1, 50, 1), ack(2, 90, 1), ack(3, 210, 2), ack(4, 205, 1), ack(5, 220, 2)];
  const check = compareLedger(
    { acks, oldPort: 1, newPort: 2, faultAt: 100, promotedAt: 200 },
    new Set([1, 2, 4, 9]),
    new Set([1, 3]),
  );
  assert.deepEqual(check.lost, [2, 4, 5]);
  assert.deepEqual(check.oldAfterPromotion, [4], 'after the promotion, and after the new primary answered');
  assert.deepEqual(check.notWhereAcknowledged, [5]);
  assert.equal(check.onOldOnly, 3);
  assert.equal(check.rtoSeconds, 0.11);
});

describe('failover judged by a ledger (lifeboat watch, detect_after 3s, sync standby, pgbouncer)', () => {
  test('crash: SIGKILL of the postmaster and its children; RTO ≤ 5 s', async (t) => {
    const s = await startWatchedCluster();
    try {
      const run = await failOver(s, () => assert.ok(killPostmasterTree(s.cluster.pg.dataDir)));
      await judge(t, s, run, 5);
    } finally {
      await s.stop();
    }
  });

  test('freeze of 10 s: SIGSTOP of the postmaster and all its children, SIGCONT after 10 s; RTO ≤ 15 s', async (t) => {
    const s = await startWatchedCluster();
    let frozen: number[] = [];
    try {
      const run = await failOver(s, () => (frozen = freeze(s)));
      await sleep(Math.max(0, run.faultAt + 10_000 - Date.now()));
      const resumed = signalEach(frozen, 'SIGCONT');
      assert.deepEqual(resumed, [], 'the fence killed every frozen process before the freeze ended');
      await judge(t, s, run, 15);
    } finally {
      signalEach(frozen, 'SIGCONT');
      await s.stop();
    }
  });

  test('freeze of 90 s: the fence kills the frozen primary within seconds; RTO ≤ 15 s', async (t) => {
    const s = await startWatchedCluster();
    let frozen: number[] = [];
    try {
      const run = await failOver(s, () => (frozen = freeze(s)));
      // The test need not last 90 s: once the frozen processes are gone, the freeze is over.
      assert.deepEqual(alive(frozen), [], 'the frozen processes are gone');
      await judge(t, s, run, 15);
    } finally {
      signalEach(frozen, 'SIGCONT');
      await s.stop();
    }
  });

  test('restart of the old primary after the failover: it takes no write, whatever synchronous_commit says', async (t) => {
    const s = await startWatchedCluster();
    try {
      const run = await failOver(s, () => assert.ok(killPostmasterTree(s.cluster.pg.dataDir)));
      const dir = s.cluster.pg.dataDir;
      assert.ok(existsSync(join(dir, 'standby.signal')), 'the old primary is marked');
      assert.match(readFileSync(join(dir, FENCED_NOTE), 'utf8'), /was promoted/);
      // A reboot or a service manager starts it as it is, while the writer goes on.
      await s.cluster.primary.start();
      await assert.rejects(
        query(s.cluster.primary.url, 'SET synchronous_commit = local; INSERT INTO writes VALUES (-1)'),
        /read-only transaction/,
      );
      await sleep(1000);
      await judge(t, s, run, 5);
    } finally {
      await s.stop();
    }
  });

  test('a hung postmaster that still accepts TCP (SIGSTOP of the postmaster only, backends running); RTO ≤ 15 s', async (t) => {
    const s = await startWatchedCluster();
    const postmaster = livePostmasterPid(s.cluster.pg.dataDir)!;
    try {
      const run = await failOver(s, () => signalEach([postmaster], 'SIGSTOP'));
      assert.equal(processAlive(postmaster), false, 'the hung postmaster was killed');
      await judge(t, s, run, 15);
    } finally {
      signalEach([postmaster], 'SIGCONT');
      await s.stop();
    }
  });
});
