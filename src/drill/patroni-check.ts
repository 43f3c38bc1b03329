/**
 * Before a failover drill of a Patroni-managed dataset (source.patroni): everything it needs,
 * looked at without touching anything. It refuses unless Patroni's /cluster shows a running
 * leader and a healthy replica within the lag limit (the member a handover would promote),
 * the dataset's traffic switch gives the clients' endpoint and that endpoint leads to the
 * leader, and, for a crash, the leader's PostgreSQL runs on this host where Lifeboat may
 * kill it. Patroni owns the cluster, so the drill never needs source.data_dir: the data
 * directory is the one the leader reports.
 */
import { statSync } from 'node:fs';
import { EnvironmentError, RefusedError, UsageError } from '../errors.js';
import { resolveSecret } from '../plan/secret.js';
import type { ProtectContext } from '../protect/context.js';
import { postmasterPid } from '../system/process.js';
import { query, safeHost } from '../stores/postgres/sql.js';
import { patroniClient, type PatroniCluster, type PatroniMember } from '../respond/patroni/client.js';
import {
  defaultMaxLagBytes,
  describeMembers,
  isLeader,
  planPatroniHandover,
  type PatroniHandoverMode,
  type PatroniHandoverPlan,
} from '../respond/patroni/handover-plan.js';
import { clientEndpoint, type ClientEndpoint } from './client-endpoint.js';
import { serverIdSql } from './failover-writer.js';
import { asPostgres } from '../stores/index.js';

/** crash: the leader's postmaster is killed; switchover, failover: Patroni is asked for one. */
export type PatroniFault = 'crash' | PatroniHandoverMode;

export interface PatroniDrillMember {
  name: string;
  /** Straight to its PostgreSQL: the source URL's user and database, the member's host and port. */
  url: string;
  /** Its REST API, when /cluster gives it. */
  apiUrl: string | undefined;
}

export interface PatroniDrill {
  dataset: string;
  fault: PatroniFault;
  /** source.patroni, resolved (it may hold the REST API's credentials). */
  apiUrl: string;
  endpoint: ClientEndpoint;
  cluster: PatroniCluster;
  /** Who leads and who would take over, as a handover would pick now. */
  handover: PatroniHandoverPlan;
  leader: PatroniDrillMember & {
    /** serverIdSql of the leader before the fault. */
    server: string;
    /** For a crash: the leader's data directory, whose postmaster runs on this host. */
    dataDir: string | undefined;
  };
  candidate: PatroniDrillMember;
  /** Refuse a replica further behind than this. */
  maxLagBytes: number;
  /** The cluster is in synchronous mode (it has a sync_standby). */
  sync: boolean;
}

/** Reads the plan, Patroni and the servers; throws what the drill lacks, having changed nothing. */
export async function preparePatroniDrill(
  context: ProtectContext,
  dataset: string,
  fault: PatroniFault,
): Promise<PatroniDrill> {
  const source = asPostgres(context.dataset(dataset).source);
  if (!source?.patroni)
    throw new UsageError(
      `datasets.${dataset}.source.patroni is not set: the Patroni drill needs its REST API`,
    );
  const apiUrl = resolveSecret(source.patroni, context.planDir, context.env);
  const sourceUrl = resolveSecret(source.url, context.planDir, context.env);
  const endpoint = clientEndpoint(context, {
    dataset,
    traffic: context.dataset(dataset).replication?.traffic,
    sourceUrl,
    drill: `the failover drill of ${dataset}`,
  });
  const cluster = await patroniClient(apiUrl).cluster();
  const maxLagBytes = defaultMaxLagBytes;
  const handover = checkCluster(dataset, cluster, fault, maxLagBytes);
  const leaderMember = handover.leader!;
  const leader = memberOf(dataset, leaderMember, sourceUrl);
  const candidate = memberOf(dataset, handover.candidate, sourceUrl);
  const server = await serverOf(leader.url, `the leader ${leader.name}`, `datasets.${dataset}.source.url`);
  await checkStreaming(dataset, leader, candidate.name);
  await checkEndpoint(endpoint, leader.name, server);
  const dataDir = fault === 'crash' ? await leaderDataDir(dataset, leader) : undefined;
  return {
    dataset,
    fault,
    apiUrl,
    endpoint,
    cluster,
    handover,
    leader: { ...leader, server, dataDir },
    candidate,
    maxLagBytes,
    sync: cluster.members.some((m) => m.role === 'sync_standby'),
  };
}

/** What a handover would refuse refuses the drill; a paused cluster would not respond to a crash. */
function checkCluster(
  dataset: string,
  cluster: PatroniCluster,
  fault: PatroniFault,
  maxLagBytes: number,
): PatroniHandoverPlan {
  const now = `The cluster now: ${describeMembers(cluster.members)}.`;
  const leader = cluster.members.find(isLeader);
  if (!leader || leader.state !== 'running')
    throw new RefusedError(
      leader
        ? `the leader ${leader.name} of ${dataset} is ${leader.state || 'in an unknown state'}: a drill starts from a healthy cluster`
        : `the Patroni cluster of ${dataset} has no leader: a drill starts from a healthy cluster`,
      { hint: `${now} Nothing was changed.` },
    );
  if (cluster.paused)
    throw new RefusedError(
      `the Patroni cluster of ${dataset} is paused: Patroni would not respond to the fault`,
      {
        hint: `Resume it (patronictl resume) and drill again. ${now} Nothing was changed.`,
      },
    );
  try {
    // A crash may end in a failover, which must keep the same limits as one asked for.
    return planPatroniHandover(cluster, {
      mode: fault === 'switchover' ? 'switchover' : 'failover',
      maxLagBytes,
    });
  } catch (error) {
    if (!(error instanceof RefusedError)) throw error;
    throw new RefusedError(`the failover drill of ${dataset} is refused: ${error.message}`, {
      hint: `A drill hands over for real: it needs a replica that streams within ${maxLagBytes} bytes of the leader. ${error.hint ?? ''} Nothing was changed.`,
      cause: error,
    });
  }
}

