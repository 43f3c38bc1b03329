/**
 * What a caller gives a failover or switchover and what it hears back: the options, the
 * events while it runs, and the outcome it confirms or gets.
 */
import type { RefusedError } from '../errors.js';
import type { FailoverMode, FailoverPhase, FailoverPlan } from './failover/failover-plan.js';
import type { HandoverReport, PatroniHandoverReport } from './handover-report.js';

/** The plan before it is confirmed, or, once applied, what was done. */
export type HandoverOutcome =
  { managedBy: 'lifeboat'; report: HandoverReport } | { managedBy: 'patroni'; report: PatroniHandoverReport };

export type HandoverEvent =
  /** A step of Lifeboat's plan is done. */
  | { type: 'step'; kind: FailoverPlan['steps'][number]['kind']; phase: FailoverPhase; seconds: number }
  /** What Patroni was asked, or answered. */
  | { type: 'patroni'; message: string };

export interface HandoverOptions {
  mode: FailoverMode;
  /** The standby (or Patroni member) to promote. Default: the plan's choice. */
  standby?: string;
  /** Failover only: promote although the primary still answers. */
  force?: boolean;
  /** Failover only: promote a standby further behind than the RPO allows. */
  acceptLoss?: boolean;
  /** Decide and report the plan, change nothing. */
  dryRun?: boolean;
  /**
   * Asked with the plan before anything changes; throwing (a RefusedError) refuses the
   * handover: it is audited and nothing is changed.
   */
  confirm(preview: HandoverOutcome): Promise<void>;
  /** Lets a caller re-word a refusal of the plan, e.g. to name its own way to override it. */
  explainRefusal?(refusal: RefusedError): Error;
  onEvent?(event: HandoverEvent): void;
  /** Who the audit entry names. Default: the OS user. */
  actor?: string;
}
