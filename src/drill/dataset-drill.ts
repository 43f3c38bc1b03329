/**
 * The measured failover drill on a plan's real dataset, after the caller's confirmation,
 * leaving it failed over: Lifeboat's own failover, or Patroni's for a dataset it manages
 * (dataset-drill-patroni.ts). Audited as `drill.failover`; a usage mistake is no action
 * and is not.
 */
import { LifeboatError, RefusedError, UsageError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { datasetAuditor } from '../respond/audit.js';
import { patroniUrl } from '../respond/failover/plan-topology.js';
import { safeHost } from '../stores/postgres/sql.js';
import { patroniDatasetDrill } from './dataset-drill-patroni.js';
import { datasetWritesTable, prepareDatasetDrill, type DatasetDrill } from './failover-dataset-check.js';
import { rejoinOldPrimary, runDatasetDrill } from './failover-dataset.js';
import type { FaultKind } from './failover-host.js';
import type { DatasetDrillReport, DatasetDrillRunOptions, PatroniDrillReport } from './failover-report.js';
import { drillPassed, type DrillFault } from './failover-result.js';

export type {
  DatasetDrillReport,
  DrillConfirmation,
  DrillEvent,
  PatroniDrillReport,
} from './failover-report.js';

/** Asked of Patroni: a dataset with source.patroni only. */
export const handoverFaults: DrillFault[] = ['switchover', 'failover'];

export type DatasetDrillOutcome =
  | {
      managedBy: 'lifeboat';
      report: DatasetDrillReport;
      /** Fenced, nothing acknowledged lost where that was promised, and a rejoin asked for succeeded. */
      passed: boolean;
      /** The old primary's data directory, to rejoin it by hand. */
      oldPrimaryDataDir: string;
      /** The new primary's host and port. */
      newPrimaryAddress: string;
    }
  | { managedBy: 'patroni'; report: PatroniDrillReport; passed: boolean };

export async function drillDatasetFailover(
  context: ProtectContext,
  dataset: string,
  fault: DrillFault,
  options: DatasetDrillRunOptions,
): Promise<DatasetDrillOutcome> {
  context.dataset(dataset);
  const audit = datasetAuditor(context, 'drill.failover', dataset, options.actor);
  try {
    const patroni = patroniUrl(context, dataset);
    if (patroni !== undefined) return await patroniDatasetDrill(context, dataset, fault, options, audit);
    if (handoverFaults.includes(fault))
      throw new UsageError(
        `drill failover ${dataset}: --fault ${fault} asks Patroni, and datasets.${dataset}.source.patroni is not set`,
        {
          hint: `Drill a crash (--fault crash); lifeboat ${fault} ${dataset} performs and times a plain ${fault}. Nothing was changed.`,
        },
      );
    const drill = await prepareDatasetDrill(context, dataset, fault as FaultKind);
    await options.confirm({ dataset, warning: warning(drill), managedBy: 'lifeboat' });
    let rejoin: DatasetDrillReport['rejoin'] = null;
    const result = await runDatasetDrill(drill, {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (message) => options.onEvent?.({ type: 'progress', message }),
    });
    if (options.rejoin && result.outcome === 'failed-over') rejoin = await rejoined(drill);
    const report: DatasetDrillReport = {
      ...result,
      dataset,
      old_primary: drill.observed.primary.name,
      new_primary: result.outcome === 'failed-over' ? drill.plan.standby : drill.observed.primary.name,
      rejoin,
    };
    const { lost_ids: _ids, ...summary } = report;
    await audit('ok', summary);
    return {
      managedBy: 'lifeboat',
      report,
      passed: !(rejoin && 'error' in rejoin) && drillPassed([result]),
      oldPrimaryDataDir: drill.dataDir,
      newPrimaryAddress: safeHost(drill.failover.topology.standbys[0]!.url),
    };
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
