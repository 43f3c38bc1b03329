/**
 * What `lifeboat drill failover DATASET` prints as text for a dataset whose cluster Patroni
 * manages: who led before and after, and Patroni's share of the RTO.
 */
import type { PatroniDrillReport } from '../../drill/dataset-drill.js';

export function patroniDrillText(r: PatroniDrillReport): string {
  const s = (n: number) => `${n.toFixed(2)}s`;
  const who =
    r.outcome === 'failed-over'
      ? `${r.old_primary} -> ${r.new_primary}`
      : `${r.old_primary} restarted in place by Patroni`;
  return (
    `${r.fault} ${r.sync ? 'sync' : 'async'} ${r.outcome} (${who}): RTO ${s(r.rto_seconds)} ` +
    `(Patroni ${s(r.promote_seconds)}, reconnect ${s(r.reconnect_seconds)}); ` +
    `no write acknowledged for ${s(r.interruption_seconds ?? 0)}; ` +
    `lost ${r.lost_writes} of ${r.acknowledged_writes} acknowledged writes; ` +
    `fenced ${r.fenced ? 'yes' : 'NO'} (${r.fence.method})\n`
  );
}
