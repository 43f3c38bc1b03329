/** Several sandbox failover drills in one: the medians of their timings, the totals of their losses. */
import { median, type FailoverDrillResult } from './failover-result.js';

export interface FailoverDrillSummary {
  fault: string;
  sync: boolean;
  runs: FailoverDrillResult[];
  /** Medians over the runs. */
  rto_seconds: number;
  detect_seconds: number;
  decide_seconds: number;
  fence_seconds: number;
  promote_seconds: number;
  route_seconds: number;
  reconnect_seconds: number;
  /** Totals over the runs. */
  lost_writes: number;
  /** Every run fenced. */
  fenced: boolean;
}

export function summarize(results: FailoverDrillResult[]): FailoverDrillSummary {
  const med = (key: keyof FailoverDrillResult) => median(results.map((r) => Number(r[key])));
  return {
    fault: results[0]?.fault ?? '',
    sync: results[0]?.sync ?? false,
    runs: results,
    rto_seconds: med('rto_seconds'),
    detect_seconds: med('detect_seconds'),
    decide_seconds: med('decide_seconds'),
    fence_seconds: med('fence_seconds'),
    promote_seconds: med('promote_seconds'),
    route_seconds: med('route_seconds'),
    reconnect_seconds: med('reconnect_seconds'),
    lost_writes: results.reduce((sum, r) => sum + r.lost_writes, 0),
    fenced: results.every((r) => r.fenced),
  };
}
