/**
 * lifeboat drill failover: the measured failover drill. With --sandbox, on throwaway servers
 * ([--sync|--async] [--fault crash|host|partition] [--runs N]); with a DATASET, on the plan's
 * real servers after a typed confirmation, leaving the dataset failed over (a dataset Patroni
 * manages is drilled through Patroni). The work is drillDatasetFailover and
 * runSandboxFailoverDrills (src/drill); this prints each run and, with
 * several, the medians. Exit 1 when a run was not fenced or a synchronous run lost an
 * acknowledged write.
 */
import type { ProtectContext } from '../../protect/context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { drillDatasetFailover, handoverFaults, type DatasetDrillReport } from '../../drill/dataset-drill.js';
import type { FaultKind } from '../../drill/failover-host.js';
import type { DrillFault, FailoverDrillResult } from '../../drill/failover-result.js';
import { runSandboxFailoverDrills } from '../../drill/failover-sandbox.js';
import type { FailoverDrillSummary } from '../../drill/failover-summary.js';
import { parseCommandArgs, type ParsedArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { reapLeftovers } from '../reap-leftovers.js';
import { table } from '../format.js';
import { withPlan } from '../open-plan.js';
import { progressReporter } from '../progress.js';
import { abortOnSignals } from '../shutdown.js';
import { patroniDrillText } from './drill-failover-patroni.js';
import { confirmDrill, interruptBeforeFault } from './drill-guard.js';

const sandboxUsage =
  '--sandbox [--sync|--async] [--fault crash|host|partition] [--runs N] [--restart-in-place] [--json]';
const datasetUsage = 'DATASET [--fault crash|switchover|failover] [--rejoin] [--yes] [--json] [--plan FILE]';
const usage = `${sandboxUsage} | ${datasetUsage}`;
const sandboxFaults: FaultKind[] = ['crash', 'host', 'partition'];
const faults: DrillFault[] = [...sandboxFaults, ...handoverFaults];

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'drill failover',
    args,
    {
      sandbox: { type: 'boolean' },
      sync: { type: 'boolean' },
      async: { type: 'boolean' },
      fault: {
        type: 'enum',
        values: faults,
        help: `the fault: ${sandboxFaults.join(', ')} with --sandbox; ${['crash', ...handoverFaults].join(', ')} on a dataset. Default: crash`,
      },
      runs: { type: 'string' },
      'restart-in-place': { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      rejoin: { type: 'boolean' },
    },
    usage,
  );
  const fault = (parsed.string('fault') ?? 'crash') as DrillFault;
  if (!faults.includes(fault))
    throw new UsageError(`drill failover: unknown fault "${fault}"`, {
      hint: `One of: ${faults.join(', ')}.`,
    });
  if (parsed.flag('sandbox')) {
    if (handoverFaults.includes(fault))
      throw new UsageError(
        `drill failover --sandbox: --fault ${fault} asks Patroni, for a plan's dataset only`,
        {
          hint: `The sandbox's faults: ${sandboxFaults.join(', ')}.`,
        },
      );
    await reapLeftovers(parsed.flag('json'));
    return runSandbox(parsed, fault as FaultKind);
  }
  const [dataset, ...extra] = parsed.positionals;
  if (dataset === undefined || extra.length > 0)
    throw new UsageError(
      `drill failover: name one dataset of the plan, or pass --sandbox (got ${parsed.positionals.join(', ') || 'neither'})`,
      { hint: `usage: lifeboat drill failover ${datasetUsage}, or lifeboat drill failover ${sandboxUsage}` },
    );
  for (const flag of ['sync', 'async', 'runs', 'restart-in-place'])
    if (parsed.values[flag] !== undefined)
      throw new UsageError(`drill failover ${dataset}: --${flag} is for --sandbox only`, {
        hint: `A real dataset is drilled as its plan says (replication.mode, restart_in_place), once: lifeboat drill failover ${datasetUsage}.`,
      });
  return withPlan(parsed.string('plan'), async (context) => {
    await reapLeftovers(parsed.flag('json'));
    return runDataset(context, dataset, fault, parsed);
  });
}

async function runSandbox(parsed: ParsedArgs, fault: FaultKind): Promise<number> {
  const json = parsed.flag('json');
  if (parsed.positionals.length > 0)
    throw new UsageError(`drill failover --sandbox takes no dataset, not '${parsed.positionals.join(' ')}'`, {
      hint: `usage: lifeboat drill failover ${sandboxUsage}`,
    });
  for (const flag of ['yes', 'rejoin'])
    if (parsed.flag(flag))
      throw new UsageError(`drill failover --sandbox: --${flag} is for a plan's dataset only`);
  if (parsed.flag('sync') && parsed.flag('async'))
    throw new UsageError('drill failover: --sync and --async exclude each other');
  const runs = Number(parsed.string('runs') ?? '1');
  if (!Number.isInteger(runs) || runs < 1 || runs > 100)
    throw new UsageError(
      `drill failover: --runs must be a whole number from 1 to 100, not "${parsed.string('runs')}"`,
    );
  // Async unless asked: the plan's own default for a standby whose RPO is not 0.
  const sync = parsed.flag('sync');

  // Throwaway servers only: the CLI entry may still end the process two seconds after the signal.
  const interrupt = abortOnSignals();
  let drills;
  try {
    drills = await runSandboxFailoverDrills({
      runs,
      sync,
      fault,
      restartInPlace: parsed.flag('restart-in-place'),
      signal: interrupt.signal,
      onEvent: ({ run, result }) => {
        if (!json) process.stdout.write(`run ${run}/${runs}: ${describe(result)}\n`);
      },
    });
  } finally {
    interrupt.dispose();
  }
  const { results, summary } = drills;
  // Runs cut short measure nothing: no summary that could read as a pass.
  if (interrupt.signal.aborted) return ExitCode.interrupted;
  if (json) process.stdout.write(JSON.stringify(runs === 1 ? results[0] : summary, null, 2) + '\n');
  else if (runs > 1) process.stdout.write(summaryTable(summary));
  return drills.passed ? ExitCode.ok : ExitCode.failed;
}

