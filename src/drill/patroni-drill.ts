/**
 * The failover drill of a Patroni-managed dataset, once preparePatroniDrill found it ready
 * and the operator confirmed: a writer of its own table through the clients' endpoint, the
 * fault (the leader's postmaster killed, or a switchover or failover asked of Patroni),
 * Patroni's own response, and the numbers of the other drills: the time until the first
 * write acknowledged after it, acknowledged writes lost, and the fence. Patroni decides and
 * acts by itself, so the phases Lifeboat performs elsewhere (detect, decide, fence, route)
 * are 0 here; `promote_seconds` is Patroni's part, `reconnect_seconds` the endpoint's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from '../errors.js';
import { query } from '../stores/postgres/sql.js';
import { patroniClient } from '../respond/patroni/client.js';
import { patroniHandover, type PatroniHandoverResult } from '../respond/patroni/handover.js';
import { datasetWritesTable } from './failover-dataset-check.js';
import { type Cleanups } from './failover-fault.js';
import { killPostgres } from './failover-host.js';
import { lostWrites } from './failover-measure.js';
import { round, type FailoverDrillResult } from './failover-result.js';
import { startWriter, writesTableSql, type Ack } from './failover-writer.js';
import { leaders, watchLeadership } from './patroni-leadership.js';
import type { PatroniDrill } from './patroni-check.js';

export interface PatroniDrillOptions {
  /** How long the writer runs before the fault. Default: 1500 ms. */
  warmupMs?: number;
  /** Aborted before the fault: the drill stops, nothing was done to the cluster. Later it finishes. Default: none. */
  signal?: AbortSignal;
  onProgress?(line: string): void;
}

export interface PatroniDrillResult extends FailoverDrillResult {
  /** The member that leads afterwards (the old leader again after a restart in place). */
  new_leader: string;
}

/** How long Patroni gets to restore service after the fault. */
const serviceDeadlineMs = 90_000;

export async function runPatroniDrill(
  drill: PatroniDrill,
  options: PatroniDrillOptions = {},
): Promise<PatroniDrillResult> {
  const progress = options.onProgress ?? (() => undefined);
  const { endpoint, leader } = drill;
  const table = datasetWritesTable;
  const cleanups: Cleanups = [];
  const apiUrls = [drill.apiUrl, ...drill.cluster.members.flatMap((m) => (m.apiUrl ? [m.apiUrl] : []))];
  try {
    // Through the endpoint, that is on the leader; a table left by an interrupted drill is replaced.
    await query(endpoint.url, `DROP TABLE IF EXISTS ${table}`);
    await query(endpoint.url, writesTableSql(table));
    cleanups.push(() => dropTable(endpoint.url, table));
    const writer = startWriter(endpoint.url, table);
    cleanups.push(() => writer.stop());
    progress(`writing into ${table} through ${endpoint.from}`);
    if (!(await writer.waitForAck(() => true, 30_000)))
      throw new OperationError('the drill writer got no acknowledgement before the fault', {
        hint: `Check that clients can write through ${endpoint.from}; nothing was done to the cluster.`,
      });
    await sleep(options.warmupMs ?? 1500);
    if (options.signal?.aborted)
      throw new OperationError('the drill was interrupted before the fault', {
        hint: 'Nothing was done to the cluster; the drill table is dropped.',
      });

    const watch = watchLeadership(apiUrls, leader.name);
    cleanups.push(() => watch.stop());
    const faultAt = Date.now();
    let handover: PatroniHandoverResult | undefined;
    if (drill.fault === 'crash') {
      killPostgres(leader.dataDir!);
      progress(
        `killed PostgreSQL of the leader ${leader.name} after ${writer.acks.length} acknowledged writes`,
      );
    } else {
      progress(
        `asking Patroni for a ${drill.fault} to ${drill.candidate.name} after ${writer.acks.length} acknowledged writes`,
      );
      handover = await patroniHandover({
        url: drill.apiUrl,
        mode: drill.fault,
        candidate: drill.candidate.name,
        maxLagBytes: drill.maxLagBytes,
        timeoutMs: serviceDeadlineMs,
        onProgress: (line) => progress(`  ${line}`),
      });
    }
    // Service is back at the first write a postmaster other than the one before acknowledges:
    // the candidate promoted, or the old leader restarted in place (a new start time).
    const restored = await writer.waitForAck(
      (a) => a.at > faultAt && a.server !== leader.server,
      serviceDeadlineMs,
    );
    if (!restored)
      throw new OperationError(
        `no write was acknowledged through ${endpoint.from} within ${serviceDeadlineMs / 1000} s of the ${drill.fault}`,
        {
          hint: `Check the cluster (patronictl list) and that the endpoint follows the leader; the drill table ${table} may be left behind.`,
        },
      );
    await sleep(300);
    await writer.stop();
    await watch.stop();
    progress(
      `first write acknowledged ${((restored.at - faultAt) / 1000).toFixed(2)} s after the ${drill.fault}`,
    );

    const leading = (await leaders(apiUrls.map((url) => patroniClient(url, { timeoutMs: 2000 }))))[0]?.name;
    const newLeader = leading ?? watch.newLeader ?? leader.name;
    const failedOver = newLeader !== leader.name;
    const lost = await lostWrites(writer.acks, endpoint.url, faultAt, table);
    const rto = (restored.at - faultAt) / 1000;
    // Patroni's part: its handover until the candidate took writes, or from the crash until
    // another member held the leader lock; a restart in place is all reconnect. The handover
    // is seen done by polling, which may come after the writer's first write: never past the RTO.
    const promote = Math.min(
      rto,
      handover
        ? handover.seconds
        : failedOver && watch.changedAt !== undefined
          ? (watch.changedAt - faultAt) / 1000
          : 0,
    );
    const fence = failedOver
      ? await checkFence(drill, writer.acks, restored, watch.changedAt)
      : restartedFence;
    return {
      fault: drill.fault,
      sync: drill.sync,
      outcome: failedOver ? 'failed-over' : 'restarted',
      detected_as: handover ? 'planned' : 'patroni',
      rto_seconds: round(rto),
      detect_seconds: 0,
      decide_seconds: 0,
      fence_seconds: 0,
      promote_seconds: round(promote),
      route_seconds: 0,
      reconnect_seconds: round(Math.max(0, rto - promote)),
      interruption_seconds: round(longestGap(writer.acks, faultAt, restored) / 1000),
      acknowledged_writes: writer.acks.length,
      lost_writes: lost.count,
      lost_ids: lost.ids,
      lost_window_seconds: round(lost.windowSeconds),
      lost_wal_bytes: null,
      fenced: fence.fenced,
      fence: fence.detail,
      warnings: [],
      new_leader: newLeader,
    };
  } finally {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined);
  }
}

