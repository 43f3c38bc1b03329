/** What `lifeboat failover` and `switchover` print: the plan before, the timings after; text or JSON. */
import type { FailoverResult } from '../../respond/failover/failover.js';
import { phaseOf, type FailoverObserved, type FailoverPlan } from '../../respond/failover/failover-plan.js';
import { formatDuration } from '../../plan/duration.js';
import { formatBytes, formatSeconds } from '../format.js';

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

/** The plan, for --dry-run and before the confirmation. */
export function planText(report: HandoverReport): string {
  const lines = [
    `${report.mode} of ${report.dataset}: ${report.oldPrimary.name} (${report.oldPrimary.address}${report.oldPrimary.reachable ? '' : ', unreachable'}) -> ${report.newPrimary.name} (${report.newPrimary.address})`,
    `  lag:    ${lagText(report)}`,
    `  loss:   ${lossText(report)}`,
    ...(report.router
      ? [
          `  router: ${report.router.name}${report.router.target ? `, clients now sent to ${report.router.target}` : ''}`,
        ]
      : []),
    '  steps:',
    ...report.steps.map((s, i) => `    ${i + 1}. ${s.kind.padEnd(15)} ${s.why}`),
    ...report.warnings.map((w) => `  warning: ${w}`),
  ];
  return lines.join('\n') + '\n';
}

/** The outcome: the new primary and the time each phase took. */
export function resultText(report: HandoverReport): string {
  const s = report.seconds!;
  const phases = (['fence', 'catchup', 'promote', 'route'] as const)
    .filter((p) => report.steps.some((step) => step.phase === p))
    .map((p) => `${p} ${formatSeconds(s[p])}`);
  return (
    `${report.dataset}: ${report.newPrimary.name} (${report.newPrimary.address}) is the primary after a ${report.mode} in ${formatSeconds(s.total)}` +
    ` (${phases.join(', ')})\n` +
    report.warnings.map((w) => `  warning: ${w}\n`).join('')
  );
}

function lagText(report: HandoverReport): string {
  const { lag } = report;
  const rpo = lag.rpoSeconds === null ? 'no RPO stated' : `RPO ${formatDuration(lag.rpoSeconds)}`;
  if (lag.bytes === null) return `unknown (the primary could not be asked); ${rpo}`;
  return `${formatBytes(lag.bytes)} / ${formatSeconds(lag.seconds ?? 0)} behind, ${lag.syncState ?? 'not streaming'}; ${rpo}`;
}

function lossText(report: HandoverReport): string {
  if (report.mode === 'switchover') return 'none: the standby replays everything before it is promoted';
  const { expectedLoss: loss } = report;
  if (loss.sync) return 'none acknowledged: the standby is synchronous';
  if (loss.bytes === null) return 'unknown';
  return loss.bytes === 0
    ? 'none: the standby had flushed everything'
    : `up to ${formatBytes(loss.bytes)} of WAL`;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
