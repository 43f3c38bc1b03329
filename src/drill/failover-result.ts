/**
 * A failover drill's result, the same for the sandbox and for a plan's dataset: the RTO
 * split into its phases, the acknowledged writes the new primary lacks, and the fence.
 */
import { switchLsn } from '../respond/failover/promote.js';
import type { ManagedServer } from '../respond/failover/server.js';
import type { FaultRun } from './failover-fault.js';
import type { PatroniHandoverMode } from '../respond/patroni/handover-plan.js';
import type { FaultKind } from './failover-host.js';
import { checkFence, lostWalBytes, lostWrites } from './failover-measure.js';
import { writesTable, type Ack } from './failover-writer.js';

/** What a drill inflicts: a fault, or (Patroni only) a handover asked of Patroni. */
export type DrillFault = FaultKind | PatroniHandoverMode;

export interface FailoverDrillResult {
  fault: DrillFault;
  sync: boolean;
  outcome: 'failed-over' | 'restarted';
  /** How the detector saw the fault: refused (host answers) or timeout (silence). */
  detected_as: string;
  rto_seconds: number;
  detect_seconds: number;
  fence_seconds: number;
  promote_seconds: number;
  route_seconds: number;
  /** From the declaration to the first step: looking at the standbys and the router, planning. */
  decide_seconds: number;
  /** From routing done to the writer's first acknowledged write (its reconnect). */
  reconnect_seconds: number;
  acknowledged_writes: number;
  lost_writes: number;
  lost_ids: number[];
  lost_window_seconds: number;
  lost_wal_bytes: number | null;
  fenced: boolean;
  /**
   * Patroni drills only: the longest time without an acknowledged write between the fault
   * (or the request to Patroni) and service restored, what clients saw of it.
   */
  interruption_seconds?: number;
  fence: {
    method: string;
    acks_from_old_after_promotion: number;
    old_primary_stopped: boolean;
    old_rows_after_promotion: number | null;
    old_rows_before_promotion: number | null;
    /** Why the old primary's rows could not be inspected (then the two counts above are null). */
    inspection_error?: string;
    self_fenced_after_fault_seconds: number | null;
  };
  warnings: string[];
}

export interface MeasureInput {
  fault: FaultKind;
  sync: boolean;
  run: FaultRun;
  acks: readonly Ack[];
  /** The writer's table. Default: the sandbox's. */
  table?: string;
  old: ManagedServer;
  newPrimary: ManagedServer;
  /** The drill table's database on the old primary (read after a restart in place). */
  oldPrimaryUrl: string;
  /** The drill table's database on the new primary. */
  newPrimaryUrl: string;
  /** The old primary acknowledged this write. */
  fromOld(ack: Ack): boolean;
  /** Start a copy of the old data directory to compare rows: the sandbox's own servers only. */
  inspectOldPrimary: boolean;
  /** Epoch ms when the host's watchdog stopped the old primary, if it did. */
  selfFencedAt?: number;
}

/** Measures a drill whose fault has run: reads the servers, changes nothing. */
export async function measureDrill(input: MeasureInput): Promise<FailoverDrillResult> {
  const { outcome, faultAt, firstAckAt } = input.run;
  const table = input.table ?? writesTable;
  const detect = (outcome.loss.declaredAt - faultAt) / 1000;
  const rto = (firstAckAt - faultAt) / 1000;
  const base = {
    fault: input.fault,
    sync: input.sync,
    detected_as: outcome.loss.failure,
    rto_seconds: round(rto),
    detect_seconds: round(detect),
    acknowledged_writes: input.acks.length,
  };
  if (outcome.outcome === 'restarted') {
    const lost = await lostWrites(input.acks, input.oldPrimaryUrl, faultAt, table);
    return {
      ...base,
      outcome: 'restarted',
      decide_seconds: 0,
      fence_seconds: 0,
      promote_seconds: 0,
      route_seconds: 0,
      reconnect_seconds: round(rto - detect - outcome.seconds),
      lost_writes: lost.count,
      lost_ids: lost.ids,
      lost_window_seconds: round(lost.windowSeconds),
      lost_wal_bytes: 0,
      fenced: true,
      fence: {
        method: 'none (restarted in place)',
        acks_from_old_after_promotion: 0,
        old_primary_stopped: false,
        old_rows_after_promotion: null,
        old_rows_before_promotion: null,
        self_fenced_after_fault_seconds: null,
      },
      warnings: [],
    };
  }
  const { result, plan } = outcome;
  const routedAt = result.steps.find((s) => s.kind === 'route')?.endedAt ?? result.promotion.promotedAt;
  const lost = await lostWrites(input.acks, input.newPrimaryUrl, faultAt, table);
  const walBytes = await lostWalBytes(input.old, await switchLsn(input.newPrimary)).catch(() => null);
  const fence = await checkFence({
    acks: input.acks,
    old: input.old,
    fromOld: input.fromOld,
    newPrimaryUrl: input.newPrimaryUrl,
    promotionStartedAt: result.promotion.startedAt,
    inspect: input.inspectOldPrimary,
  });
  const method = plan.steps.some((s) => s.kind === 'stop-primary')
    ? 'router + stop'
    : plan.steps.some((s) => s.kind === 'wait-lease')
      ? 'router + lease'
      : 'router only';
  return {
    ...base,
    outcome: 'failed-over',
    decide_seconds: round((result.startedAt - outcome.loss.declaredAt) / 1000),
    fence_seconds: round(result.seconds.fence),
    promote_seconds: round(result.seconds.promote),
    route_seconds: round(result.seconds.route),
    reconnect_seconds: round((firstAckAt - routedAt) / 1000),
    lost_writes: lost.count,
    lost_ids: lost.ids,
    lost_window_seconds: round(lost.windowSeconds),
    lost_wal_bytes: walBytes,
    fenced: fence.fenced,
    fence: {
      method,
      acks_from_old_after_promotion: fence.acksFromOldAfterPromotion,
      old_primary_stopped: fence.oldPrimaryStopped,
      old_rows_after_promotion: fence.oldRowsAfterPromotion,
      old_rows_before_promotion: fence.oldRowsBeforePromotion,
      ...(fence.inspectionError === undefined ? {} : { inspection_error: fence.inspectionError }),
      self_fenced_after_fault_seconds:
        input.selfFencedAt === undefined ? null : round((input.selfFencedAt - faultAt) / 1000),
    },
    warnings: result.warnings,
  };
}

export function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A drill passes when every run fenced the old primary and no synchronous run lost an acknowledged write. */
export function drillPassed(results: FailoverDrillResult[]): boolean {
  return results.every((r) => r.fenced && !(r.sync && r.lost_writes > 0));
}
