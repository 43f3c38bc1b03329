/**
 * The audit entry each failover-side action leaves in the state store: who acted, on which
 * dataset, and how it ended (ok, refused, failed, ...). Backup and restore write theirs in
 * src/protect; failover, switchover, standby creation, the watch and the drills here.
 */
import { actor as defaultActor } from '../protect/audit.js';
import type { ProtectContext } from '../protect/context.js';

export type Audit = (outcome: string, details: Record<string, unknown>) => Promise<unknown>;

/** Entries of `action` (e.g. `failover.run`) on `dataset:ID`, by `actor` (default: the OS user). */
export function datasetAuditor(
  context: ProtectContext,
  action: string,
  dataset: string,
  actor: string = defaultActor(),
): Audit {
  return async (outcome, details) =>
    (await context.state()).appendAudit({
      actor,
      action,
      target: `dataset:${dataset}`,
      outcome,
      details,
    });
}
