import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { stopAll } from '../system/instance.js';
import { median, runFailoverDrill, type FailoverDrillResult } from './failover.js';

// Everything the drills create goes under a temp root of this file's own, so that what is
// left behind can be told apart from what other test files running at the same time create.
const root = mkdtempSync(join(tmpdir(), 'lifeboat-drilltest-'));
chmodSync(root, 0o755); // PostgreSQL runs as postgres and must reach its data dir below.
process.env.TMPDIR = root;
after(async () => {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

function report(t: { diagnostic(message: string): void }, r: FailoverDrillResult): void {
  t.diagnostic(
    `${r.fault} ${r.sync ? 'sync' : 'async'}: RTO ${r.rto_seconds}s (detect ${r.detect_seconds}, decide ${r.decide_seconds}, ` +
      `fence ${r.fence_seconds}, promote ${r.promote_seconds}, route ${r.route_seconds}, reconnect ${r.reconnect_seconds}); ` +
      `lost ${r.lost_writes}/${r.acknowledged_writes}, WAL ${r.lost_wal_bytes} bytes; fenced ${r.fenced} (${r.fence.method})` +
      (r.fence.inspection_error ? `; inspection failed: ${r.fence.inspection_error}` : ''),
  );
}

function assertPhasesAddUp(r: FailoverDrillResult): void {
  const parts =
    r.detect_seconds +
    r.decide_seconds +
    r.fence_seconds +
    r.promote_seconds +
    r.route_seconds +
    r.reconnect_seconds;
  // The gaps between phases are a few milliseconds each.
  assert.ok(Math.abs(parts - r.rto_seconds) < 0.25, `phases ${parts.toFixed(3)} s vs RTO ${r.rto_seconds} s`);
}

describe('failover drill (sandbox)', () => {
  for (const fault of ['crash', 'host', 'partition'] as const) {
    test(`sync, ${fault}: detected, fenced, failed over; no acknowledged write lost`, async (t) => {
      const r = await runFailoverDrill({ sandbox: true, sync: true, fault });
      report(t, r);
      assert.equal(r.outcome, 'failed-over');
      assert.equal(r.fenced, true);
      assert.equal(r.fence.acks_from_old_after_promotion, 0);
      assert.equal(r.fence.old_primary_stopped, true);
      assert.equal(r.fence.old_rows_after_promotion, 0, r.fence.inspection_error);
      assert.equal(r.lost_writes, 0);
      assert.equal(
        r.detected_as,
        fault === 'crash' ? 'refused' : 'timeout',
        'how the detector classified the fault',
      );
      assert.equal(r.fence.method, fault === 'crash' ? 'router + stop' : 'router + lease');
      assert.ok(r.acknowledged_writes > 50);
      assert.ok(r.rto_seconds < 10, `RTO ${r.rto_seconds} s`);
      assertPhasesAddUp(r);
    });
  }

  test('async, partition: the old primary behind the cut stops itself before the promotion', async (t) => {
    const r = await runFailoverDrill({ sandbox: true, sync: false, fault: 'partition' });
    report(t, r);
    assert.equal(r.fenced, true);
    assert.ok(
      r.fence.self_fenced_after_fault_seconds !== null && r.fence.self_fenced_after_fault_seconds < 3,
    );
    assert.equal(r.fence.old_rows_after_promotion, 0, r.fence.inspection_error);
  });

  test('crash with restart in place: PostgreSQL comes back where it was, nothing moves', async (t) => {
    const r = await runFailoverDrill({ sandbox: true, sync: true, fault: 'crash', restartInPlace: true });
    report(t, r);
    assert.equal(r.outcome, 'restarted');
    assert.equal(r.lost_writes, 0);
  });

  test('everything the drills started is gone', () => {
    assert.deepEqual(readdirSync(root), []);
  });

  test('median', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
  });
});
