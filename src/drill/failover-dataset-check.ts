/**
 * Before a failover drill on a plan's real dataset: everything it needs, looked at without
 * touching anything. It refuses unless the plan says how to crash and fence the primary
 * (source.data_dir, on this host), where clients connect (the traffic switch's client_url,
 * or a pgbouncer switch's own address), and
 * the standby streams within the RPO: the drill fails the dataset over for real, so what
 * would refuse a failover refuses the drill.
 */
import { statSync } from 'node:fs';
import { EnvironmentError, RefusedError, UsageError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { planFailover, type FailoverObserved, type FailoverPlan } from '../respond/failover/failover-plan.js';
import { observeFailover } from '../respond/failover/observe.js';
import {
  datasetFailover,
  failoverSpec,
  type DatasetFailover,
  type FailoverSpec,
} from '../respond/failover/plan-topology.js';
import { postmasterPid } from '../system/process.js';
import { query, safeHost } from '../stores/postgres/sql.js';
import { clientEndpoint, databaseOf, withDatabase } from './client-endpoint.js';
import type { FaultKind } from './failover-host.js';
import { serverIdSql } from './failover-writer.js';

/** The writer's table: a name no application uses, created by the drill and dropped after it. */
export const datasetWritesTable = 'lifeboat_drill_writes';

export interface DatasetDrill {
  dataset: string;
  failover: DatasetFailover;
  /** The primary's data directory, whose postmaster the crash kills. */
  dataDir: string;
  /** Where the writer connects: the switch's client_url, else pgbouncer's address and database entry. */
  clientUrl: string;
  /** The drill table's database on the primary and on the standby. */
  primaryDbUrl: string;
  standbyDbUrl: string;
  /** What the drill's failover would look like now, primary up. */
  observed: FailoverObserved;
  plan: FailoverPlan;
}

/** Reads the plan and the servers; throws what the drill lacks, having changed nothing. */
export async function prepareDatasetDrill(
  context: ProtectContext,
  dataset: string,
  fault: FaultKind,
): Promise<DatasetDrill> {
  if (fault !== 'crash')
    throw new UsageError(
      `drill failover ${dataset}: --fault ${fault} needs the sandbox's simulated host and network; a real dataset is drilled with --fault crash`,
      {
        hint: `Drill ${fault} on throwaway servers: lifeboat drill failover --sandbox --fault ${fault}; nothing was changed.`,
      },
    );
  const spec = failoverSpec(context, dataset);
  const dataDir = requireDataDir(spec);
  const clientUrl = clientEndpoint(context, {
    dataset,
    traffic: spec.traffic,
    sourceUrl: spec.primary.url,
    drill: `the failover drill of ${dataset}`,
  }).url;
  const failover = await datasetFailover(context, dataset);
  checkCanKill(dataset, dataDir);
  const observed = await observeFailover(failover.topology);
  const plan = checkReady(dataset, failover, observed);
  const primaryDbUrl = spec.primary.url;
  const standbyDbUrl = withDatabase(spec.standby.url, databaseOf(primaryDbUrl));
  await checkClientEndpoint(clientUrl, primaryDbUrl);
  return { dataset, failover, dataDir, clientUrl, primaryDbUrl, standbyDbUrl, observed, plan };
}

function requireDataDir(spec: FailoverSpec): string {
  const dataDir = spec.primary.dataDir;
  if (dataDir === undefined)
    throw new UsageError(
      `the failover drill of ${spec.dataset} crashes its primary and fences it, and the plan does not say where it runs`,
      {
        hint: `Run Lifeboat on the primary's host and set datasets.${spec.dataset}.source.data_dir to its data directory; nothing was changed.`,
      },
    );
  return dataDir;
}

/** SIGKILL needs the data directory's owner or root, and a postmaster to kill. */
function checkCanKill(dataset: string, dataDir: string): void {
  const field = `datasets.${dataset}.source.data_dir`;
  const pid = postmasterPid(dataDir);
  if (pid === undefined)
    throw new EnvironmentError(`${dataDir} has no postmaster.pid: its PostgreSQL does not run on this host`, {
      hint: `Run the drill on the primary's host, with ${field} naming the directory it runs from; nothing was changed.`,
    });
  const uid = process.getuid?.();
  if (uid !== 0 && uid !== statSync(dataDir).uid)
    throw new EnvironmentError(
      `the drill cannot kill the postmaster of ${dataDir}: it belongs to another user`,
      {
        hint: 'Run the drill as the user that owns the data directory, or as root; nothing was changed.',
      },
    );
}

/** The failover the drill will cause must be one that the plan allows, primary aside. */
function checkReady(dataset: string, failover: DatasetFailover, observed: FailoverObserved): FailoverPlan {
  if (!observed.primary.reachable)
    throw new EnvironmentError(
      `the primary of ${dataset} does not answer (${observed.primary.error ?? 'no answer'}): a drill starts from a healthy cluster`,
      { hint: 'Bring it back (or run lifeboat failover for a real loss); nothing was changed.' },
    );
  const standby = observed.standbys[0];
  if (standby?.reachable && standby.streaming !== true)
    throw new RefusedError(
      `standby ${standby.name} is not streaming from the primary of ${dataset}: failing over to it would lose what it has not received`,
      {
        hint: `Check its log and primary_conninfo (and that datasets.${dataset}.replication.standby_name is its application_name); lifeboat status shows its replication. Nothing was changed.`,
      },
    );
  try {
    // force: the primary answers because the fault is still to come; the lag is held to the RPO.
    return planFailover(observed, { mode: 'failover', ...failover.limits, force: true, acceptLoss: false });
  } catch (error) {
    if (!(error instanceof RefusedError)) throw error;
    throw new RefusedError(error.message, {
      hint: `A drill fails over for real and keeps the RPO: fix the standby first (lifeboat status shows its lag). Nothing was changed.`,
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    });
  }
}

/** A write through the client endpoint must reach the primary, or the drill would measure nothing. */
async function checkClientEndpoint(clientUrl: string, primaryUrl: string): Promise<void> {
  const ask = (url: string) =>
    query(url, `SELECT ${serverIdSql} AS server`, { timeoutMs: 5000 }).then((rows) =>
      String(rows[0]?.server),
    );
  let through: string;
  try {
    through = await ask(clientUrl);
  } catch (error) {
    throw new EnvironmentError(
      `the drill cannot connect through ${safeHost(clientUrl)}: ${(error as Error).message}`,
      {
        hint: "The writer connects to the traffic switch's client_url, else where pgbouncer's admin_url says it listens, as its user, to the switch's database entry; check that address and its credentials; nothing was changed.",
        cause: error,
      },
    );
  }
  if (through !== (await ask(primaryUrl)))
    throw new EnvironmentError(`${safeHost(clientUrl)} does not lead to the primary`, {
      hint: "The switch must send its clients to the dataset's primary (source.url): check pgbouncer's [databases] entry or the proxy's backend; nothing was changed.",
    });
}
