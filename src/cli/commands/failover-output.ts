/** What `lifeboat failover` and `switchover` print as text: the plan before, the timings after. */
import type { HandoverReport } from '../../respond/handover-report.js';
import { formatDuration } from '../../plan/duration.js';
import { formatBytes, formatSeconds } from '../format.js';

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
