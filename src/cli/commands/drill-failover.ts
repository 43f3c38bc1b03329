/**
 * lifeboat drill failover: the measured failover drill. With --sandbox, on throwaway servers
 * ([--sync|--async] [--fault crash|host|partition] [--runs N]); with a DATASET, on the plan's
 * real servers after a typed confirmation, leaving the dataset failed over (a dataset Patroni
 * manages is drilled through Patroni: drill-failover-patroni.ts). Prints each run and, with
 * several, the medians. Exit 1 when a run was not fenced or a synchronous run lost an
 * acknowledged write.
 */
import { actor } from '../../protect/audit.js';
import type { ProtectContext } from '../../protect/context.js';
import { ExitCode, LifeboatError, RefusedError, UsageError } from '../../errors.js';
import { median, runFailoverDrill, type FailoverDrillResult } from '../../drill/failover.js';
import {
  datasetWritesTable,
  prepareDatasetDrill,
  type DatasetDrill,
} from '../../drill/failover-dataset-check.js';
import { rejoinOldPrimary, runDatasetDrill } from '../../drill/failover-dataset.js';
import type { FaultKind } from '../../drill/failover-host.js';
import { drillPassed, type DrillFault } from '../../drill/failover-result.js';
import { patroniUrl } from '../../respond/failover/plan-topology.js';
import { stopAll } from '../../system/instance.js';
import { safeHost } from '../../stores/postgres/sql.js';
import { parseCommandArgs, type ParsedArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { confirmDrill, interruptBeforeFault } from './drill-guard.js';
import { table } from '../format.js';
import { withPlan } from '../open-plan.js';
import { progressReporter } from '../progress.js';
import { runPatroniDataset } from './drill-failover-patroni.js';

const sandboxUsage =
  '--sandbox [--sync|--async] [--fault crash|host|partition] [--runs N] [--restart-in-place] [--json]';
const datasetUsage = 'DATASET [--fault crash|switchover|failover] [--rejoin] [--yes] [--json] [--plan FILE]';
const usage = `${sandboxUsage} | ${datasetUsage}`;
const sandboxFaults: FaultKind[] = ['crash', 'host', 'partition'];
/** Asked of Patroni: a dataset with source.patroni only. */
const handoverFaults: DrillFault[] = ['switchover', 'failover'];
const faults: DrillFault[] = [...sandboxFaults, ...handoverFaults];

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'drill failover',
    args,
    {
      sandbox: { type: 'boolean' },
      sync: { type: 'boolean' },
      async: { type: 'boolean' },
      fault: { type: 'string' },
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
  return withPlan(parsed.string('plan'), (context) => runDataset(context, dataset, fault, parsed));
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

  const onSignal = () => void stopAll().catch(() => undefined);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: FailoverDrillResult[] = [];
  try {
    for (let i = 1; i <= runs; i++) {
      const result = await runFailoverDrill({
        sandbox: true,
        sync,
        fault,
        restartInPlace: parsed.flag('restart-in-place'),
      });
      results.push(result);
      if (!json) process.stdout.write(`run ${i}/${runs}: ${describe(result)}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const summary = summarize(results);
  if (json) process.stdout.write(JSON.stringify(runs === 1 ? results[0] : summary, null, 2) + '\n');
  else if (runs > 1) process.stdout.write(summaryTable(summary));
  return verdict(results);
}

/** What `--json` prints for a plan's dataset: the sandbox's result, and what was left behind. */
export interface DatasetDrillReport extends FailoverDrillResult {
  dataset: string;
  old_primary: string;
  new_primary: string;
  /** null without --rejoin; `error` when it failed (the drill itself still counts). */
  rejoin: { seconds: number; rewind: string } | { error: string; hint: string | null } | null;
}

async function runDataset(
  context: ProtectContext,
  dataset: string,
  fault: DrillFault,
  parsed: ParsedArgs,
): Promise<number> {
  const json = parsed.flag('json');
  context.dataset(dataset);
  const audit = async (outcome: string, details: Record<string, unknown>) =>
    (await context.state()).appendAudit({
      actor: actor(),
      action: 'drill.failover',
      target: `dataset:${dataset}`,
      outcome,
      details,
    });
  try {
    const patroni = patroniUrl(context, dataset);
    if (patroni !== undefined) return await runPatroniDataset(context, dataset, fault, parsed, audit);
    if (handoverFaults.includes(fault))
      throw new UsageError(
        `drill failover ${dataset}: --fault ${fault} asks Patroni, and datasets.${dataset}.source.patroni is not set`,
        {
          hint: `Drill a crash (--fault crash); lifeboat ${fault} ${dataset} performs and times a plain ${fault}. Nothing was changed.`,
        },
      );
    const drill = await prepareDatasetDrill(context, dataset, fault as FaultKind);
    await confirmDrill(dataset, warning(drill), parsed.flag('yes'));
    const progress = progressReporter({ json });
    const interrupt = interruptBeforeFault('finishes the failover it started');
    let result: FailoverDrillResult;
    let rejoin: DatasetDrillReport['rejoin'] = null;
    try {
      result = await runDatasetDrill(drill, {
        signal: interrupt.signal,
        onProgress: (line) => {
          progress.line(`  ${line}`);
          progress.event({ event: 'drill', message: line });
        },
      });
      if (parsed.flag('rejoin') && result.outcome === 'failed-over') rejoin = await rejoined(drill);
    } finally {
      interrupt.dispose();
      progress.done();
    }
    const report: DatasetDrillReport = {
      ...result,
      dataset,
      old_primary: drill.observed.primary.name,
      new_primary: result.outcome === 'failed-over' ? drill.plan.standby : drill.observed.primary.name,
      rejoin,
    };
    const { lost_ids: _ids, ...summary } = report;
    await audit('ok', summary);
    process.stdout.write(
      json ? JSON.stringify(report, null, 2) + '\n' : `${describe(result)}\n${afterwards(drill, report)}`,
    );
    return rejoin && 'error' in rejoin ? ExitCode.failed : verdict([result]);
  } catch (error) {
    // A mistyped command is no action; a refusal or a failure is.
    if (!(error instanceof UsageError))
      await audit(error instanceof RefusedError ? 'refused' : 'failed', {
        error: (error as Error).message,
      }).catch(() => undefined);
    throw error;
  }
}

/** A rejoin that fails leaves the drill's numbers standing: it is reported beside them. */
async function rejoined(drill: DatasetDrill): Promise<NonNullable<DatasetDrillReport['rejoin']>> {
  try {
    const done = await rejoinOldPrimary(drill);
    return { seconds: Math.round(done.seconds * 1000) / 1000, rewind: done.rewind };
  } catch (error) {
    return {
      error: (error as Error).message,
      hint: error instanceof LifeboatError ? (error.hint ?? null) : null,
    };
  }
}

/** What the operator confirms: this fails the dataset over for real. */
function warning(drill: DatasetDrill): string {
  const { dataset, observed, plan } = drill;
  const standby = observed.standbys.find((s) => s.name === plan.standby);
  const lag = plan.expectedLoss.sync
    ? 'synchronous: no acknowledged write may be lost'
    : `async, ${standby?.lagBytes ?? '?'} bytes behind`;
  return [
    `The failover drill of ${dataset} fails it over for real:`,
    `  - writes into ${datasetWritesTable} through ${safeHost(drill.clientUrl)} (dropped afterwards);`,
    `  - kills PostgreSQL of ${observed.primary.name} (${drill.dataDir}) with SIGKILL;`,
    `  - lets Lifeboat detect it, fence it and promote ${plan.standby} (${lag}), then move clients through ${observed.router?.name ?? 'the router'}.`,
    `Afterwards ${plan.standby} is the primary and ${observed.primary.name} stays stopped until it is rejoined.`,
  ].join('\n');
}

function afterwards(drill: DatasetDrill, report: DatasetDrillReport): string {
  const { dataset } = drill;
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
    `as its OS user: pg_rewind -D ${drill.dataDir} --source-server=URL -R (URL: ${field}.replication.standby, ` +
    `${safeHost(drill.failover.topology.standbys[0]!.url)}), then pg_ctl start -D ${drill.dataDir} (a drill with --rejoin does both at its end); next: ${swap}.\n`
  );
}

function verdict(results: FailoverDrillResult[]): number {
  return drillPassed(results) ? ExitCode.ok : ExitCode.failed;
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

export interface FailoverDrillSummary {
  fault: string;
  sync: boolean;
  runs: FailoverDrillResult[];
  /** Medians over the runs. */
  rto_seconds: number;
  detect_seconds: number;
  decide_seconds: number;
  fence_seconds: number;
  promote_seconds: number;
  route_seconds: number;
  reconnect_seconds: number;
  /** Totals over the runs. */
  lost_writes: number;
  /** Every run fenced. */
  fenced: boolean;
}

export function summarize(results: FailoverDrillResult[]): FailoverDrillSummary {
  const med = (key: keyof FailoverDrillResult) => median(results.map((r) => Number(r[key])));
  return {
    fault: results[0]?.fault ?? '',
    sync: results[0]?.sync ?? false,
    runs: results,
    rto_seconds: med('rto_seconds'),
    detect_seconds: med('detect_seconds'),
    decide_seconds: med('decide_seconds'),
    fence_seconds: med('fence_seconds'),
    promote_seconds: med('promote_seconds'),
    route_seconds: med('route_seconds'),
    reconnect_seconds: med('reconnect_seconds'),
    lost_writes: results.reduce((sum, r) => sum + r.lost_writes, 0),
    fenced: results.every((r) => r.fenced),
  };
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
