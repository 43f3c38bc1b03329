/**
 * What a failover or switchover reports, before (the plan, a dry run) and after (the time
 * each step took): the document `--json` prints and the audit entry draws on.
 */
import type { FailoverResult } from './failover/failover.js';
import { phaseOf, type FailoverObserved, type FailoverPlan } from './failover/failover-plan.js';
import type { PatroniHandoverResult } from './patroni/handover.js';

/** What a Patroni handover reports: Patroni's result, named by dataset. */
export type PatroniHandoverReport = { dataset: string; managedBy: 'patroni' } & PatroniHandoverResult;

export interface HandoverReport {
  dataset: string;
  mode: FailoverPlan['mode'];
  dryRun: boolean;
  oldPrimary: { name: string; address: string; reachable: boolean };
  newPrimary: { name: string; address: string };
  router: { name: string; target: string | null } | null;
  /** The standby's lag when observed, against the plan's RPO. */
  lag: { bytes: number | null; seconds: number | null; syncState: string | null; rpoSeconds: number | null };
  expectedLoss: FailoverPlan['expectedLoss'];
  steps: { kind: string; phase: string; why: string; seconds?: number }[];
  seconds?: FailoverResult['seconds'];
  warnings: string[];
}

export function handoverReport(
  dataset: string,
  observed: FailoverObserved,
  plan: FailoverPlan,
  rpoSeconds: number | undefined,
  result?: FailoverResult,
): HandoverReport {
  const standby = observed.standbys.find((s) => s.name === plan.standby)!;
  const address = (e: { host: string; port: number }) => `${e.host}:${e.port}`;
  return {
    dataset,
    mode: plan.mode,
    dryRun: result === undefined,
    oldPrimary: {
      name: observed.primary.name,
      address: address(observed.primary.endpoint),
      reachable: observed.primary.reachable,
    },
    newPrimary: { name: standby.name, address: address(standby.endpoint) },
    router: observed.router ? { name: observed.router.name, target: observed.router.target ?? null } : null,
    lag: {
      bytes: standby.lagBytes,
      seconds: standby.lagSeconds,
      syncState: standby.syncState,
      rpoSeconds: rpoSeconds ?? null,
    },
    expectedLoss: plan.expectedLoss,
    steps: plan.steps.map((step, i) => ({
      kind: step.kind,
      phase: phaseOf[step.kind],
      why: step.why,
      ...(result?.steps[i] ? { seconds: round(result.steps[i]!.seconds) } : {}),
    })),
    ...(result
      ? {
          seconds: Object.fromEntries(
            Object.entries(result.seconds).map(([k, v]) => [k, round(v)]),
          ) as FailoverResult['seconds'],
        }
      : {}),
    warnings: result?.warnings ?? plan.warnings,
  };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
