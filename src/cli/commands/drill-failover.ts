/**
 * lifeboat drill failover --sandbox [--sync|--async] [--fault crash|host|partition] [--runs N]:
 * the measured failover drill on throwaway servers. Prints each run and, with several, the
 * medians. Exit 1 when a run was not fenced or a synchronous run lost an acknowledged write.
 */
import { ExitCode, UsageError } from '../../errors.js';
import { median, runFailoverDrill, type FailoverDrillResult } from '../../drill/failover.js';
import type { FaultKind } from '../../drill/failover-host.js';
import { stopAll } from '../../protect/sandbox/instance.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { table } from '../format.js';

const usage =
  '--sandbox [--sync|--async] [--fault crash|host|partition] [--runs N] [--restart-in-place] [--json]';
const faults: FaultKind[] = ['crash', 'host', 'partition'];

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
    },
    usage,
  );
  const json = parsed.flag('json');
  if (!parsed.flag('sandbox'))
    throw new UsageError('drill failover is not yet supported without --sandbox', {
      hint: `Run it on throwaway servers: lifeboat drill failover ${usage}. Drilling a plan's real dataset (with typed confirmation) is not built yet.`,
    });
  if (parsed.flag('sync') && parsed.flag('async'))
    throw new UsageError('drill failover: --sync and --async exclude each other');
  const fault = (parsed.string('fault') ?? 'crash') as FaultKind;
  if (!faults.includes(fault))
    throw new UsageError(`drill failover: unknown fault "${fault}"`, {
      hint: `One of: ${faults.join(', ')}.`,
    });
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
  const bad = results.some((r) => !r.fenced || (r.sync && r.lost_writes > 0));
  return bad ? ExitCode.failed : ExitCode.ok;
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
