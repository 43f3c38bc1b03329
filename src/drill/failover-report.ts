/** What a failover drill on a plan's dataset reports, whoever carried the failover out. */
import type { FailoverDrillResult } from './failover-result.js';

/** The sandbox's numbers, and what the drill left behind. */
export interface DatasetDrillReport extends FailoverDrillResult {
  dataset: string;
  old_primary: string;
  new_primary: string;
  /** null without a rejoin; `error` when it failed (the drill itself still counts). */
  rejoin: { seconds: number; rewind: string } | { error: string; hint: string | null } | null;
}

/** The same report for a cluster Patroni manages: its leaders before and after. */
export interface PatroniDrillReport extends DatasetDrillReport {
  managed_by: 'patroni';
}

export interface DrillConfirmation {
  dataset: string;
  /** What the drill will do, for the person who confirms it. */
  warning: string;
  /** Who fails the dataset over: Lifeboat, or Patroni (which answers the fault whatever Lifeboat does). */
  managedBy: 'lifeboat' | 'patroni';
}

export type DrillEvent = { type: 'progress'; message: string };

export interface DatasetDrillRunOptions {
  /** Rejoin the old primary as a standby afterwards (datasets Lifeboat fails over only). */
  rejoin?: boolean;
  /**
   * Asked with what the drill will do, before anything changes; throwing (a RefusedError)
   * refuses the drill: it is audited and nothing is changed.
   */
  confirm(confirmation: DrillConfirmation): Promise<void>;
  /** Aborted before the fault, the drill stops; once the fault is in, the recovery it started finishes. */
  signal?: AbortSignal;
  onEvent?(event: DrillEvent): void;
  /** Who the audit entry names. Default: the OS user. */
  actor?: string;
}
