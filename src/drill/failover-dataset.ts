/**
 * The failover drill on a plan's real dataset, once prepareDatasetDrill found it ready and
 * the operator confirmed: a writer of its own table through the clients' endpoint, the
 * primary's postmaster killed, the plan's automatic failover, and the same numbers as the
 * sandbox drill. It leaves the dataset failed over: the standby is the primary, the old
 * primary stopped until it is rejoined (rejoinOldPrimary) or rebuilt.
 */
import { query } from '../stores/postgres/sql.js';
import { applyRejoin, observeRejoin, planRejoin, type RejoinResult } from '../respond/failover/rejoin.js';
import { datasetWritesTable, type DatasetDrill } from './failover-dataset-check.js';
import { runFault, type Cleanups } from './failover-fault.js';
import { killPostgres } from './failover-host.js';
import { measureDrill, type FailoverDrillResult } from './failover-result.js';
import { serverIdSql, startWriter, writesTableSql } from './failover-writer.js';

export interface DatasetDrillOptions {
  /** How long the writer runs before the fault. Default: 1500 ms. */
  warmupMs?: number;
  /** Aborted before the fault: the drill stops, nothing failed over. Later it finishes. Default: none. */
  signal?: AbortSignal;
  onProgress?(line: string): void;
}

export async function runDatasetDrill(
  drill: DatasetDrill,
  options: DatasetDrillOptions = {},
): Promise<FailoverDrillResult> {
  const progress = options.onProgress ?? (() => undefined);
  const { failover, primaryDbUrl, standbyDbUrl } = drill;
  const { topology } = failover;
  const standby = topology.standbys[0]!;
  const table = datasetWritesTable;
  const cleanups: Cleanups = [];
  try {
    // The name is the drill's own: a table left by an interrupted drill is replaced.
    await query(primaryDbUrl, `DROP TABLE IF EXISTS ${table}`);
    await query(primaryDbUrl, writesTableSql(table));
    cleanups.push(() => dropTable([standbyDbUrl, primaryDbUrl], table));
    const [row] = await query(standby.url, `SELECT ${serverIdSql} AS server`);
    const standbyId = String(row?.server);
    // Only two servers answer through the router: any write the standby did not acknowledge,
    // the old primary did (before the fault, or after a restart in place).
    const fromNew = (a: { server: string }) => a.server === standbyId;
    const fromOld = (a: { server: string }) => !fromNew(a);
    const writer = startWriter(drill.clientUrl, table);
    cleanups.push(() => writer.stop());
    progress(`writing into ${table} through ${topology.router?.name ?? 'the router'}`);
    const run = await runFault({
      topology,
      writer,
      watch: failover.watch,
      failover: failover.limits,
      restartInPlace: failover.restartInPlace,
      warmupMs: options.warmupMs ?? 1500,
      fault: 'crash',
      ...(options.signal ? { signal: options.signal } : {}),
      inject: () => killPostgres(drill.dataDir),
      fromNew,
      fromOld,
      cleanups,
      progress,
    });
    return await measureDrill({
      fault: 'crash',
      sync: run.outcome.outcome === 'failed-over' ? run.outcome.plan.expectedLoss.sync : failover.sync,
      run,
      acks: writer.acks,
      table,
      old: topology.primary,
      newPrimary: standby,
      oldPrimaryUrl: primaryDbUrl,
      newPrimaryUrl: standbyDbUrl,
      fromOld,
      // Never start a copy of a real old primary: it is fenced, and stays so until rejoined.
      inspectOldPrimary: false,
    });
  } finally {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined);
  }
}

/** After the drill: the old primary rewound and streaming from the new one (synchronously if the plan wants it). */
export async function rejoinOldPrimary(drill: DatasetDrill): Promise<RejoinResult> {
  const { primary, standbys } = drill.failover.topology;
  const newPrimary = standbys[0]!;
  const plan = planRejoin(await observeRejoin(primary, newPrimary), { sync: drill.failover.sync });
  return applyRejoin(plan, primary, newPrimary);
}

/** On whichever server is the primary now; the other refuses (read-only) or is down. */
async function dropTable(urls: string[], table: string): Promise<void> {
  for (const url of urls) await query(url, `DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
}
