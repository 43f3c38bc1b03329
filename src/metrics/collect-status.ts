/**
 * Computes the status once, as `lifeboat status` does: the state store's records and the
 * live measurements, read side by side, judged by `datasetStatus`. Read-only.
 */
import { readLiveExposure } from '../protect/exposure/live.js';
import type { ProtectContext } from '../protect/context.js';
import { datasetStatus, readStatusRecords } from '../protect/status.js';
import type { StatusSnapshot } from './dataset-metrics.js';

/** The status of the given datasets (default: all of the plan's), in plan order. */
export async function collectStatus(context: ProtectContext, datasetIds?: string[]): Promise<StatusSnapshot> {
  const started = Date.now();
  const [records, live] = await Promise.all([
    readStatusRecords(context, datasetIds),
    readLiveExposure(context, datasetIds),
  ]);
  const at = new Date();
  const all = datasetStatus(context.plan, records, at, live);
  const rows = datasetIds ? all.filter((r) => datasetIds.includes(r.dataset)) : all;
  return { rows, records, at, durationMs: Date.now() - started };
}