/** Each member straight, as the source URL's user: Patroni names where its PostgreSQL listens. */
function memberOf(dataset: string, member: PatroniMember, sourceUrl: string): PatroniDrillMember {
  if (!member.host)
    throw new EnvironmentError(`Patroni does not say where the PostgreSQL of ${member.name} listens`, {
      hint: `Check postgresql.connect_address in its patroni.yml (datasets.${dataset}.source.patroni names the cluster); nothing was changed.`,
    });
  const url = new URL(sourceUrl);
  url.hostname = member.host;
  url.port = String(member.port ?? 5432);
  return { name: member.name, url: url.href, apiUrl: member.apiUrl };
}

async function serverOf(url: string, what: string, field: string): Promise<string> {
  try {
    const rows = await query(url, `SELECT ${serverIdSql} AS server`, { timeoutMs: 5000 });
    return String(rows[0]?.server);
  } catch (error) {
    throw new EnvironmentError(
      `the drill cannot connect to ${what} at ${safeHost(url)}: ${(error as Error).message}`,
      {
        hint: `Lifeboat connects to each member as ${field}'s user, at the address Patroni gives; nothing was changed.`,
        cause: error,
      },
    );
  }
}

/** Patroni's `running` says little about replication in 3.0: the leader's pg_stat_replication says it. */
async function checkStreaming(dataset: string, leader: PatroniDrillMember, candidate: string): Promise<void> {
  const rows = await query(leader.url, 'SELECT application_name AS name, state FROM pg_stat_replication', {
    timeoutMs: 5000,
  });
  const row = rows.find((r) => r.name === candidate);
  // A role without pg_monitor sees no state: then Patroni's word stands.
  if (row && (row.state === 'streaming' || row.state === null)) return;
  throw new RefusedError(`${candidate} does not stream from the leader ${leader.name} of ${dataset}`, {
    hint: `A drill hands over for real: wait until it streams (patronictl list, the leader's pg_stat_replication). Nothing was changed.`,
  });
}

/** The writer must reach the leader through the endpoint, or the drill would measure nothing. */
async function checkEndpoint(endpoint: ClientEndpoint, leader: string, leaderServer: string): Promise<void> {
  let through: string;
  try {
    const rows = await query(endpoint.url, `SELECT ${serverIdSql} AS server`, { timeoutMs: 5000 });
    through = String(rows[0]?.server);
  } catch (error) {
    throw new EnvironmentError(
      `the drill cannot connect through ${safeHost(endpoint.url)} (${endpoint.from}): ${(error as Error).message}`,
      { hint: 'Check that address and its credentials; nothing was changed.', cause: error },
    );
  }
  if (through !== leaderServer)
    throw new EnvironmentError(
      `${safeHost(endpoint.url)} (${endpoint.from}) does not lead to the leader ${leader}`,
      {
        hint: "The clients' endpoint must follow the leader, e.g. HAProxy checking each member's GET /primary on its Patroni REST API; nothing was changed.",
      },
    );
}

/**
 * The crash kills the leader's postmaster, so Lifeboat must run on the leader's host, as the
 * data directory's owner or root. The directory is the one the leader itself reports: after
 * a handover the leader is another member, and the plan need not follow.
 */
async function leaderDataDir(dataset: string, leader: PatroniDrillMember): Promise<string> {
  let dataDir: string;
  try {
    const rows = await query(leader.url, "SELECT current_setting('data_directory') AS dir", {
      timeoutMs: 5000,
    });
    dataDir = String(rows[0]?.dir);
  } catch (error) {
    throw new EnvironmentError(
      `the drill cannot read the data directory of the leader ${leader.name}: ${(error as Error).message}`,
      {
        hint: `Give datasets.${dataset}.source.url a role that is superuser or has pg_read_all_settings, or drill with --fault switchover; nothing was changed.`,
        cause: error,
      },
    );
  }
  const pid = postmasterPid(dataDir);
  if (pid === undefined || !isProcess(pid))
    throw new EnvironmentError(
      `the leader ${leader.name} does not run on this host (no live postmaster.pid in ${dataDir})`,
      {
        hint: "A crash drill kills the leader's PostgreSQL: run it on the leader's host, or drill with --fault switchover or failover from anywhere; nothing was changed.",
      },
    );
  const uid = process.getuid?.();
  if (uid !== 0 && uid !== statSync(dataDir).uid)
    throw new EnvironmentError(
      `the drill cannot kill the postmaster of ${dataDir}: it belongs to another user`,
      {
        hint: 'Run the drill as the user that owns the data directory, or as root; nothing was changed.',
      },
    );
  return dataDir;
}

function isProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
