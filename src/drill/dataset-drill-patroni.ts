/**
 * The failover drill of a dataset whose cluster Patroni manages (source.patroni): the same
 * confirmation, progress, report and audit entry as the plain dataset drill, with the fault
 * Patroni answers: a crash of the leader's postmaster, or a switchover or failover asked of
 * Patroni. Patroni rejoins the old leader by itself.
 */
import { UsageError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import type { Audit } from '../respond/audit.js';
import { safeHost } from '../stores/postgres/sql.js';
import { datasetWritesTable } from './failover-dataset-check.js';
import type { DatasetDrillRunOptions, PatroniDrillReport } from './failover-report.js';
import { drillPassed, type DrillFault } from './failover-result.js';
import { preparePatroniDrill, type PatroniDrill, type PatroniFault } from './patroni-check.js';
import { runPatroniDrill } from './patroni-drill.js';

const patroniFaults: DrillFault[] = ['crash', 'switchover', 'failover'];

export async function patroniDatasetDrill(
  context: ProtectContext,
  dataset: string,
  fault: DrillFault,
  options: DatasetDrillRunOptions,
  audit: Audit,
): Promise<{ managedBy: 'patroni'; report: PatroniDrillReport; passed: boolean }> {
  if (!patroniFaults.includes(fault))
    throw new UsageError(
      `drill failover ${dataset}: --fault ${fault} needs the sandbox's simulated host and network; a Patroni cluster is drilled with --fault ${patroniFaults.join(', ')}`,
      {
        hint: `Drill ${fault} on throwaway servers: lifeboat drill failover --sandbox --fault ${fault}; nothing was changed.`,
      },
    );
  if (options.rejoin)
    throw new UsageError(`drill failover ${dataset}: --rejoin is for datasets Lifeboat fails over itself`, {
      hint: 'Patroni rejoins the old leader as a replica by itself (use_pg_rewind); drill without --rejoin. Nothing was changed.',
    });
  const drill = await preparePatroniDrill(context, dataset, fault as PatroniFault);
  await options.confirm({ dataset, warning: warning(drill), managedBy: 'patroni' });
  // Once the fault is injected Patroni responds whatever Lifeboat does.
  const result = await runPatroniDrill(drill, {
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (message) => options.onEvent?.({ type: 'progress', message }),
  });
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
  // A planned switchover promises no loss, whatever the replication mode.
  const planned = result.fault === 'switchover' && result.lost_writes > 0;
  return { managedBy: 'patroni', report, passed: !planned && drillPassed([result]) };
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
