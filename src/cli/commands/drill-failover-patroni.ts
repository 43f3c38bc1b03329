/**
 * lifeboat drill failover DATASET for a dataset whose cluster Patroni manages
 * (source.patroni): the same confirmation, progress, result and audit entry as the plain
 * dataset drill, with the fault Patroni answers: a crash of the leader's postmaster, or a
 * switchover or failover asked of Patroni. Patroni rejoins the old leader by itself.
 */
import type { ProtectContext } from '../../protect/context.js';
import { ExitCode, UsageError } from '../../errors.js';
import { datasetWritesTable } from '../../drill/failover-dataset-check.js';
import { drillPassed, type DrillFault } from '../../drill/failover-result.js';
import { preparePatroniDrill, type PatroniDrill, type PatroniFault } from '../../drill/patroni-check.js';
import { runPatroniDrill, type PatroniDrillResult } from '../../drill/patroni-drill.js';
import { safeHost } from '../../stores/postgres/sql.js';
import type { ParsedArgs } from '../args.js';
import { confirmDrill, interruptBeforeFault } from './drill-guard.js';
import { progressReporter } from '../progress.js';
import type { DatasetDrillReport } from './drill-failover.js';

const patroniFaults: DrillFault[] = ['crash', 'switchover', 'failover'];

/** What `--json` prints: the other drills' report, the cluster's leaders before and after. */
export interface PatroniDrillReport extends DatasetDrillReport {
  managed_by: 'patroni';
}

export async function runPatroniDataset(
  context: ProtectContext,
  dataset: string,
  fault: DrillFault,
  parsed: ParsedArgs,
  audit: (outcome: string, details: Record<string, unknown>) => Promise<unknown>,
): Promise<number> {
  const json = parsed.flag('json');
  if (!patroniFaults.includes(fault))
    throw new UsageError(
      `drill failover ${dataset}: --fault ${fault} needs the sandbox's simulated host and network; a Patroni cluster is drilled with --fault ${patroniFaults.join(', ')}`,
      {
        hint: `Drill ${fault} on throwaway servers: lifeboat drill failover --sandbox --fault ${fault}; nothing was changed.`,
      },
    );
  if (parsed.flag('rejoin'))
    throw new UsageError(`drill failover ${dataset}: --rejoin is for datasets Lifeboat fails over itself`, {
      hint: 'Patroni rejoins the old leader as a replica by itself (use_pg_rewind); drill without --rejoin. Nothing was changed.',
    });
  const drill = await preparePatroniDrill(context, dataset, fault as PatroniFault);
  await confirmDrill(dataset, warning(drill), parsed.flag('yes'));
  const progress = progressReporter({ json });
  // Once the fault is injected Patroni responds whatever Lifeboat does.
  const interrupt = interruptBeforeFault('finishes measuring the one it caused');
  let result: PatroniDrillResult;
  try {
    result = await runPatroniDrill(drill, {
      signal: interrupt.signal,
      onProgress: (line) => {
        progress.line(`  ${line}`);
        progress.event({ event: 'drill', message: line });
      },
    });
  } finally {
    interrupt.dispose();
    progress.done();
  }
  const { new_leader: newLeader, ...measured } = result;
  const report: PatroniDrillReport = {
    ...measured,
    dataset,
    managed_by: 'patroni',
    old_primary: drill.leader.name,
    new_primary: newLeader,
    rejoin: null,
  };
  const { lost_ids: _ids, ...summary } = report;
  await audit('ok', summary);
  process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : describe(report));
  const planned = result.fault === 'switchover' && result.lost_writes > 0;
  return planned || !drillPassed([result]) ? ExitCode.failed : ExitCode.ok;
}

/** What the operator confirms: this acts on the cluster for real. */
function warning(drill: PatroniDrill): string {
  const { dataset, leader, candidate } = drill;
  const fault =
    drill.fault === 'crash'
      ? `kills PostgreSQL of the leader ${leader.name} (${leader.dataDir}) with SIGKILL, and lets Patroni respond (restart it, or promote ${candidate.name});`
      : `asks Patroni for a ${drill.fault} from ${leader.name} to ${candidate.name};`;
  return [
    `The failover drill of ${dataset} acts on its Patroni cluster for real:`,
    `  - writes into ${datasetWritesTable} through ${safeHost(drill.endpoint.url)} (${drill.endpoint.from}; dropped afterwards);`,
    `  - ${fault}`,
    '  - measures until the first write acknowledged afterwards, and checks that no acknowledged write was lost.',
    `Afterwards ${drill.fault === 'crash' ? `${leader.name} or ${candidate.name}` : candidate.name} leads; Patroni rejoins the other as its replica.`,
  ].join('\n');
}

function describe(r: PatroniDrillReport): string {
  const s = (n: number) => `${n.toFixed(2)}s`;
  const who =
    r.outcome === 'failed-over'
      ? `${r.old_primary} -> ${r.new_primary}`
      : `${r.old_primary} restarted in place by Patroni`;
  return (
    `${r.fault} ${r.sync ? 'sync' : 'async'} ${r.outcome} (${who}): RTO ${s(r.rto_seconds)} ` +
    `(Patroni ${s(r.promote_seconds)}, reconnect ${s(r.reconnect_seconds)}); ` +
    `no write acknowledged for ${s(r.interruption_seconds ?? 0)}; ` +
    `lost ${r.lost_writes} of ${r.acknowledged_writes} acknowledged writes; ` +
    `fenced ${r.fenced ? 'yes' : 'NO'} (${r.fence.method})\n`
  );
}