type Fence = Pick<FailoverDrillResult, 'fenced' | 'fence'>;
const restartedFence = {
  fenced: true,
  detail: {
    method: 'none (restarted in place by Patroni)',
    acks_from_old_after_promotion: 0,
    old_primary_stopped: false,
    old_rows_after_promotion: null,
    old_rows_before_promotion: null,
    self_fenced_after_fault_seconds: null,
  },
};

/**
 * Fenced: once another member led (the first time /cluster showed it, or its first
 * acknowledged write if earlier), no write was acknowledged by any other postmaster, and the
 * old leader no longer takes writes (Patroni demotes it to a replica rather than stop it).
 */
async function checkFence(
  drill: PatroniDrill,
  acks: readonly Ack[],
  restored: Ack,
  changedAt: number | undefined,
): Promise<{ fenced: boolean; detail: Fence['fence'] }> {
  const promotedAt = Math.min(changedAt ?? Infinity, restored.at);
  const fromOld = acks.filter((a) => a.at >= promotedAt && a.server !== restored.server).length;
  const oldApi = drill.leader.apiUrl;
  const oldWritable = oldApi
    ? await patroniClient(oldApi, { timeoutMs: 2000 })
        .check('primary')
        .catch(() => false)
    : false;
  return {
    fenced: fromOld === 0 && !oldWritable,
    detail: {
      method: 'patroni leader lock',
      acks_from_old_after_promotion: fromOld,
      old_primary_stopped: !oldWritable,
      old_rows_after_promotion: null,
      old_rows_before_promotion: null,
      self_fenced_after_fault_seconds: null,
    },
  };
}

/** The longest time without an acknowledged write from the last one before the fault to service restored. */
function longestGap(acks: readonly Ack[], faultAt: number, restored: Ack): number {
  let previous = faultAt;
  for (const a of acks) if (a.at <= faultAt) previous = a.at;
  let longest = 0;
  for (const a of acks) {
    if (a.at <= faultAt || a.at > restored.at) continue;
    longest = Math.max(longest, a.at - previous);
    previous = a.at;
  }
  return longest;
}

async function dropTable(url: string, table: string): Promise<void> {
  await query(url, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
}