async function runDataset(
  context: ProtectContext,
  dataset: string,
  fault: DrillFault,
  parsed: ParsedArgs,
): Promise<number> {
  const json = parsed.flag('json');
  const progress = progressReporter({ json });
  const interrupt = interruptBeforeFault();
  let outcome;
  try {
    outcome = await drillDatasetFailover(context, dataset, fault, {
      rejoin: parsed.flag('rejoin'),
      confirm: async ({ warning, managedBy }) => {
        await confirmDrill(dataset, warning, parsed.flag('yes'));
        interrupt.arm(
          managedBy === 'patroni'
            ? 'finishes measuring the one it caused'
            : 'finishes the failover it started',
        );
      },
      signal: interrupt.signal,
      onEvent: ({ message }) => {
        progress.line(`  ${message}`);
        progress.event({ event: 'drill', message });
      },
    });
  } finally {
    interrupt.dispose();
    progress.done();
  }
  process.stdout.write(
    json
      ? JSON.stringify(outcome.report, null, 2) + '\n'
      : outcome.managedBy === 'patroni'
        ? patroniDrillText(outcome.report)
        : `${describe(outcome.report)}\n${afterwards(outcome.report, outcome.oldPrimaryDataDir, outcome.newPrimaryAddress)}`,
  );
  return outcome.passed ? ExitCode.ok : ExitCode.failed;
}

function afterwards(report: DatasetDrillReport, dataDir: string, newPrimaryAddress: string): string {
  const { dataset } = report;
  const field = `datasets.${dataset}`;
  if (report.outcome === 'restarted')
    return `  ${report.old_primary} was restarted in place (replication.restart_in_place); nothing failed over.\n`;
  const swap = `swap ${field}.source (url, data_dir) with ${field}.replication (standby, standby_data_dir) in the plan`;
  if (report.rejoin && 'seconds' in report.rejoin)
    return `  ${report.old_primary} rejoined as a standby of ${report.new_primary} in ${report.rejoin.seconds.toFixed(2)}s (${report.rejoin.rewind}); next: ${swap}.\n`;
  const failed =
    report.rejoin && 'error' in report.rejoin
      ? `  the rejoin failed: ${report.rejoin.error}${report.rejoin.hint ? ` (${report.rejoin.hint})` : ''}\n`
      : '';
  return (
    failed +
    `  ${report.old_primary} is fenced and stopped: it must not start as a primary again. Rejoin it as a standby of ${report.new_primary} ` +
    `as its OS user: pg_rewind -D ${dataDir} --source-server=URL -R (URL: ${field}.replication.standby, ` +
    `${newPrimaryAddress}), then pg_ctl start -D ${dataDir} (a drill with --rejoin does both at its end); next: ${swap}.\n`
  );
}

function describe(r: FailoverDrillResult): string {
  const s = (n: number) => `${n.toFixed(2)}s`;
  return (
    `${r.fault} ${r.sync ? 'sync' : 'async'} ${r.outcome}: RTO ${s(r.rto_seconds)} ` +
    `(detect ${s(r.detect_seconds)}, decide ${s(r.decide_seconds)}, fence ${s(r.fence_seconds)}, promote ${s(r.promote_seconds)}, ` +
    `route ${s(r.route_seconds)}, reconnect ${s(r.reconnect_seconds)}); ` +
    `lost ${r.lost_writes} of ${r.acknowledged_writes} acknowledged writes` +
    (r.lost_writes > 0 ? ` (the last ${s(r.lost_window_seconds)} before the fault)` : '') +
    (r.lost_wal_bytes ? `, ${r.lost_wal_bytes} WAL bytes past the fork; ` : '; ') +
    `fenced ${r.fenced ? 'yes' : 'NO'} (${r.fence.method})`
  );
}

function summaryTable(s: FailoverDrillSummary): string {
  const f = (n: number) => n.toFixed(2);
  return (
    `median over ${s.runs.length} runs:\n` +
    table(
      ['rto', 'detect', 'decide', 'fence', 'promote', 'route', 'reconnect', 'lost writes', 'fenced'],
      [
        [
          f(s.rto_seconds),
          f(s.detect_seconds),
          f(s.decide_seconds),
          f(s.fence_seconds),
          f(s.promote_seconds),
          f(s.route_seconds),
          f(s.reconnect_seconds),
          String(s.lost_writes),
          s.fenced ? 'all' : 'NOT ALL',
        ],
      ],
    )
  );
}
