/**
 * Failover and switchover of a dataset whose cluster Patroni manages (source.patroni):
 * Patroni holds the leader lock, so Lifeboat asks it to hand over instead of promoting by
 * itself. Same shape as the plain path: the decision first, the caller's confirmation,
 * then the time until the new leader took writes.
 */
import { patroniHandover, type PatroniHandoverResult } from './patroni/handover.js';
import type { Audit } from './audit.js';
import type { HandoverEvent, HandoverOptions } from './handover-options.js';
import type { PatroniHandoverReport } from './handover-report.js';

export async function patroniHandoverOf(
  dataset: string,
  url: string,
  options: HandoverOptions,
  audit: Audit,
): Promise<PatroniHandoverReport> {
  const emit = options.onEvent ?? (() => {});
  const request = { url, mode: options.mode, ...(options.standby ? { candidate: options.standby } : {}) };
  const preview = report(dataset, await patroniHandover({ ...request, dryRun: true }));
  if (options.dryRun) return preview;
  await options.confirm({ managedBy: 'patroni', report: preview });
  const result = await patroniHandover({
    ...request,
    onProgress: (message) => emit({ type: 'patroni', message } satisfies HandoverEvent),
  });
  await audit('ok', { patroni: true, from: result.oldLeader, to: result.newLeader, seconds: result.seconds });
  return report(dataset, result);
}

function report(dataset: string, result: PatroniHandoverResult): PatroniHandoverReport {
  return { dataset, managedBy: 'patroni', ...result };
}
